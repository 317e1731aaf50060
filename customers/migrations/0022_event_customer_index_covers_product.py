from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0021_list_health"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                fields=["customer", "type", "occurred_at"],
                include=("product", "store"),
                name="event_customer_type_time",
            ),
        ),
        migrations.RemoveIndex(
            model_name="event",
            name="customers_e_custome_b160e5_idx",
        ),
    ]
