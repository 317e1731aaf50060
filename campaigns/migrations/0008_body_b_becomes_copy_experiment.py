"""Each step's old A/B text (body_b) becomes a running copy experiment: A the step's text, B body_b."""

from django.db import migrations
from django.utils import timezone


def forwards(apps, schema_editor):
    FlowStep = apps.get_model("campaigns", "FlowStep")
    Experiment = apps.get_model("campaigns", "Experiment")
    Variant = apps.get_model("campaigns", "ExperimentVariant")
    now = timezone.now()
    for step in FlowStep.objects.exclude(body_b="").select_related("flow"):
        experiment = Experiment.objects.create(
            store_id=step.flow.store_id,
            name=f"{step.flow.name}: step {step.position} copy",
            lever="copy",
            flow_step=step,
            started_at=now,
        )
        Variant.objects.bulk_create(
            [
                Variant(experiment=experiment, key="A", name="Original", is_control=True, share=50),
                Variant(experiment=experiment, key="B", name="Variant B", share=50, body=step.body_b),
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0007_experiments_and_attribution")]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="flowstep", name="body_b"),
    ]
