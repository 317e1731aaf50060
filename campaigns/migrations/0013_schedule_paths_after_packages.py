"""Schedules store their task's dotted path: point the ones that moved into packages at the new one."""

from django.db import migrations

MOVED = {"campaigns.report_tasks.reports_tick_task": "campaigns.tasks.reports_tick_task"}


def forwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.using(schema_editor.connection.alias).filter(func=old).update(func=new)


def backwards(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for old, new in MOVED.items():
        Schedule.objects.using(schema_editor.connection.alias).filter(func=new).update(func=old)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0012_message_key_constraint"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
