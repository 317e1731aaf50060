"""django-q2 task functions: thin, take ids, safe to run twice; each calls a service.

Their dotted paths are stored in queued tasks and schedules: `campaigns/__init__.py` keeps the
paths they had before working.
"""

from __future__ import annotations

from django.utils import timezone

from campaigns.flows import event_triggers, product_triggers
from campaigns.inbound.signup import confirmations_send
from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.stage import reports_tick
from campaigns.reports.uplift import prediction_run_finish
from campaigns.sending.deliver import messages_send
from campaigns.sending.queue import sends_fan_out
from customers.models import Event

# --- sending ----------------------------------------------------------------------------------


def send_batch(message_ids: list[int]) -> int:
    return messages_send(message_ids=message_ids, now=timezone.now())


def send_fan_out(message_ids: list[int]) -> int:
    return sends_fan_out(message_ids=message_ids)


# --- flows ------------------------------------------------------------------------------------


def events_check_task(store_id: int, event_ids: list[int]) -> int:
    return event_triggers.events_check_queued(store_id=store_id, event_ids=event_ids, now=timezone.now())


def events_recorded_task(store_id: int, event_ids: list[int]) -> int:
    """What a stored batch sets off: its flow triggers, then the credit of its orders."""
    checked = events_check_task(store_id, event_ids)
    orders_attribute_task(store_id, event_ids)
    return checked


def product_changes_check_task(store_id: int, change_ids: list[int]) -> int:
    now = timezone.now()
    return product_triggers.product_changes_check_queued(store_id=store_id, change_ids=change_ids, now=now)


# --- reports ----------------------------------------------------------------------------------


def reports_tick_task() -> None:
    reports_tick(now=timezone.now())


def orders_attribute_task(store_id: int, event_ids: list[int]) -> int:
    """Queued when a store's events arrive: an order is credited within seconds, not at the next tick."""
    if not Event.objects.filter(pk__in=event_ids, type="order_placed").exists():
        return 0
    return attributions_refresh(now=timezone.now(), store_ids=[store_id])


def opt_outs_attribute_task(store_id: int) -> int:
    return opt_outs_attribute(now=timezone.now(), store_ids=[store_id])


# --- consent ----------------------------------------------------------------------------------


def confirmations_send_task(record_ids: list[int]) -> int:
    return len(confirmations_send(record_ids=record_ids, now=timezone.now()))


# --- predictions ------------------------------------------------------------------------------


def predictions_refresh_task(run_id: int) -> int:
    """Daily, from the tick: one store's predictions retrained and its customers scored, as of the
    moment the tick started the run."""
    return prediction_run_finish(run_id=run_id)
