"""django-q2 task functions for flows: thin, take ids, safe to run twice."""

from __future__ import annotations

from django.utils import timezone

from customers.models import Store

from . import flow_engine, triggers


def events_check_task(store_id: int, event_ids: list[int]) -> int:
    return triggers.events_check(store_id=store_id, event_ids=event_ids, now=timezone.now())


def product_changes_check_task(store_id: int, change_ids: list[int]) -> int:
    return triggers.product_changes_check(store_id=store_id, change_ids=change_ids, now=timezone.now())


def tick_task() -> str:
    report = flow_engine.tick(now=timezone.now())
    return f"{report.runs_advanced} runs advanced, {report.messages_created} messages created"


def date_triggers_task() -> int:
    now = timezone.now()
    return sum(
        triggers.date_triggers_check(store_id=store_id, now=now)
        for store_id in Store.objects.values_list("id", flat=True)
    )
