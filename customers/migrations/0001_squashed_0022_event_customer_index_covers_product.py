"""Customers' tables as they stand after 0001_initial … 0022, built in one step on a new database.

A database that has applied the originals keeps them (Django marks this one applied); a new one runs
this instead, its tables made together (`_create_models.CreateModels`, so the models are rendered
once). The originals' data fixes have nothing to fix in empty tables and are left out; what
they built that is not a table (the triggers, PostgreSQL's trigram index) is built here at the end.
"""

import customers.migrations._create_models
import customers.models.stores
import datetime
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from customers import derived
from customers.segments import touches

SEARCH_FIELDS = ("phone", "first_name", "last_name", "external_id", "email")
SEARCH_INDEX = "customer_search_trgm"


def triggers_install(apps, schema_editor):
    derived.triggers_install(schema_editor.connection)
    touches.touch_triggers_install(schema_editor.connection)


def triggers_remove(apps, schema_editor):
    touches.touch_triggers_remove(schema_editor.connection)
    derived.triggers_remove(schema_editor.connection)


def search_index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    columns = ", ".join(f"{field} gin_trgm_ops" for field in SEARCH_FIELDS)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON customers_customer USING gin ({columns})")


def search_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")


class Migration(migrations.Migration):

    replaces = [('customers', '0001_initial'), ('customers', '0002_store_sender_unique'), ('customers', '0003_consent_refused_signup'), ('customers', '0004_store_send_window'), ('customers', '0005_admin_labels_sms_and_api'), ('customers', '0006_store_attribution_windows'), ('customers', '0007_event_last_and_items'), ('customers', '0008_import_job'), ('customers', '0009_segment_membership'), ('customers', '0010_event_tables_lean_indexes_and_checks'), ('customers', '0011_import_job_started_at'), ('customers', '0012_event_store_id_index'), ('customers', '0013_customer_indexes_trimmed'), ('customers', '0014_privacy_log_and_retention'), ('customers', '0015_store_hot_days'), ('customers', '0016_consent_recorded_at_given'), ('customers', '0017_segment_counts_and_touches'), ('customers', '0018_customer_search_trigram'), ('customers', '0019_predictions'), ('customers', '0020_offer_sensitive_code_share_label'), ('customers', '0021_list_health'), ('customers', '0022_event_customer_index_covers_product')]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        customers.migrations._create_models.CreateModels(
            operations=[migrations.CreateModel(
                name='Customer',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('external_id', models.CharField(blank=True, max_length=100)),
                    ('phone', models.CharField(help_text='E.164, e.g. +14155550100', max_length=16)),
                    ('first_name', models.CharField(blank=True, max_length=100)),
                    ('last_name', models.CharField(blank=True, max_length=100)),
                    ('email', models.EmailField(blank=True, max_length=254)),
                    ('city', models.CharField(blank=True, max_length=100)),
                    ('region', models.CharField(blank=True, help_text='US state code, e.g. FL', max_length=2)),
                    ('language', models.CharField(blank=True, default='en', max_length=10)),
                    ('timezone', models.CharField(max_length=64)),
                    ('timezone_source', models.CharField(choices=[('given', 'Given'), ('phone', 'Inferred from the number'), ('store', 'Store default')], max_length=8)),
                    ('birthday', models.DateField(blank=True, null=True)),
                    ('sms_consent', models.CharField(choices=[('none', 'No consent'), ('pending', 'Awaiting confirmation'), ('subscribed', 'Subscribed'), ('unsubscribed', 'Unsubscribed')], default='none', max_length=16, verbose_name='SMS consent')),
                    ('sms_consent_at', models.DateTimeField(blank=True, null=True, verbose_name='SMS consent at')),
                    ('topics', models.JSONField(blank=True, default=list, help_text='deals, drops, restocks')),
                    ('favorite_categories', models.JSONField(blank=True, default=list)),
                    ('frequency', models.CharField(blank=True, help_text='Preferred frequency, if given', max_length=16)),
                    ('loyalty_status', models.CharField(blank=True, max_length=50)),
                    ('reward_balance', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=12)),
                    ('reward_points', models.IntegerField(default=0)),
                    ('preferred_store', models.CharField(blank=True, max_length=100)),
                    ('attributes', models.JSONField(blank=True, default=dict)),
                    ('prefs_token', models.CharField(default=customers.models.stores.new_token, editable=False, max_length=40)),
                    ('order_count', models.PositiveIntegerField(default=0)),
                    ('total_spent', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14)),
                    ('average_order_value', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=12)),
                    ('discount_order_count', models.PositiveIntegerField(default=0)),
                    ('discount_order_share', models.FloatField(default=0)),
                    ('first_order_at', models.DateTimeField(blank=True, null=True)),
                    ('last_order_at', models.DateTimeField(blank=True, null=True)),
                    ('last_sms_click_at', models.DateTimeField(blank=True, null=True, verbose_name='last SMS click at')),
                    ('predicted_next_order_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='customers', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'sms_consent'], name='customers_c_store_i_aafc69_idx'), models.Index(fields=['store', 'last_order_at'], name='customers_c_store_i_ed578e_idx'), models.Index(fields=['store', 'id'], name='customer_store_pk'), models.Index(fields=['store', 'total_spent', 'id'], name='customer_store_ltv'), models.Index(fields=['store', 'average_order_value', 'id'], name='customer_store_aov'), models.Index(fields=['store', 'last_sms_click_at'], name='customer_store_last_click')],
                    'constraints': [models.UniqueConstraint(fields=('store', 'phone'), name='customer_phone_per_store'), models.UniqueConstraint(condition=models.Q(('external_id', ''), _negated=True), fields=('store', 'external_id'), name='customer_external_id_per_store'), models.UniqueConstraint(fields=('prefs_token',), name='customer_prefs_token_unique')],
                },
            ), migrations.CreateModel(
                name='Store',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('slug', models.SlugField(unique=True)),
                    ('brand_name', models.CharField(max_length=100)),
                    ('site_url', models.URLField()),
                    ('allowed_link_domains', models.JSONField(blank=True, default=list, help_text='Hosts links may point to, e.g. shop.example.com.')),
                    ('default_timezone', models.CharField(default='America/New_York', max_length=64)),
                    ('currency', models.CharField(default='USD', max_length=3)),
                    ('messaging_service_sid', models.CharField(blank=True, max_length=34)),
                    ('from_number', models.CharField(blank=True, max_length=16)),
                    ('sender_type', models.CharField(choices=[('long_code', 'Long code (10DLC)'), ('toll_free', 'Toll-free'), ('short_code', 'Short code')], default='long_code', max_length=16)),
                    ('help_text', models.CharField(blank=True, help_text='Reply to HELP / INFO: who you are and how to reach you.', max_length=320)),
                    ('contact_email', models.EmailField(blank=True, max_length=254)),
                    ('rewards_url', models.URLField(blank=True)),
                    ('price_per_segment', models.DecimalField(decimal_places=5, default=Decimal('0.0083'), max_digits=8)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('cap_per_day', models.PositiveSmallIntegerField(default=1, help_text='Marketing texts per customer per rolling 24 h')),
                    ('cap_per_week', models.PositiveSmallIntegerField(default=3, help_text='Marketing texts per customer per rolling 7 days')),
                    ('cold_cap_per_week', models.PositiveSmallIntegerField(default=1, help_text='Per 7 days for Cold customers (no SMS click in the last cold_after_days)')),
                    ('cold_after_days', models.PositiveSmallIntegerField(default=60, help_text='Cold: no SMS click in this many days (never clicked counts as no click)')),
                    ('overlap_hours', models.PositiveSmallIntegerField(default=12, help_text='One flow or campaign text per customer within this many hours; priority wins')),
                    ('send_rate_per_second', models.PositiveIntegerField(blank=True, help_text='Messages per second from this store; empty: 1 long code, 3 toll-free, 100 short code', null=True)),
                    ('send_window_start', models.TimeField(default=datetime.time(8, 0), help_text="Marketing texts go from this local time (the recipient's timezone), e.g. 08:00")),
                    ('send_window_end', models.TimeField(default=datetime.time(21, 0), help_text='…until this local time, e.g. 21:00; later texts wait for the next morning')),
                    ('attribution_click_days', models.PositiveSmallIntegerField(default=5, help_text='An order counts for a text whose link was clicked this many days before it')),
                    ('attribution_delivery_hours', models.PositiveSmallIntegerField(default=24, help_text='…or for a text delivered this many hours before it (no click needed)')),
                    ('control_group_percent', models.DecimalField(decimal_places=2, default=Decimal('0'), help_text="Share of customers no marketing text reaches, to measure the program's lift (0: off)", max_digits=4)),
                    ('message_retention_days', models.PositiveIntegerField(blank=True, help_text='Days the wording of texts sent and received is kept, then blanked (reports keep counting them). Empty: kept for good', null=True, verbose_name='keep text wording (days)')),
                    ('hot_days', models.PositiveSmallIntegerField(default=14, help_text='Hot: an SMS click within this many days (Warm: up to cold_after_days)')),
                    ('owners', models.ManyToManyField(blank=True, related_name='stores', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'constraints': [models.UniqueConstraint(condition=models.Q(('from_number', ''), _negated=True), fields=('from_number',), name='store_from_number_unique'), models.UniqueConstraint(condition=models.Q(('messaging_service_sid', ''), _negated=True), fields=('messaging_service_sid',), name='store_messaging_service_unique')],
                },
            ), migrations.CreateModel(
                name='Event',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('type', models.CharField(max_length=64)),
                    ('occurred_at', models.DateTimeField()),
                    ('received_at', models.DateTimeField()),
                    ('properties', models.JSONField(blank=True, default=dict)),
                    ('idempotency_key', models.CharField(max_length=200)),
                    ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='customers.customer')),
                    ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='customers.store')),
                    ('product', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='customers.product')),
                ],
                options={
                    'indexes': [models.Index(fields=['product', 'type'], name='customers_e_product_e079d9_idx'), models.Index(fields=['store', 'type', 'occurred_at', 'customer'], name='event_store_type_time_cust'), models.Index(fields=['store', 'id'], name='event_store_id'), models.Index(fields=['customer', 'type', 'occurred_at'], include=('product', 'store'), name='event_customer_type_time')],
                    'constraints': [models.UniqueConstraint(fields=('store', 'idempotency_key'), name='event_key_per_store')],
                },
            ), migrations.CreateModel(
                name='ListHealth',
                fields=[
                    ('store', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='customers.store')),
                    ('counts', models.JSONField(default=dict)),
                    ('taken_at', models.DateTimeField()),
                ],
            ), migrations.CreateModel(
                name='ImportJob',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('file_name', models.CharField(max_length=255)),
                    ('content', models.TextField(help_text='The uploaded CSV, kept until the import has run.')),
                    ('status', models.CharField(choices=[('queued', 'queued'), ('running', 'running'), ('done', 'done'), ('failed', 'failed')], default='queued', max_length=10)),
                    ('phase', models.CharField(choices=[('waiting', 'waiting for a worker'), ('validating', 'checking rows'), ('writing', 'writing customers'), ('finished', 'finished')], default='waiting', max_length=10)),
                    ('rows_total', models.PositiveIntegerField(default=0)),
                    ('rows_processed', models.PositiveIntegerField(default=0)),
                    ('created_count', models.PositiveIntegerField(default=0)),
                    ('updated_count', models.PositiveIntegerField(default=0)),
                    ('error', models.TextField(blank=True, help_text='Why it failed: row, column and reason.')),
                    ('created_at', models.DateTimeField()),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('started_at', models.DateTimeField(blank=True, help_text='When a worker took it.', null=True)),
                    ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='import_jobs', to='customers.store')),
                ],
                options={
                    'ordering': ['-created_at', '-pk'],
                    'indexes': [models.Index(fields=['store', '-created_at'], name='customers_i_store_i_a8731c_idx')],
                },
            ), migrations.CreateModel(
                name='EventLast',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('type', models.CharField(max_length=64)),
                    ('last_at', models.DateTimeField()),
                    ('customer', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer')),
                    ('store', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'type', 'last_at', 'customer'], name='event_last_store_type_time')],
                    'constraints': [models.UniqueConstraint(fields=('customer', 'type'), name='event_last_per_customer_type')],
                },
            ), migrations.CreateModel(
                name='EventItem',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('type', models.CharField(max_length=64)),
                    ('occurred_at', models.DateTimeField()),
                    ('product_external_id', models.TextField()),
                    ('customer', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer')),
                    ('event', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.event')),
                    ('store', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'type', 'product_external_id', 'occurred_at', 'event'], name='event_item_store_type_product')],
                },
            ), migrations.CreateModel(
                name='ConsentRecord',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('action', models.CharField(choices=[('opt_in', 'Opted in'), ('requested', 'Confirmation requested'), ('confirmed', 'Confirmed'), ('opt_out', 'Opted out'), ('refused', 'Sign-up refused: opted out, only a keyword restarts')], max_length=16)),
                    ('source', models.CharField(help_text='api, csv, keyword, signup_page, provider, ...', max_length=50)),
                    ('wording', models.TextField(blank=True, help_text='The exact wording the customer saw')),
                    ('keyword', models.CharField(blank=True, max_length=50)),
                    ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                    ('user_agent', models.CharField(blank=True, max_length=300)),
                    ('occurred_at', models.DateTimeField()),
                    ('recorded_at', models.DateTimeField(default=django.utils.timezone.now, help_text='When the app stored it')),
                    ('phone_hash', models.CharField(blank=True, db_default='', editable=False, max_length=64)),
                    ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='consent_records', to='customers.customer')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consent_records', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['customer', 'occurred_at'], name='customers_c_custome_ba91e6_idx')],
                },
            ), migrations.CreateModel(
                name='Category',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('external_id', models.CharField(max_length=100)),
                    ('name', models.CharField(max_length=100)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='categories', to='customers.store')),
                ],
                options={
                    'verbose_name_plural': 'categories',
                    'constraints': [models.UniqueConstraint(fields=('store', 'external_id'), name='category_external_id_per_store')],
                },
            ), migrations.CreateModel(
                name='ApiKey',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('prefix', models.CharField(editable=False, max_length=12)),
                    ('key_hash', models.CharField(editable=False, max_length=64, unique=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('revoked', models.BooleanField(default=False)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='customers.store')),
                ],
                options={
                    'verbose_name': 'API key',
                },
            ), migrations.CreateModel(
                name='PredictionRun',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('started_at', models.DateTimeField()),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('ordering_customers', models.PositiveIntegerField(default=0)),
                    ('history_days', models.PositiveIntegerField(default=0)),
                    ('shortfall', models.CharField(blank=True, max_length=300)),
                    ('evaluation', models.JSONField(blank=True, default=dict)),
                    ('scored', models.PositiveIntegerField(default=0)),
                    ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='prediction_runs', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', '-started_at'], name='prediction_run_store_latest')],
                },
            ), migrations.CreateModel(
                name='PrivacyLogEntry',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('action', models.CharField(choices=[('export', 'Data exported'), ('erase', 'Erased')], max_length=8)),
                    ('actor', models.CharField(help_text='Who: a staff user, an API key, a webhook', max_length=150)),
                    ('customer_id', models.BigIntegerField(help_text="The customer's id (gone after an erasure)")),
                    ('phone_hash', models.CharField(help_text='One-way hash of the number', max_length=64)),
                    ('occurred_at', models.DateTimeField()),
                    ('details', models.JSONField(blank=True, default=dict, help_text='What was exported or erased, counted')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'verbose_name_plural': 'privacy log',
                    'indexes': [models.Index(fields=['store', '-occurred_at'], name='customers_p_store_i_453114_idx')],
                },
            ), migrations.CreateModel(
                name='Product',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('external_id', models.CharField(max_length=100)),
                    ('name', models.CharField(max_length=200)),
                    ('url', models.URLField(max_length=500)),
                    ('price', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=12)),
                    ('stock', models.IntegerField(default=0)),
                    ('consumable', models.BooleanField(default=False)),
                    ('reorder_window_days', models.PositiveIntegerField(blank=True, help_text='Days between repeat purchases, for replenishment reminders.', null=True)),
                    ('margin_class', models.CharField(choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High')], default='medium', max_length=8)),
                    ('usage_tip', models.CharField(blank=True, max_length=300)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('category', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='products', to='customers.category')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='products', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('store', 'external_id'), name='product_external_id_per_store')],
                },
            ), migrations.CreateModel(
                name='ProductChange',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('field', models.CharField(choices=[('price', 'Price'), ('stock', 'Stock')], max_length=8)),
                    ('old_value', models.DecimalField(decimal_places=2, max_digits=12, null=True)),
                    ('new_value', models.DecimalField(decimal_places=2, max_digits=12)),
                    ('changed_at', models.DateTimeField()),
                    ('product', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='customers.product')),
                ],
                options={
                    'indexes': [models.Index(fields=['product', 'field', 'changed_at'], name='customers_p_product_6caaa8_idx')],
                },
            ), migrations.CreateModel(
                name='Segment',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('slug', models.SlugField(max_length=100)),
                    ('description', models.CharField(blank=True, max_length=300)),
                    ('rules', models.JSONField(default=dict)),
                    ('preset', models.CharField(blank=True, help_text='Preset this segment was copied from', max_length=50)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('refresh_error', models.TextField(blank=True, editable=False)),
                    ('refresh_failed_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('refreshed_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('refreshed_count', models.PositiveIntegerField(blank=True, editable=False, null=True)),
                    ('stored', models.BooleanField(default=False, help_text='Counts and member lists read rows refreshed every few minutes, for rules too heavy to count live; sends always use the live rules.', verbose_name='Served from a membership table')),
                    ('counted_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('counted_fingerprint', models.CharField(blank=True, editable=False, max_length=64)),
                    ('counted_members', models.PositiveIntegerField(blank=True, editable=False, null=True)),
                    ('counted_reachable', models.PositiveIntegerField(blank=True, editable=False, null=True)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='segments', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('store', 'slug'), name='segment_slug_per_store')],
                },
            ), migrations.CreateModel(
                name='SegmentMember',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer')),
                    ('segment', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.segment')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('segment', 'customer'), name='segment_member_once')],
                },
            ), migrations.CreateModel(
                name='SegmentTouch',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('customer_id', models.BigIntegerField(null=True)),
                    ('store', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'id'], name='segment_touch_store')],
                },
            ), migrations.CreateModel(
                name='CustomerPrediction',
                fields=[
                    ('customer', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='prediction', serialize=False, to='customers.customer')),
                    ('order_probability', models.FloatField(blank=True, null=True)),
                    ('next_order_at', models.DateTimeField(blank=True, null=True)),
                    ('churn_risk', models.FloatField(blank=True, null=True)),
                    ('churn_band', models.CharField(blank=True, choices=[('low', 'Low'), ('medium', 'Medium'), ('high', 'High')], max_length=8)),
                    ('predicted_value', models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                    ('offer_uplift', models.FloatField(blank=True, null=True)),
                    ('best_hour', models.PositiveSmallIntegerField(blank=True, null=True)),
                    ('reasons', models.JSONField(blank=True, default=dict)),
                    ('scored_at', models.DateTimeField()),
                    ('run', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.predictionrun')),
                    ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'churn_band'], name='prediction_store_churn'), models.Index(fields=['store', 'order_probability'], name='prediction_store_order'), models.Index(fields=['store', 'predicted_value'], name='prediction_store_value'), models.Index(fields=['store', 'offer_uplift'], name='prediction_store_uplift'), models.Index(fields=['run'], name='prediction_run')],
                },
            )],
        ),
        migrations.RunPython(triggers_install, triggers_remove),
        migrations.RunPython(search_index_create, search_index_drop),
    ]
