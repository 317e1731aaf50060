"""The outbox's indexes made lean: the ones for a state hold only the rows in that state, each
foreign key is indexed where it is set, and the store's own index goes (its (store, created_at)
index leads with it).

A decision's own index of its text goes too (its (message, decided_at) index leads with it).

Built before the old ones are dropped, and on PostgreSQL concurrently, so the table takes writes
and every query keeps an index throughout.
"""

import campaigns.models.outbox
import django.db.models.deletion
from django.db import migrations, models

NEW = {
    "message_waiting": (
        ["status", "send_after"],
        models.Q(status__in=["pending", "held", "queued", "sending"]),
    ),
    "message_awaiting_receipt": (["sent_at"], models.Q(status="sent")),
    "message_stopped": (["status"], models.Q(status__in=["failed", "suppressed", "undelivered"])),
    "message_provider_sid": (["provider_sid"], ~models.Q(provider_sid="")),
    "message_campaign": (["campaign"], models.Q(campaign__isnull=False)),
    "message_flow_run": (["flow_run"], models.Q(flow_run__isnull=False)),
    "message_flow_step": (["flow_step"], models.Q(flow_step__isnull=False)),
}
OLD = {
    "campaigns_m_status_ef66a4_idx": ["status", "send_after"],
    "campaigns_m_status_9fb522_idx": ["status", "claimed_at"],
    "campaigns_m_provide_cff9eb_idx": ["provider_sid"],
    "campaigns_message_campaign_id_de4b21fa": ["campaign"],
    "campaigns_message_flow_run_id_6195a473": ["flow_run"],
    "campaigns_message_flow_step_id_0edaf856": ["flow_step"],
    "campaigns_message_store_id_ae78ef4c": ["store"],
}
# A decision's message is found by its (message, decided_at) index, which leads with it.
DECISION_OLD = "campaigns_guardraildecision_message_id_3266122c"


def _swap(schema_editor, model, build: dict, drop: list[str]) -> None:
    concurrently = schema_editor.connection.vendor == "postgresql"
    for name, (fields, condition) in build.items():
        index = models.Index(fields=fields, condition=condition, name=name)
        extra = {"concurrently": True} if concurrently else {}  # a keyword PostgreSQL's editor alone takes
        schema_editor.execute(index.create_sql(model, schema_editor, **extra))
    for name in drop:
        quoted = schema_editor.quote_name(name)
        schema_editor.execute(f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}IF EXISTS {quoted}")


def forwards(apps, schema_editor):
    _swap(schema_editor, apps.get_model("campaigns", "Message"), NEW, list(OLD))
    _swap(schema_editor, apps.get_model("campaigns", "GuardrailDecision"), {}, [DECISION_OLD])


def backwards(apps, schema_editor):
    old = {name: (fields, None) for name, fields in OLD.items()}
    _swap(schema_editor, apps.get_model("campaigns", "Message"), old, list(NEW))
    decision = {DECISION_OLD: (["message"], None)}
    _swap(schema_editor, apps.get_model("campaigns", "GuardrailDecision"), decision, [])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("campaigns", "0020_customer_delete_recounts_days"),
        ("customers", "0022_event_customer_index_covers_product"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="guardraildecision",
                    name="message",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="decisions",
                        to="campaigns.message",
                    ),
                ),
                migrations.RemoveIndex(
                    model_name="message",
                    name="campaigns_m_status_ef66a4_idx",
                ),
                migrations.RemoveIndex(
                    model_name="message",
                    name="campaigns_m_status_9fb522_idx",
                ),
                migrations.RemoveIndex(
                    model_name="message",
                    name="campaigns_m_provide_cff9eb_idx",
                ),
                migrations.AlterField(
                    model_name="message",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=campaigns.models.outbox.set_null_recounted,
                        related_name="messages",
                        to="campaigns.campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="flow_run",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=campaigns.models.outbox.set_null_recounted,
                        related_name="messages",
                        to="campaigns.flowrun",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="flow_step",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=campaigns.models.outbox.set_null_recounted,
                        related_name="messages",
                        to="campaigns.flowstep",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="store",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="customers.store",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("status__in", ["pending", "held", "queued", "sending"])),
                        fields=["status", "send_after"],
                        name="message_waiting",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("status", "sent")),
                        fields=["sent_at"],
                        name="message_awaiting_receipt",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("status__in", ["failed", "suppressed", "undelivered"])),
                        fields=["status"],
                        name="message_stopped",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("provider_sid", ""), _negated=True),
                        fields=["provider_sid"],
                        name="message_provider_sid",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("campaign__isnull", False)),
                        fields=["campaign"],
                        name="message_campaign",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("flow_run__isnull", False)),
                        fields=["flow_run"],
                        name="message_flow_run",
                    ),
                ),
                migrations.AddIndex(
                    model_name="message",
                    index=models.Index(
                        condition=models.Q(("flow_step__isnull", False)),
                        fields=["flow_step"],
                        name="message_flow_step",
                    ),
                ),
            ],
        ),
    ]
