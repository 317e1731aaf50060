"""The reports stage of the tick, and the tasks that run it: credit orders and opt-outs, then decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from customers.models import Event

from .attribution import attributions_refresh, opt_outs_attribute
from .decisions import experiments_evaluate


@dataclass
class ReportsReport:
    orders_credited: int
    opt_outs_tied: int
    decisions: int


def reports_tick(*, now: datetime) -> ReportsReport:
    return ReportsReport(
        orders_credited=attributions_refresh(now=now),
        opt_outs_tied=opt_outs_attribute(now=now),
        decisions=experiments_evaluate(now=now),
    )


def reports_tick_task() -> None:
    reports_tick(now=timezone.now())


def orders_attribute_task(store_id: int, event_ids: list[int]) -> int:
    """Queued when a store's events arrive: an order is credited within seconds, not at the next tick."""
    if not Event.objects.filter(pk__in=event_ids, type="order_placed").exists():
        return 0
    return attributions_refresh(now=timezone.now(), store_ids=[store_id])


def opt_outs_attribute_task(store_id: int) -> int:
    return opt_outs_attribute(now=timezone.now(), store_ids=[store_id])
