"""List health: everyone, each engagement tier and each predicted churn band, as customers and
reachable by SMS. Counted in one pass over a store's customers by the tick and kept with when it
was counted, so the dashboard reads a few numbers instead of a pass over the whole list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q

from customers.engagement import TIERS, engagement_tier_q
from customers.models import Customer, ListHealth, Store
from customers.segments import Reach, reaches, rules_q
from customers.segments.schema import CHURN_BANDS

# a count older than this (the tick stopped) is not shown: the page counts live instead
FRESH_FOR = timedelta(minutes=10)


@dataclass(frozen=True)
class Health:
    groups: dict[str, Reach]  # "all", each tier, "churn:<band>"
    taken_at: datetime


def health_groups(store: Store, *, now: datetime) -> dict[str, Q]:
    groups = {"all": Q()} | {tier: engagement_tier_q(tier, now=now, store=store) for tier in TIERS}
    for band in CHURN_BANDS:
        rule = {"type": "metric", "metric": "churn_risk", "op": "eq", "value": band}
        groups[f"churn:{band}"] = rules_q(store, rule, now=now)
    return groups


def list_health_count(store: Store, *, now: datetime) -> Health:
    """Counted live at `now`."""
    return Health(reaches(Customer.objects.filter(store=store), health_groups(store, now=now)), now)


def list_health_refresh(*, now: datetime, store_ids: list[int] | None = None) -> int:
    """Count every store's (or those of `store_ids`) list health at `now` and keep it."""
    stores = Store.objects.all() if store_ids is None else Store.objects.filter(pk__in=store_ids)
    counted = 0
    for store in stores.order_by("pk"):
        health = list_health_count(store, now=now)
        counts = {name: [r.customers, r.reachable] for name, r in health.groups.items()}
        ListHealth.objects.update_or_create(store=store, defaults={"counts": counts, "taken_at": now})
        counted += 1
    return counted


def list_health(store: Store, *, now: datetime) -> Health:
    """The kept count when it was taken within `FRESH_FOR` before `now` and covers the same groups;
    otherwise counted live."""
    kept = ListHealth.objects.filter(
        store=store, taken_at__gt=now - FRESH_FOR, taken_at__lte=now
    ).first()
    names = health_groups(store, now=now).keys()
    if kept is None or set(kept.counts) != set(names):
        return list_health_count(store, now=now)
    return Health({name: Reach(*kept.counts[name]) for name in names}, kept.taken_at)
