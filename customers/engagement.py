"""Engagement tiers by the last SMS click: one definition, and its labels, for segments, the
sending caps, the customer page and the dashboard.

Hot: a click within the store's `hot_days`; Warm: the last click longer ago but within its
`cold_after_days`; Cold: no click in `cold_after_days` (never clicked counts as no click).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from django.db.models import Q

HOT_DAYS = 14
COLD_AFTER_DAYS = 60
TIERS = ("hot", "warm", "cold")


class Windows(Protocol):
    """A store, or anything with its two engagement windows."""

    hot_days: int
    cold_after_days: int


def cold_since(*, now: datetime, cold_after_days: int = COLD_AFTER_DAYS) -> datetime:
    return now - timedelta(days=cold_after_days)


def is_cold(
    last_sms_click_at: datetime | None, *, now: datetime, cold_after_days: int = COLD_AFTER_DAYS
) -> bool:
    """Cold: no SMS click in the last `cold_after_days` (never clicked counts as no click)."""
    since = cold_since(now=now, cold_after_days=cold_after_days)
    return last_sms_click_at is None or last_sms_click_at < since


def engagement_tier_q(tier: str, *, now: datetime, store: Windows) -> Q:
    hot_since = now - timedelta(days=store.hot_days)
    warm_since = cold_since(now=now, cold_after_days=store.cold_after_days)
    if tier == "hot":
        return Q(last_sms_click_at__gte=hot_since)
    if tier == "warm":
        return Q(last_sms_click_at__gte=warm_since, last_sms_click_at__lt=hot_since)
    return Q(last_sms_click_at__lt=warm_since) | Q(last_sms_click_at__isnull=True)


def engagement_tier(last_sms_click_at: datetime | None, *, now: datetime, store: Windows) -> str:
    """"hot", "warm" or "cold" for one customer: the same windows as `engagement_tier_q`."""
    if last_sms_click_at is not None and last_sms_click_at >= now - timedelta(days=store.hot_days):
        return "hot"
    if not is_cold(last_sms_click_at, now=now, cold_after_days=store.cold_after_days):
        return "warm"
    return "cold"


def tier_labels(store: Windows) -> dict[str, str]:
    """Each tier's name with the store's own windows, e.g. "Warm: last click 15–60 days ago"."""
    hot, cold = store.hot_days, store.cold_after_days
    return {
        "hot": f"Hot: clicked in the last {hot} days",
        "warm": f"Warm: last click {hot + 1}–{cold} days ago",
        "cold": f"Cold: no click in {cold}+ days",
    }


def tier_descriptions(store: Windows) -> dict[str, str]:
    hot, cold = store.hot_days, store.cold_after_days
    return {
        "hot": f"Clicked an SMS link in the last {hot} days.",
        "warm": f"Last clicked an SMS link between {hot + 1} and {cold} days ago.",
        "cold": f"No SMS click in the last {cold} days (or never).",
    }
