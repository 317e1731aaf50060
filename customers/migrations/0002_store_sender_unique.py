"""A sender belongs to one store: the number and the Messaging Service become unique.

Stores that already share a sender are not changed here (which one should keep it is the
owners' call): the migration stops and names them, so they can be given their own senders.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count


def refuse_shared_senders(apps, schema_editor) -> None:
    Store = apps.get_model("customers", "Store")
    problems = []
    for field in ("from_number", "messaging_service_sid"):
        shared = (
            Store.objects.exclude(**{field: ""})
            .values(field)
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .values_list(field, flat=True)
        )
        for value in shared:
            names = ", ".join(
                f"{s.brand_name} (id {s.pk})" for s in Store.objects.filter(**{field: value}).order_by("pk")
            )
            problems.append(f"{field} {value} is used by {names}")
    if problems:
        raise RuntimeError(
            "A sender belongs to one store, but some stores share one:\n  "
            + "\n  ".join(problems)
            + "\nGive each store its own number / Messaging Service (admin: Stores → Sending), "
            "then run migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(refuse_shared_senders, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="store",
            constraint=models.UniqueConstraint(
                condition=~models.Q(from_number=""), fields=("from_number",), name="store_from_number_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="store",
            constraint=models.UniqueConstraint(
                condition=~models.Q(messaging_service_sid=""),
                fields=("messaging_service_sid",),
                name="store_messaging_service_unique",
            ),
        ),
    ]
