"""The django-q2 schedules the app runs on; installing them again changes nothing."""

from __future__ import annotations

from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "flows: tick",
        "func": "campaigns.flow_tasks.tick_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # Hourly, so each customer's date comes round in their own timezone; a run is created once
        # per trigger key however often this runs.
        "name": "flows: date-based triggers",
        "func": "campaigns.flow_tasks.date_triggers_task",
        "schedule_type": Schedule.HOURLY,
    },
    {
        # Messages a crashed worker left `sending`, and sent ones whose status callback never came.
        "name": "sending: reconcile",
        "func": "campaigns.send_tasks.reconcile",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        # Ingestion adds each batch to the stored metrics; this rebuilds them from history.
        "name": "customers: recompute metrics",
        "func": "customers.tasks.metrics_recompute_all",
        "schedule_type": Schedule.DAILY,
    },
]


def schedules_install(*, using: str = "default") -> list[str]:
    """Creates or corrects the schedules; returns the names created."""
    created = []
    for spec in SCHEDULES:
        values = {k: v for k, v in spec.items() if k != "name"}
        _, was_created = Schedule.objects.using(using).update_or_create(name=spec["name"], defaults=values)
        if was_created:
            created.append(spec["name"])
    return created
