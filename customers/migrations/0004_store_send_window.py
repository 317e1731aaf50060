import datetime

from django.db import migrations, models


class Migration(migrations.Migration):
    """The store's `quiet_hours_*` fields always held the hours texts may go: name them so."""

    dependencies = [("customers", "0003_consent_refused_signup")]

    operations = [
        migrations.RenameField(model_name="store", old_name="quiet_hours_start", new_name="send_window_start"),
        migrations.RenameField(model_name="store", old_name="quiet_hours_end", new_name="send_window_end"),
        migrations.AlterField(
            model_name="store",
            name="send_window_start",
            field=models.TimeField(
                default=datetime.time(8, 0),
                help_text="Marketing texts go from this local time (the recipient's timezone), e.g. 08:00",
            ),
        ),
        migrations.AlterField(
            model_name="store",
            name="send_window_end",
            field=models.TimeField(
                default=datetime.time(21, 0),
                help_text="…until this local time, e.g. 21:00; later texts wait for the next morning",
            ),
        ),
    ]
