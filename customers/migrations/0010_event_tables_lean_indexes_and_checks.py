import django.db.models.deletion
from django.db import migrations, models

from customers import derived


# The events table keeps its foreign keys: only the single-column indexes the composite ones
# already lead with are dropped, without re-checking every stored event's keys.
EVENT_INDEXES = {
    "customers_event_customer_id_85be2d97": "customer_id",
    "customers_event_product_id_4111cb9d": "product_id",
    "customers_event_store_id_5e72c660": "store_id",
}


def triggers_remove(apps, schema_editor):
    # SQLite rebuilds a table to drop a foreign key; a trigger naming the old table would break it.
    derived.triggers_remove(schema_editor.connection)


def triggers_install(apps, schema_editor):
    derived.triggers_install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_segment_membership"),
    ]

    operations = [
        migrations.RunPython(triggers_remove, triggers_install),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="customer",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="customers.customer",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="product",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="customers.product",
                    ),
                ),
                migrations.AlterField(
                    model_name="event",
                    name="store",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="customers.store",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "customers_event" ("{column}")',
                )
                for name, column in EVENT_INDEXES.items()
            ],
        ),
        migrations.AlterField(
            model_name="eventitem",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.customer",
            ),
        ),
        migrations.AlterField(
            model_name="eventitem",
            name="event",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.event",
            ),
        ),
        migrations.AlterField(
            model_name="eventitem",
            name="store",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.store",
            ),
        ),
        migrations.AlterField(
            model_name="eventlast",
            name="customer",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.customer",
            ),
        ),
        migrations.AlterField(
            model_name="eventlast",
            name="store",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="customers.store",
            ),
        ),
        migrations.RunPython(triggers_install, triggers_remove),
    ]
