"""The shop connections' tables as they stand after 0001_initial and 0002, built in one step on a
new database (together, `customers/migrations/_create_models.py`); a database that has applied the
originals keeps them."""

import customers.migrations._create_models
import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [('connections', '0001_initial'), ('connections', '0002_delivery_waiting_index')]

    initial = True

    dependencies = [
        ('customers', '0001_squashed_0022_event_customer_index_covers_product'),
    ]

    operations = [
        customers.migrations._create_models.CreateModels(
            operations=[migrations.CreateModel(
                name='ShopConnection',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('platform', models.CharField(choices=[('shopify', 'Shopify'), ('woocommerce', 'WooCommerce')], max_length=12)),
                    ('shop_domain', models.CharField(help_text="NAME.myshopify.com, or the WooCommerce site's host, e.g. shop.example.com", max_length=255)),
                    ('api_base', models.URLField(blank=True, help_text="Where the shop's API answers; empty: https:// and the shop's domain")),
                    ('access_token', models.CharField(blank=True, help_text='Shopify: the Admin API access token; WooCommerce: consumer key', max_length=200)),
                    ('api_secret', models.CharField(blank=True, help_text='WooCommerce: consumer secret', max_length=200)),
                    ('webhook_secret', models.CharField(help_text='The key webhooks are signed with', max_length=200)),
                    ('webhooks_only', models.BooleanField(default=False, help_text="Webhooks created by hand in the shop's admin; no API calls, no backfill")),
                    ('webhook_ids', models.JSONField(blank=True, default=list, editable=False)),
                    ('connected_at', models.DateTimeField()),
                    ('last_webhook_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('error', models.TextField(blank=True, editable=False)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shop_connections', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('platform', 'shop_domain'), name='connection_shop_once'), models.UniqueConstraint(fields=('store', 'platform'), name='connection_platform_per_store')],
                },
            ), migrations.CreateModel(
                name='Backfill',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('status', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='running', max_length=8)),
                    ('phase', models.CharField(choices=[('customers', 'Customers'), ('products', 'Products'), ('orders', 'Orders'), ('finished', 'Finished')], default='customers', max_length=10)),
                    ('cursor', models.TextField(blank=True, help_text='Where the current phase goes on: the next page')),
                    ('orders_since', models.DateTimeField()),
                    ('customers', models.PositiveIntegerField(default=0)),
                    ('products', models.PositiveIntegerField(default=0)),
                    ('orders', models.PositiveIntegerField(default=0)),
                    ('pages', models.PositiveIntegerField(default=0)),
                    ('started_at', models.DateTimeField()),
                    ('updated_at', models.DateTimeField()),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('error', models.TextField(blank=True)),
                    ('connection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='backfills', to='connections.shopconnection')),
                ],
                options={
                    'ordering': ['-started_at', '-pk'],
                },
            ), migrations.CreateModel(
                name='ShopVariant',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('inventory_item_id', models.CharField(max_length=40)),
                    ('product_external_id', models.CharField(max_length=100)),
                    ('levels', models.JSONField(default=dict)),
                    ('connection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='connections.shopconnection')),
                ],
                options={
                    'indexes': [models.Index(fields=['connection', 'product_external_id'], name='connections_connect_61ef87_idx')],
                    'constraints': [models.UniqueConstraint(fields=('connection', 'inventory_item_id'), name='shop_variant_once')],
                },
            ), migrations.CreateModel(
                name='SignupEmbed',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('enabled', models.BooleanField(default=True)),
                    ('display', models.CharField(choices=[('delay', 'Popup after some seconds'), ('exit', 'Popup on exit intent'), ('inline', 'Inline, where the tag is')], default='delay', max_length=8)),
                    ('delay_seconds', models.PositiveSmallIntegerField(default=8, help_text='Popup after this many seconds')),
                    ('headline', models.CharField(default='Get 10% off your first order', max_length=100)),
                    ('text', models.CharField(default='Join our texts for drops, restocks and members-only deals.', max_length=300)),
                    ('button_label', models.CharField(default='Sign me up', max_length=40)),
                    ('question', models.CharField(blank=True, choices=[('', 'No question'), ('topics', 'What they want to hear about (deals, drops, restocks)'), ('category', 'Their favourite category')], default='', max_length=8)),
                    ('question_label', models.CharField(blank=True, default='What would you like to hear about?', max_length=100)),
                    ('consent_wording', models.TextField(blank=True, help_text='The consent text shown under the number; empty: the standard disclosure')),
                    ('thanks_text', models.CharField(default='Almost there: reply Y to the text we just sent to confirm.', max_length=200)),
                    ('background_colour', models.CharField(default='#ffffff', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'A colour as #rrggbb, e.g. #1a7f37.')])),
                    ('text_colour', models.CharField(default='#1f2328', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'A colour as #rrggbb, e.g. #1a7f37.')])),
                    ('button_colour', models.CharField(default='#0d6efd', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'A colour as #rrggbb, e.g. #1a7f37.')])),
                    ('button_text_colour', models.CharField(default='#ffffff', max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'A colour as #rrggbb, e.g. #1a7f37.')])),
                    ('store', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='signup_embed', to='customers.store')),
                ],
                options={
                    'verbose_name': "signup form on the store's site",
                },
            ), migrations.CreateModel(
                name='WebhookDelivery',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('delivery_id', models.CharField(max_length=100)),
                    ('topic', models.CharField(max_length=64)),
                    ('body', models.TextField(blank=True)),
                    ('status', models.CharField(choices=[('received', 'Received'), ('processed', 'Processed'), ('skipped', 'Skipped (nothing to record)'), ('failed', 'Failed')], default='received', max_length=10)),
                    ('note', models.CharField(blank=True, help_text='What it became, or why it was skipped', max_length=300)),
                    ('received_at', models.DateTimeField()),
                    ('processed_at', models.DateTimeField(blank=True, null=True)),
                    ('connection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='connections.shopconnection')),
                ],
                options={
                    'verbose_name_plural': 'webhook deliveries',
                    'indexes': [models.Index(fields=['connection', '-received_at'], name='connections_connect_e926c6_idx'), models.Index(condition=models.Q(('status', 'received')), fields=['received_at'], name='webhook_delivery_waiting')],
                    'constraints': [models.UniqueConstraint(fields=('connection', 'delivery_id'), name='webhook_delivery_once')],
                },
            )],
        ),
    ]
