"""django-q2 task functions for flows: thin, take ids, safe to run twice."""

from __future__ import annotations

from django.utils import timezone

from . import triggers
from .report_tasks import orders_attribute_task


def events_check_task(store_id: int, event_ids: list[int]) -> int:
    return triggers.events_check_queued(store_id=store_id, event_ids=event_ids, now=timezone.now())


def events_recorded_task(store_id: int, event_ids: list[int]) -> int:
    """What a stored batch sets off: its flow triggers, then the credit of its orders."""
    checked = events_check_task(store_id, event_ids)
    orders_attribute_task(store_id, event_ids)
    return checked


def product_changes_check_task(store_id: int, change_ids: list[int]) -> int:
    return triggers.product_changes_check(store_id=store_id, change_ids=change_ids, now=timezone.now())
