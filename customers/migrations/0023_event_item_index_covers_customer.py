"""The event-item index covers the customer: who ordered a product in a window (a segment on a
product's property, e.g. its margin class) is read from the index alone, without visiting the rows.

Built before the old one is dropped, and on PostgreSQL concurrently, so the table takes writes and
every query keeps an index throughout.
"""

from django.db import migrations, models

FIELDS = ["store", "type", "product_external_id", "occurred_at", "event"]
NEW, OLD = "event_item_product_customer", "event_item_store_type_product"


def _swap(schema_editor, model, index: models.Index, drop: str) -> None:
    concurrently = schema_editor.connection.vendor == "postgresql"
    extra = {"concurrently": True} if concurrently else {}  # a keyword PostgreSQL's editor alone takes
    schema_editor.execute(index.create_sql(model, schema_editor, **extra))
    quoted = schema_editor.quote_name(drop)
    schema_editor.execute(f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}IF EXISTS {quoted}")


def forwards(apps, schema_editor):
    index = models.Index(fields=FIELDS, include=["customer"], name=NEW)
    _swap(schema_editor, apps.get_model("customers", "EventItem"), index, OLD)


def backwards(apps, schema_editor):
    _swap(schema_editor, apps.get_model("customers", "EventItem"), models.Index(fields=FIELDS, name=OLD), NEW)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0022_event_customer_index_covers_product"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.RemoveIndex(model_name="eventitem", name=OLD),
                migrations.AddIndex(
                    model_name="eventitem",
                    index=models.Index(fields=FIELDS, include=["customer"], name=NEW),
                ),
            ],
        ),
    ]
