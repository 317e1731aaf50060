"""Engagement tiers by the last SMS click: one definition for segments and the sending caps."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q

HOT_DAYS = 14
COLD_AFTER_DAYS = 60


def cold_since(*, now: datetime, cold_after_days: int = COLD_AFTER_DAYS) -> datetime:
    return now - timedelta(days=cold_after_days)


def is_cold(
    last_sms_click_at: datetime | None, *, now: datetime, cold_after_days: int = COLD_AFTER_DAYS
) -> bool:
    """Cold: no SMS click in the last `cold_after_days` (never clicked counts as no click)."""
    since = cold_since(now=now, cold_after_days=cold_after_days)
    return last_sms_click_at is None or last_sms_click_at < since


def engagement_tier_q(tier: str, *, now: datetime, cold_after_days: int = COLD_AFTER_DAYS) -> Q:
    hot_since = now - timedelta(days=HOT_DAYS)
    warm_since = cold_since(now=now, cold_after_days=cold_after_days)
    if tier == "hot":
        return Q(last_sms_click_at__gte=hot_since)
    if tier == "warm":
        return Q(last_sms_click_at__gte=warm_since, last_sms_click_at__lt=hot_since)
    return Q(last_sms_click_at__lt=warm_since) | Q(last_sms_click_at__isnull=True)


def engagement_tier(
    last_sms_click_at: datetime | None, *, now: datetime, cold_after_days: int = COLD_AFTER_DAYS
) -> str:
    """"hot", "warm" or "cold" for one customer: the same windows as `engagement_tier_q`."""
    if last_sms_click_at is not None and last_sms_click_at >= now - timedelta(days=HOT_DAYS):
        return "hot"
    if not is_cold(last_sms_click_at, now=now, cold_after_days=cold_after_days):
        return "warm"
    return "cold"
