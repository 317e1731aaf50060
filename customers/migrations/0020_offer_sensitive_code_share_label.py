"""Segments saved as "Offer-sensitive" with the code-share rule keep their rule, and say so in their
name: "Offer-sensitive" now means the offer tests' uplift where a store has them."""

from django.db import migrations

OLD_NAME, NEW_NAME = "Offer-sensitive", "Offer-sensitive (code share)"
DESCRIPTION = (
    "Half or more of their orders used a discount code: the rule this segment was saved with. The "
    "Offer-sensitive condition now uses the store's offer tests' uplift where it has them."
)
CODE_SHARE = {"discount_order_share"}
WITH_ORDERS = {"discount_order_share", "order_count"}


def _metrics(rules: dict) -> set[str]:
    return {child.get("metric") for child in rules.get("children", []) if isinstance(child, dict)}


def relabel(apps, schema_editor):
    Segment = apps.get_model("customers", "Segment")
    for segment in Segment.objects.filter(name=OLD_NAME).only("id", "rules"):
        if isinstance(segment.rules, dict) and _metrics(segment.rules) in (CODE_SHARE, WITH_ORDERS):
            Segment.objects.filter(pk=segment.pk).update(name=NEW_NAME, description=DESCRIPTION)


def unlabel(apps, schema_editor):
    Segment = apps.get_model("customers", "Segment")
    Segment.objects.filter(name=NEW_NAME, description=DESCRIPTION).update(
        name=OLD_NAME, description="Half or more of their orders used a discount code."
    )


class Migration(migrations.Migration):
    dependencies = [("customers", "0019_predictions")]

    operations = [migrations.RunPython(relabel, unlabel, elidable=True)]
