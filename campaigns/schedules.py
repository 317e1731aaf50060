"""The django-q2 schedules the app runs on; installing them again changes nothing."""

from __future__ import annotations

from django_q.models import Schedule

SCHEDULES = [
    {
        # Queues each stage of the tick (campaigns/tick.py) as its own task.
        "name": "tick",
        "func": "campaigns.tick.tick_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # Orders and opt-outs credited to texts, then experiments decided (opt-out stops first).
        "name": "reports: attribution and decisions",
        "func": "campaigns.tasks.reports_tick_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        # Ingestion adds each batch to the stored metrics; this rebuilds them from history.
        "name": "customers: recompute metrics",
        "func": "customers.tasks.metrics_recompute_all",
        "schedule_type": Schedule.DAILY,
    },
    {
        # Stored segments' membership rows, read by counts and member pages (never by sends), and
        # the live segments' counts the lists show.
        "name": "customers: refresh stored segments",
        "func": "customers.tasks.segments_refresh_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # A shop's webhooks whose queued task was lost (customers/connections/process.py).
        "name": "customers: webhook deliveries left received",
        "func": "customers.tasks.webhook_deliveries_sweep_task",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
]
# Earlier schedules whose work is now a stage of the tick.
REPLACED = ["flows: tick", "flows: date-based triggers", "sending: reconcile"]


def schedules_install(*, using: str = "default") -> list[str]:
    """Creates or corrects the schedules and removes replaced ones; returns the names created."""
    Schedule.objects.using(using).filter(name__in=REPLACED).delete()
    created = []
    for spec in SCHEDULES:
        values = {k: v for k, v in spec.items() if k != "name"}
        _, was_created = Schedule.objects.using(using).update_or_create(name=spec["name"], defaults=values)
        if was_created:
            created.append(spec["name"])
    return created
