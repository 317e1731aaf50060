"""Campaigns' tables as they stand after 0001_initial … 0021, built in one step on a new database.

A database that has applied the originals keeps them (Django marks this one applied); a new one runs
this instead, its tables made together (`customers/migrations/_create_models.py`). The originals'
data fixes have nothing to fix in empty tables and are left out. The outbox's partial indexes (0021,
built concurrently on a live table) are plain indexes of the new, empty table here. The database cache's table is made at the end, as 0003 made it.
"""

import campaigns.models.outbox
import customers.migrations._create_models
import datetime
import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models

from django.core.management import call_command


def cache_table_create(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):

    replaces = [('campaigns', '0001_initial'), ('campaigns', '0002_inbound_unmatched_and_replay_index'), ('campaigns', '0003_cache_table'), ('campaigns', '0004_tick_errors_and_provider_circuit'), ('campaigns', '0005_guardrail_reason_chosen_frequency'), ('campaigns', '0006_conversation_assignment_and_reply_kind'), ('campaigns', '0007_experiments_and_attribution'), ('campaigns', '0008_body_b_becomes_copy_experiment'), ('campaigns', '0009_event_check_marks'), ('campaigns', '0010_message_customer_index_covered_by_composites'), ('campaigns', '0011_event_check_mark_error'), ('campaigns', '0012_message_key_constraint'), ('campaigns', '0013_schedule_paths_after_packages'), ('campaigns', '0014_offers'), ('campaigns', '0015_product_change_check_marks'), ('campaigns', '0016_campaign_at_best_hour'), ('campaigns', '0017_experiment_drafts_and_plain_names'), ('campaigns', '0018_flow_step_best_hour_within'), ('campaigns', '0019_report_day_rollups'), ('campaigns', '0020_customer_delete_recounts_days'), ('campaigns', '0021_message_lean_indexes')]

    initial = True

    dependencies = [
        ('customers', '0001_squashed_0022_event_customer_index_covers_product'),
        ('django_q', '0018_task_success_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        customers.migrations._create_models.CreateModels(
            operations=[migrations.CreateModel(
                name='EventCheckMark',
                fields=[
                    ('store', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='customers.store')),
                    ('checked_through', models.BigIntegerField(default=0)),
                    ('error', models.TextField(blank=True, help_text="Why the last check of the store's events failed.")),
                    ('error_at', models.DateTimeField(blank=True, null=True)),
                ],
            ), migrations.CreateModel(
                name='ProductChangeCheckMark',
                fields=[
                    ('store', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='customers.store')),
                    ('checked_through', models.BigIntegerField(default=0)),
                ],
            ), migrations.CreateModel(
                name='ProviderCircuit',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('sender', models.CharField(max_length=40, unique=True)),
                    ('failures', models.PositiveIntegerField(default=0, help_text="Consecutive 'try later' answers")),
                    ('unavailable_since', models.DateTimeField(blank=True, null=True)),
                    ('open_until', models.DateTimeField(blank=True, null=True)),
                    ('last_error', models.CharField(blank=True, max_length=300)),
                ],
            ), migrations.CreateModel(
                name='SendRateBucket',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('sender', models.CharField(max_length=40, unique=True)),
                    ('next_slot_at', models.DateTimeField()),
                ],
            ), migrations.CreateModel(
                name='Campaign',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('slug', models.SlugField(max_length=100)),
                    ('send_at', models.DateTimeField(help_text='When the campaign starts. With a local send time, each recipient gets the text at the first such time in their own timezone after this moment.')),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('local_send_time', models.TimeField(blank=True, help_text='Same local time for every recipient, e.g. 10:00 in their timezone.', null=True)),
                    ('valid_hours', models.PositiveSmallIntegerField(default=6, help_text='Hours after its send time a text may still go out; later it is dropped.')),
                    ('status', models.CharField(choices=[('draft', 'Draft'), ('scheduled', 'Scheduled'), ('sending', 'Sending'), ('paused', 'Paused'), ('done', 'Done'), ('cancelled', 'Cancelled')], default='draft', max_length=10)),
                    ('paused_from', models.CharField(blank=True, choices=[('draft', 'Draft'), ('scheduled', 'Scheduled'), ('sending', 'Sending'), ('paused', 'Paused'), ('done', 'Done'), ('cancelled', 'Cancelled')], editable=False, max_length=10)),
                    ('recipients_count', models.PositiveIntegerField(default=0, editable=False)),
                    ('materialized_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('finished_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('preparing_until', models.DateTimeField(blank=True, editable=False, help_text='A worker is preparing its recipients until then.', null=True)),
                    ('error', models.TextField(blank=True, editable=False, help_text='Why the tick paused this campaign; cleared when it resumes.')),
                    ('error_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('at_best_hour', models.BooleanField(default=False, help_text='Each recipient with a predicted best hour gets the text at the first such hour in their timezone after the send time (within a day); the others as above.', verbose_name="at each recipient's best hour")),
                    ('segment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='customers.segment')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='campaigns', to='customers.store')),
                    ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to='campaigns.messagetemplate')),
                    ('offer', models.ForeignKey(blank=True, help_text='A unique single-use code per recipient for {{ offer_code }}', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='campaigns.offer')),
                ],
                options={
                    'indexes': [models.Index(fields=['status', 'send_at'], name='campaigns_c_status_fef779_idx')],
                    'constraints': [models.UniqueConstraint(fields=('store', 'slug'), name='campaign_slug_per_store')],
                },
            ), migrations.CreateModel(
                name='Conversation',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('updated_at', models.DateTimeField()),
                    ('assigned_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('customer', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='conversation', to='customers.customer')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conversations', to='customers.store')),
                ],
            ), migrations.CreateModel(
                name='EventCheckedAhead',
                fields=[
                    ('event', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='customers.event')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
            ), migrations.CreateModel(
                name='Experiment',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('lever', models.CharField(choices=[('audience', '1. Audience (broad vs intent-based segment)'), ('timing', '2. Timing (e.g. 30 vs 60 minutes)'), ('copy', '3. One dynamic field or copy change'), ('offer', '4. Offer (none vs a controlled offer)')], default='copy', max_length=10)),
                    ('hypothesis', models.CharField(blank=True, max_length=300)),
                    ('goal', models.CharField(choices=[('clicks', 'Click rate (unique clicks / delivered)'), ('orders', 'Conversion (attributed orders / delivered)')], default='clicks', max_length=8)),
                    ('holdout_percent', models.PositiveSmallIntegerField(default=0, help_text='Share of customers (0–50 %) who get no text, to measure incremental lift')),
                    ('min_recipients', models.PositiveIntegerField(default=200, help_text='Delivered texts each variant needs before a winner may be called')),
                    ('status', models.CharField(choices=[('draft', 'Draft (not started)'), ('running', 'Running'), ('finished', 'Finished')], default='running', max_length=10)),
                    ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('conclusion', models.TextField(blank=True, help_text='What it concluded, in a sentence')),
                    ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='experiments', to='campaigns.campaign')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='experiments', to='customers.store')),
                    ('flow_step', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='experiments', to='campaigns.flowstep')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'status'], name='campaigns_e_store_i_0d5b40_idx')],
                },
            ), migrations.CreateModel(
                name='ExperimentVariant',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(help_text='A, B, C…', max_length=4)),
                    ('name', models.CharField(max_length=100)),
                    ('is_control', models.BooleanField(default=False, help_text='What the others are compared with')),
                    ('share', models.PositiveSmallIntegerField(default=50, help_text='Relative share of the non-holdout')),
                    ('body', models.TextField(blank=True, help_text="Copy: this variant's text (blank: the step's own)")),
                    ('offer_code', models.CharField(blank=True, help_text="Offer: this variant's code", max_length=50)),
                    ('delay_minutes', models.PositiveIntegerField(blank=True, help_text='Timing: send this many minutes after the step is due', null=True)),
                    ('stopped_at', models.DateTimeField(blank=True, null=True)),
                    ('stop_reason', models.CharField(blank=True, max_length=300)),
                    ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='variants', to='campaigns.experiment')),
                    ('segment', models.ForeignKey(blank=True, help_text="Audience: only this segment's customers in the variant get the text", null=True, on_delete=django.db.models.deletion.RESTRICT, related_name='+', to='customers.segment')),
                    ('offer', models.ForeignKey(blank=True, help_text='Offer: a unique single-use code per recipient of this variant', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='campaigns.offer')),
                ],
                options={
                    'ordering': ['experiment', 'key'],
                    'constraints': [models.UniqueConstraint(fields=('experiment', 'key'), name='variant_key_once')],
                },
            ), migrations.CreateModel(
                name='ExperimentDecision',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('kind', models.CharField(choices=[('winner', 'Winner called'), ('stopped', 'Variant stopped (opt-outs)'), ('no_difference', 'No significant difference')], max_length=16)),
                    ('reason', models.TextField()),
                    ('advice', models.TextField(blank=True)),
                    ('figures', models.JSONField(blank=True, default=dict)),
                    ('decided_at', models.DateTimeField()),
                    ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='campaigns.experiment')),
                    ('variant', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='campaigns.experimentvariant')),
                ],
                options={
                    'ordering': ['-decided_at'],
                },
            ), migrations.CreateModel(
                name='Flow',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('slug', models.SlugField(max_length=100)),
                    ('status', models.CharField(choices=[('draft', 'Draft'), ('live', 'Live'), ('paused', 'Paused')], default='draft', max_length=8)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('trigger', models.CharField(choices=[('event', 'An event happens'), ('back_in_stock', 'Back in stock'), ('price_drop', 'Price drop'), ('post_purchase', 'Days after delivery'), ('replenishment', 'Replenishment of a consumable'), ('win_back', 'Win-back (no order for k × own gap)'), ('reward_threshold', 'Reward balance crosses a threshold'), ('date_property', 'Date property (birthday, anniversary)')], default='event', max_length=20)),
                    ('event_type', models.CharField(blank=True, help_text='For “An event happens”: e.g. cart_updated, or a custom event.', max_length=64)),
                    ('lookback_days', models.PositiveIntegerField(default=30, help_text='Back in stock / price drop: who requested, viewed or carted it in these days.')),
                    ('include_viewers', models.BooleanField(default=False, help_text='Back in stock: also text people who only viewed the product.')),
                    ('price_drop_percent', models.DecimalField(decimal_places=2, default=10, help_text='Price drop: smallest fall, in percent.', max_digits=5)),
                    ('days_after', models.PositiveIntegerField(default=3, help_text='Days after delivery (post-purchase), or the default reorder window (replenishment).')),
                    ('winback_multiplier', models.DecimalField(decimal_places=2, default=2, help_text='Win-back: k in “no order for k × own gap”.', max_digits=4)),
                    ('winback_default_gap_days', models.PositiveIntegerField(default=45, help_text='Win-back: the gap used for customers with fewer than two orders.')),
                    ('reward_threshold', models.DecimalField(decimal_places=2, default=10, help_text='Reward balance crossing this, upward.', max_digits=12)),
                    ('date_property', models.CharField(default='birthday', help_text='“birthday”, or a customer attribute holding YYYY-MM-DD (e.g. anniversary).', max_length=64)),
                    ('exit_events', models.CharField(blank=True, help_text='Comma-separated event types that end a run at once, matched on the same cart or checkout.', max_length=200)),
                    ('reentry_days', models.PositiveIntegerField(default=7, help_text='At most one run per customer (per cart for cart flows) in this many days.')),
                    ('max_lateness_minutes', models.PositiveIntegerField(default=60, help_text='A step due longer ago than this is skipped, not sent late.')),
                    ('priority', models.PositiveSmallIntegerField(default=50, help_text='Higher wins when two flows would text the same customer.')),
                    ('dates_checked_at', models.DateTimeField(blank=True, editable=False, help_text='Last look for date-based entries (win-back, ...)', null=True)),
                    ('error', models.TextField(blank=True, editable=False, help_text='Why the tick paused this flow; cleared when it goes live.')),
                    ('error_at', models.DateTimeField(blank=True, editable=False, null=True)),
                    ('category', models.ForeignKey(blank=True, help_text='Post-purchase / replenishment: only this category (blank: any).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.category')),
                    ('entry_segment', models.ForeignKey(blank=True, help_text='Only customers in this segment enter (blank: everyone).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.segment')),
                    ('product', models.ForeignKey(blank=True, help_text='Post-purchase / replenishment: only this product (blank: any).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.product')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='flows', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'status', 'trigger'], name='campaigns_f_store_i_668e7d_idx')],
                    'constraints': [models.UniqueConstraint(fields=('store', 'slug'), name='flow_slug_per_store')],
                },
            ), migrations.CreateModel(
                name='FlowStep',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('position', models.PositiveIntegerField()),
                    ('kind', models.CharField(choices=[('wait', 'Wait'), ('send', 'Send'), ('split', 'Split on a segment'), ('end', 'End')], default='send', max_length=8)),
                    ('delay_value', models.PositiveIntegerField(default=0, help_text='Wait this long after the previous step.')),
                    ('delay_unit', models.CharField(choices=[('minutes', 'Minutes'), ('hours', 'Hours'), ('days', 'Days')], default='minutes', max_length=8)),
                    ('window_start', models.TimeField(blank=True, help_text="Then wait until this local time (customer's timezone)…", null=True)),
                    ('window_end', models.TimeField(blank=True, help_text='…and no later than this.', null=True)),
                    ('body', models.TextField(blank=True, help_text='Text with dynamic fields, used when no template is chosen.')),
                    ('offer_code', models.CharField(blank=True, help_text='One code for everyone, e.g. CART10', max_length=50)),
                    ('yes_next', models.PositiveIntegerField(blank=True, help_text='Split: position the yes branch goes to (blank: the next step).', null=True)),
                    ('no_next', models.PositiveIntegerField(blank=True, help_text='Split: position the no branch goes to (blank: end the run).', null=True)),
                    ('best_hour_within', models.PositiveSmallIntegerField(blank=True, help_text="Then wait for the customer's best hour to text, if it comes within this many hours; without a best hour, or if it comes later, at once.", null=True, verbose_name='then at their best hour within (hours)')),
                    ('flow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='campaigns.flow')),
                    ('segment', models.ForeignKey(blank=True, help_text='Split: customers in this segment take the yes branch.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='customers.segment')),
                    ('template', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='campaigns.messagetemplate')),
                    ('offer', models.ForeignKey(blank=True, help_text='A unique single-use code per recipient for {{ offer_code }} (instead of one code)', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='campaigns.offer')),
                ],
                options={
                    'ordering': ['flow', 'position'],
                    'constraints': [models.UniqueConstraint(fields=('flow', 'position'), name='flow_step_position')],
                },
            ), migrations.CreateModel(
                name='FlowRun',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('state', models.CharField(choices=[('active', 'Active'), ('done', 'Done'), ('exited', 'Exited by goal'), ('skipped', 'Skipped')], default='active', max_length=8)),
                    ('next_due_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField()),
                    ('trigger_key', models.CharField(help_text='What enrolled it; one run per trigger.', max_length=120)),
                    ('entered_at', models.DateTimeField(help_text='When the trigger happened; step delays count from here.')),
                    ('cart_id', models.CharField(blank=True, max_length=100)),
                    ('checkout_id', models.CharField(blank=True, max_length=100)),
                    ('context', models.JSONField(blank=True, default=dict)),
                    ('exit_reason', models.CharField(blank=True, max_length=64)),
                    ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='flow_runs', to='customers.customer')),
                    ('flow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='runs', to='campaigns.flow')),
                    ('trigger_event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.event')),
                    ('current_step', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='runs_here', to='campaigns.flowstep')),
                ],
                options={
                    'indexes': [models.Index(fields=['state', 'next_due_at'], name='campaigns_f_state_71b903_idx'), models.Index(fields=['flow', 'customer', 'entered_at'], name='campaigns_f_flow_id_5a5445_idx')],
                    'constraints': [models.UniqueConstraint(fields=('flow', 'customer', 'trigger_key'), name='flow_run_once_per_trigger')],
                },
            ), migrations.CreateModel(
                name='FlowStepVisit',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('outcome', models.CharField(choices=[('sent', 'Sent'), ('waited', 'Waited'), ('yes', 'Split: yes'), ('no', 'Split: no'), ('ended', 'Ended'), ('skipped', 'Skipped')], max_length=8)),
                    ('reason', models.CharField(blank=True, max_length=64)),
                    ('at', models.DateTimeField()),
                    ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='visits', to='campaigns.flowrun')),
                    ('step', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='visits', to='campaigns.flowstep')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('run', 'step'), name='flow_visit_once')],
                },
            ), migrations.CreateModel(
                name='FlowTriggerFilter',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('property', models.CharField(max_length=64)),
                    ('op', models.CharField(choices=[('eq', 'equals'), ('ne', 'does not equal'), ('gte', '≥'), ('lte', '≤'), ('contains', 'contains'), ('present', 'is present')], default='eq', max_length=8)),
                    ('value', models.CharField(blank=True, max_length=200)),
                    ('flow', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='filters', to='campaigns.flow')),
                ],
            ), migrations.CreateModel(
                name='InboundMessage',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('provider_sid', models.CharField(blank=True, max_length=64)),
                    ('from_number', models.CharField(max_length=32)),
                    ('to_number', models.CharField(blank=True, max_length=32)),
                    ('messaging_service_sid', models.CharField(blank=True, max_length=34)),
                    ('body', models.TextField(blank=True)),
                    ('keyword', models.CharField(blank=True, help_text='The keyword it matched, if any.', max_length=30)),
                    ('opt_out_type', models.CharField(blank=True, help_text="Twilio's OptOutType, if sent.", max_length=8)),
                    ('outcome', models.CharField(choices=[('opted_out', 'Opted out'), ('opted_in', 'Opted back in'), ('confirmed', 'Confirmed the sign-up'), ('join_requested', 'Asked to join (confirmation requested)'), ('help', 'Help sent'), ('preference', 'Preference set'), ('keyword', 'Store keyword'), ('message', 'Message for the staff'), ('unknown_store', 'No single store matched')], max_length=16)),
                    ('reply', models.TextField(blank=True, help_text='What the app replied (empty: no reply).')),
                    ('handled', models.BooleanField(default=False)),
                    ('handled_at', models.DateTimeField(blank=True, null=True)),
                    ('received_at', models.DateTimeField()),
                    ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='inbound_messages', to='customers.customer')),
                    ('handled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='inbound_messages', to='customers.store')),
                ],
                options={
                    'ordering': ['-received_at'],
                    'indexes': [models.Index(fields=['store', 'handled', 'received_at'], name='campaigns_i_store_i_2d80fe_idx'), models.Index(fields=['from_number', 'received_at'], name='inbound_from_time')],
                    'constraints': [models.UniqueConstraint(condition=models.Q(('provider_sid', ''), _negated=True), fields=('provider_sid',), name='inbound_sid_once')],
                },
            ), migrations.CreateModel(
                name='Keyword',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('word', models.CharField(help_text='Matched ignoring case, spaces and punctuation.', max_length=30)),
                    ('action', models.CharField(choices=[('reply', 'Auto-reply, then land in the inbox'), ('join', 'Join the list (double opt-in)')], default='reply', max_length=8)),
                    ('reply', models.CharField(blank=True, help_text='Sent back when the word arrives.', max_length=480)),
                    ('active', models.BooleanField(default=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='keywords', to='customers.store')),
                ],
                options={
                    'ordering': ['store', 'word'],
                    'constraints': [models.UniqueConstraint(fields=('store', 'word'), name='keyword_word_per_store')],
                },
            ), migrations.CreateModel(
                name='Message',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('to', models.CharField(max_length=16)),
                    ('body', models.TextField()),
                    ('variant', models.CharField(blank=True, max_length=20)),
                    ('kind', models.CharField(choices=[('marketing', 'Marketing'), ('transactional', 'Transactional (confirmations, replies)'), ('reply', "Reply to the customer's own text (within 24 h)")], default='marketing', max_length=16)),
                    ('status', models.CharField(choices=[('pending', 'Pending'), ('held', 'Held'), ('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('undelivered', 'Undelivered'), ('failed', 'Failed'), ('suppressed', 'Suppressed')], default='pending', max_length=12)),
                    ('reason', models.CharField(blank=True, max_length=50)),
                    ('idempotency_key', models.CharField(max_length=200)),
                    ('valid_until', models.DateTimeField(blank=True, null=True)),
                    ('send_after', models.DateTimeField(blank=True, null=True)),
                    ('provider_sid', models.CharField(blank=True, max_length=64)),
                    ('error_code', models.CharField(blank=True, max_length=16)),
                    ('attempts', models.PositiveSmallIntegerField(default=0)),
                    ('created_at', models.DateTimeField()),
                    ('sent_at', models.DateTimeField(blank=True, null=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('priority', models.SmallIntegerField(default=0, help_text='Higher wins when two texts for one customer overlap.')),
                    ('confirms_opt_out', models.BooleanField(default=False, help_text='The one text allowed after an opt-out: its confirmation.')),
                    ('encoding', models.CharField(choices=[('gsm7', 'GSM-7'), ('ucs2', 'UCS-2')], default='gsm7', max_length=4)),
                    ('segments', models.PositiveSmallIntegerField(default=1)),
                    ('planned_at', models.DateTimeField(blank=True, help_text='When it went out or is planned to; what caps and overlap count.', null=True)),
                    ('sender', models.CharField(blank=True, help_text='Messaging Service SID or from-number used', max_length=34)),
                    ('provider_status', models.CharField(blank=True, max_length=16)),
                    ('error_message', models.CharField(blank=True, max_length=300)),
                    ('create_token', models.UUIDField(blank=True, editable=False, null=True)),
                    ('claim_token', models.UUIDField(blank=True, editable=False, null=True)),
                    ('claimed_at', models.DateTimeField(blank=True, null=True)),
                    ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                    ('delivered_at', models.DateTimeField(blank=True, null=True)),
                    ('status_changed_at', models.DateTimeField(blank=True, null=True)),
                    ('checked_at', models.DateTimeField(blank=True, help_text='Last status poll at the provider', null=True)),
                    ('campaign', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=campaigns.models.outbox.set_null_recounted, related_name='messages', to='campaigns.campaign')),
                    ('customer', models.ForeignKey(db_index=False, on_delete=campaigns.models.outbox.cascade_recounted, related_name='messages', to='customers.customer')),
                    ('flow_run', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=campaigns.models.outbox.set_null_recounted, related_name='messages', to='campaigns.flowrun')),
                    ('flow_step', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=campaigns.models.outbox.set_null_recounted, related_name='messages', to='campaigns.flowstep')),
                    ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['customer', 'created_at'], name='campaigns_m_custome_4be401_idx'), models.Index(fields=['customer', 'planned_at'], name='campaigns_m_custome_45e0d4_idx'), models.Index(fields=['store', 'created_at'], name='campaigns_m_store_i_111845_idx'), models.Index(condition=models.Q(('status__in', ['pending', 'held', 'queued', 'sending'])), fields=['status', 'send_after'], name='message_waiting'), models.Index(condition=models.Q(('status', 'sent')), fields=['sent_at'], name='message_awaiting_receipt'), models.Index(condition=models.Q(('status__in', ['failed', 'suppressed', 'undelivered'])), fields=['status'], name='message_stopped'), models.Index(condition=models.Q(('provider_sid', ''), _negated=True), fields=['provider_sid'], name='message_provider_sid'), models.Index(condition=models.Q(('campaign__isnull', False)), fields=['campaign'], name='message_campaign'), models.Index(condition=models.Q(('flow_run__isnull', False)), fields=['flow_run'], name='message_flow_run'), models.Index(condition=models.Q(('flow_step__isnull', False)), fields=['flow_step'], name='message_flow_step')],
                    'constraints': [models.UniqueConstraint(fields=('idempotency_key',), name='message_idempotency_key_unique')],
                },
            ), migrations.CreateModel(
                name='Link',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=16, unique=True)),
                    ('target_url', models.URLField(max_length=1000)),
                    ('utm_campaign', models.CharField(blank=True, max_length=100)),
                    ('utm_content', models.CharField(blank=True, max_length=100)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('clicks', models.PositiveIntegerField(default=0)),
                    ('first_clicked_at', models.DateTimeField(blank=True, null=True)),
                    ('last_clicked_at', models.DateTimeField(blank=True, null=True)),
                    ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='links', to='customers.customer')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='links', to='customers.store')),
                    ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='links', to='campaigns.message')),
                ],
                options={
                    'indexes': [models.Index(condition=models.Q(('clicks__gt', 0)), fields=['message'], include=('clicks',), name='link_tapped')],
                },
            ), migrations.CreateModel(
                name='GuardrailDecision',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('stage', models.CharField(choices=[('create', 'When created'), ('release', 'When its hold ended'), ('send', 'Right before the provider call'), ('provider', 'Provider answer')], max_length=8)),
                    ('outcome', models.CharField(choices=[('allow', 'Allow'), ('hold', 'Held until'), ('suppress', 'Suppress')], max_length=8)),
                    ('reason', models.CharField(choices=[('ok', 'Allowed'), ('no_consent', 'Not subscribed'), ('opted_out', 'Opted out'), ('number_undeliverable', 'Number cannot receive texts'), ('expired', 'Past its valid-until time'), ('quiet_hours', "Outside the sending window in the recipient's time"), ('frequency_cap', 'Frequency cap reached'), ('chosen_frequency', "The subscriber's chosen frequency (weekly / monthly) reached"), ('state_cap', 'State limit on marketing texts per 24 h reached'), ('overlap', 'Another text for this customer within the overlap window'), ('superseded', 'Replaced by a higher-priority text within the overlap window'), ('provider_opt_out', 'The provider reports the recipient opted out (21610)'), ('provider_rejected', 'The provider rejected the message'), ('retries_exhausted', 'Retryable errors until the attempt limit'), ('retry', 'Retryable provider error, retry scheduled'), ('offer_code_pending', 'Waiting for its unique code to be created in the shop'), ('offer_code_refused', 'Its unique code was refused or none was left: held')], max_length=24)),
                    ('detail', models.CharField(blank=True, max_length=200)),
                    ('held_until', models.DateTimeField(blank=True, null=True)),
                    ('decided_at', models.DateTimeField()),
                    ('message', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='campaigns.message')),
                ],
                options={
                    'verbose_name': 'sending decision',
                    'verbose_name_plural': 'sending decisions (why each text went, waited or not)',
                    'indexes': [models.Index(fields=['message', 'decided_at'], name='campaigns_g_message_14dcc1_idx')],
                },
            ), migrations.CreateModel(
                name='Attribution',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('touch', models.CharField(choices=[('click', 'Click'), ('delivery', 'Delivery'), ('code', 'Its unique code used')], max_length=8)),
                    ('revenue', models.DecimalField(decimal_places=2, max_digits=14)),
                    ('ordered_at', models.DateTimeField()),
                    ('order', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='attribution', to='customers.event')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                    ('message', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attributions', to='campaigns.message')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'ordered_at'], name='campaigns_a_store_i_54b600_idx')],
                },
            ), migrations.CreateModel(
                name='MessageTemplate',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=100)),
                    ('body', models.TextField()),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('updated_at', models.DateTimeField(auto_now=True)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='templates', to='customers.store')),
                ],
            ), migrations.CreateModel(
                name='Offer',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(help_text='e.g. Cart recovery: 10% for 2 hours', max_length=100)),
                    ('source', models.CharField(choices=[('shop', 'Unique codes created in the connected shop'), ('pool', 'Unique codes from an uploaded pool')], default='shop', max_length=4)),
                    ('value_type', models.CharField(choices=[('percentage', '% off'), ('fixed_amount', 'amount off')], default='percentage', max_length=12)),
                    ('value', models.DecimalField(decimal_places=2, default=Decimal('10'), max_digits=8)),
                    ('minimum_subtotal', models.DecimalField(blank=True, decimal_places=2, help_text='Smallest order the code applies to', max_digits=10, null=True)),
                    ('expires_hours', models.PositiveSmallIntegerField(default=2, help_text='Hours a code is good for from when it is created, right before its text (0: no end)')),
                    ('code_prefix', models.CharField(blank=True, default='SMS', help_text='Start of each created code, e.g. CART → CART-7KQ2MXHD', max_length=12)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='offers', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('store', 'name'), name='offer_name_per_store')],
                },
            ), migrations.CreateModel(
                name='OfferCode',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('code', models.CharField(max_length=50)),
                    ('status', models.CharField(choices=[('available', 'In the pool'), ('reserved', 'Given to a text, not yet created in the shop'), ('creating', 'Being created in the shop'), ('issued', 'Exists in the shop: its text may go'), ('refused', 'Refused by the shop: its text is held')], max_length=10)),
                    ('message_key', models.CharField(blank=True, max_length=200)),
                    ('shop_ref', models.CharField(blank=True, help_text="The shop's job creating it", max_length=60)),
                    ('error', models.CharField(blank=True, max_length=300)),
                    ('given_at', models.DateTimeField(blank=True, null=True)),
                    ('attempted_at', models.DateTimeField(blank=True, null=True)),
                    ('issued_at', models.DateTimeField(blank=True, null=True)),
                    ('expires_at', models.DateTimeField(blank=True, null=True)),
                    ('redeemed_at', models.DateTimeField(blank=True, null=True)),
                    ('revenue', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                    ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.customer')),
                    ('offer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='codes', to='campaigns.offer')),
                    ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.event')),
                    ('store', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['offer', 'status'], name='campaigns_o_offer_i_da7aa0_idx'), models.Index(fields=['status', 'attempted_at'], name='campaigns_o_status_4c1432_idx'), models.Index(django.db.models.functions.text.Upper('code'), name='offer_code_upper')],
                    'constraints': [models.UniqueConstraint(fields=('store', 'code'), name='offer_code_once_per_store'), models.UniqueConstraint(condition=models.Q(('message_key', ''), _negated=True), fields=('message_key',), name='offer_code_once_per_text')],
                },
            ), migrations.CreateModel(
                name='OptOutAttribution',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('opted_out_at', models.DateTimeField()),
                    ('message', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='opt_outs', to='campaigns.message')),
                    ('record', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='attribution', to='customers.consentrecord')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
            ), migrations.CreateModel(
                name='ProductChangeCheckedAhead',
                fields=[
                    ('change', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='customers.productchange')),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
            ), migrations.CreateModel(
                name='QuietHoursRule',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('region', models.CharField(help_text='US state code, e.g. FL', max_length=2)),
                    ('window_start', models.TimeField(default=datetime.time(8, 0), help_text='Earliest local time to send')),
                    ('window_end', models.TimeField(default=datetime.time(20, 0), help_text='Local time sending stops')),
                    ('max_per_24h', models.PositiveSmallIntegerField(blank=True, help_text='Marketing texts per rolling 24 h; empty for no state limit', null=True)),
                    ('note', models.CharField(blank=True, max_length=200)),
                    ('store', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='quiet_hours_rules', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('store', 'region'), name='quiet_rule_region_per_store'), models.UniqueConstraint(condition=models.Q(('store__isnull', True)), fields=('region',), name='quiet_rule_region_default')],
                },
            ), migrations.CreateModel(
                name='ReportDay',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('day', models.DateField()),
                    ('step_id', models.BigIntegerField(null=True)),
                    ('run_flow_id', models.BigIntegerField(null=True)),
                    ('campaign_id', models.BigIntegerField(null=True)),
                    ('variant', models.CharField(blank=True, max_length=20)),
                    ('kind', models.CharField(max_length=20)),
                    ('sent', models.BigIntegerField(default=0)),
                    ('delivered', models.BigIntegerField(default=0)),
                    ('failed', models.BigIntegerField(default=0)),
                    ('refused', models.BigIntegerField(default=0)),
                    ('clicks', models.BigIntegerField(default=0)),
                    ('clicked', models.BigIntegerField(default=0)),
                    ('segments', models.BigIntegerField(default=0)),
                    ('opt_outs', models.BigIntegerField(default=0)),
                    ('orders', models.BigIntegerField(default=0)),
                    ('revenue', models.DecimalField(decimal_places=2, default=0, max_digits=16)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'day'], name='campaigns_r_store_i_254636_idx')],
                },
            ), migrations.CreateModel(
                name='ReportDayCounted',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('day', models.DateField()),
                    ('counted_at', models.DateTimeField()),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('store', 'day'), name='report_day_counted_once')],
                },
            ), migrations.CreateModel(
                name='ReportDayMark',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('hour', models.DateTimeField()),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'hour'], name='campaigns_r_store_i_d2b9d1_idx')],
                },
            ), migrations.CreateModel(
                name='ReportReach',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('key', models.CharField(max_length=60)),
                    ('customer_id', models.BigIntegerField()),
                    ('last_day', models.DateField()),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.store')),
                ],
                options={
                    'indexes': [models.Index(fields=['store', 'key', 'last_day'], name='campaigns_r_store_i_cad7ac_idx'), models.Index(fields=['store', 'customer_id', 'key', 'last_day'], name='campaigns_r_store_i_1084ad_idx')],
                },
            ), migrations.CreateModel(
                name='UndeliverableNumber',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('phone', models.CharField(max_length=16)),
                    ('error_code', models.CharField(max_length=16)),
                    ('recorded_at', models.DateTimeField()),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='undeliverable_numbers', to='customers.store')),
                ],
                options={
                    'constraints': [models.UniqueConstraint(fields=('store', 'phone'), name='undeliverable_phone_per_store')],
                },
            ), migrations.CreateModel(
                name='CreepTerm',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('category', models.CharField(choices=[('behaviour', 'Hyper-specific behaviour'), ('health', 'Health'), ('pregnancy', 'Pregnancy and fertility'), ('finances', 'Finances and debt'), ('religion', 'Religion'), ('sexuality', 'Sexuality'), ('ethnicity', 'Ethnicity'), ('other', 'Other sensitive inference')], max_length=16)),
                    ('phrase', models.CharField(help_text='A word or phrase, matched as whole words', max_length=100)),
                    ('action', models.CharField(choices=[('flag', 'Flag'), ('allow', 'Allow')], default='flag', max_length=8)),
                    ('note', models.CharField(blank=True, help_text='Why it is sensitive, shown with the finding', max_length=200)),
                    ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='creep_terms', to='customers.store')),
                ],
                options={
                    'verbose_name': 'word to avoid or allow',
                    'verbose_name_plural': 'words to avoid or allow',
                    'constraints': [models.UniqueConstraint(fields=('store', 'category', 'phrase'), name='creep_term_per_store')],
                },
            ), migrations.CreateModel(
                name='ExperimentExposure',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('arm', models.CharField(max_length=8)),
                    ('at', models.DateTimeField()),
                    ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='customers.customer')),
                    ('experiment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exposures', to='campaigns.experiment')),
                ],
                options={
                    'indexes': [models.Index(fields=['experiment', 'arm'], name='campaigns_e_experim_9dcf35_idx')],
                    'constraints': [models.UniqueConstraint(fields=('experiment', 'customer'), name='exposure_once_per_customer')],
                },
            )],
        ),
        migrations.RunPython(cache_table_create, migrations.RunPython.noop),
    ]
