"""Each customer's best local hour to get a text, from when they clicked texts and ordered after one,
pulled toward the store's own pattern when they have few of either.

The counts come from one grouped query (customer × local hour of the day), are added to `PRIOR`
clicks' worth of the store's pattern, and the peak is their hour. Judged on the last
60 days, which the counts leave out: the share of those clicks and orders within an hour of the
customer's chosen hour, against one fixed hour for everyone (the store's peak).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Exists, Func, IntegerField, OuterRef, Q
from django.db.models.functions import TruncDate

from customers.models import Customer, CustomerPrediction, Event, PredictionRun, Store
from customers.predictions.scores import column_write, stored_segments_note

PRIOR = 5.0  # the store's pattern weighs as much as this many of the customer's own
AFTER_TEXT = timedelta(hours=24)  # an order this soon after a text counts as a reply to it
JUDGE_DAYS = 60
MIN_JUDGED = 50
MARGIN = 0.01  # own hours are used only when they catch a point more than one fixed hour


def _counts(
    store: Store, until: datetime, since: datetime | None = None, customer_ids: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Customer ids and their [n, 24] counts of clicks and after-text orders by local hour."""
    texted = Event.objects.filter(
        customer=OuterRef("customer"),
        type="sms_sent",
        occurred_at__lte=OuterRef("occurred_at"),
        occurred_at__gt=OuterRef("occurred_at") - AFTER_TEXT,
    )
    events = Event.objects.filter(store_id=store.pk, occurred_at__lt=until).filter(
        Q(type="sms_clicked") | Q(Q(type="order_placed") & Exists(texted))
    )
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if customer_ids is not None:
        events = events.filter(customer_id__in=customer_ids)
    # PostgreSQL gives each event's hour in the customer's timezone, summer time included; SQLite has
    # no timezones: it groups UTC hours by day too, and each day's offset moves them here
    by_day = connection.vendor != "postgresql"
    keys = ("customer_id", "hour", *(("day",) if by_day else ()))
    events = events.annotate(hour=LocalHour("occurred_at", "customer__timezone"))
    if by_day:
        events = events.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
    rows = list(events.values(*keys).order_by().annotate(n=Count("pk")).values_list(*keys, "n"))
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 24))
    data = np.array([(r[0], r[1], r[-1]) for r in rows], dtype=np.int64)
    ids, index = np.unique(data[:, 0], return_inverse=True)
    shift = _offsets(ids[index], [r[2] for r in rows]) if by_day else 0
    counts = np.zeros((len(ids), 24))
    np.add.at(counts, (index, (data[:, 1] + shift) % 24), data[:, 2])
    return ids, counts


class LocalHour(Func):
    """The hour of a moment in a timezone named by another column."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        (at, at_params), (zone, zone_params) = (compiler.compile(e) for e in self.source_expressions)
        return f"CAST(EXTRACT(HOUR FROM {at} AT TIME ZONE {zone}) AS integer)", [*at_params, *zone_params]

    def as_sql(self, compiler, connection, **extra):
        at, params = compiler.compile(self.source_expressions[0])
        return f"CAST(strftime('%%H', {at}) AS integer)", params


def _offsets(ids: np.ndarray, days: list[date]) -> np.ndarray:
    """Each row's customer's UTC offset in whole hours at noon UTC of its day (one lookup per timezone
    and day, not per row)."""
    zones = dict(Customer.objects.filter(pk__in=set(ids.tolist())).values_list("pk", "timezone"))

    @cache
    def offset(name: str, day: date) -> int:
        noon = datetime.combine(day, time(12), tzinfo=UTC)
        return int((noon.astimezone(ZoneInfo(name)).utcoffset() or timedelta()).total_seconds() // 3600)

    found = [offset(zones[pk], day) for pk, day in zip(ids.tolist(), days, strict=True)]
    return np.array(found, dtype=np.int64)


def choose(counts: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """The peak of own counts plus the store's pattern, each hour read with half of its neighbours
    (a reader at 18:55 and one at 19:05 agree on the evening)."""
    weighted = counts + PRIOR * pattern
    smooth = weighted + 0.5 * (np.roll(weighted, 1, axis=1) + np.roll(weighted, -1, axis=1))
    return np.argmax(smooth, axis=1)


def _pattern(counts: np.ndarray) -> np.ndarray:
    total = counts.sum(axis=0) + 1.0
    return total / total.sum()


def _near(hours: np.ndarray, counts: np.ndarray) -> float:
    """Share of the counts within an hour of each row's hour."""
    near = sum(counts[np.arange(len(hours)), (hours + d) % 24] for d in (-1, 0, 1))
    return float(near.sum() / counts.sum())


def judge(store: Store, now: datetime) -> dict:
    cut = now - timedelta(days=JUDGE_DAYS)
    before_ids, before = _counts(store, cut)
    later_ids, later = _counts(store, now, since=cut)
    title = "Best hour to text (clicks and orders after texts)"
    known = np.isin(later_ids, before_ids)
    if later[known].sum() < MIN_JUDGED:
        why = f"needs {MIN_JUDGED} clicks or orders after texts in the last {JUDGE_DAYS} days; you have "
        return {
            "title": title,
            "customers": int(known.sum()),
            "used": False,
            "why": why + f"{int(later[known].sum())} from customers seen before",
        }
    pattern = _pattern(before)
    chosen = choose(before, pattern)[np.searchsorted(before_ids, later_ids[known])]
    fixed = np.full(len(chosen), int(np.argmax(pattern)))
    model, rule = _near(chosen, later[known]), _near(fixed, later[known])
    return {
        "title": title,
        "customers": int(known.sum()),
        "model": {"share_near": round(model, 4)},
        "rule": {"share_near": round(rule, 4)},
        "used": bool(model >= rule + MARGIN),
        "why": f"{model:.0%} of later clicks and orders within an hour of the chosen hour, "
        f"against {rule:.0%} at one fixed hour ({int(np.argmax(pattern))}:00); used from one point more",
    }


def best_hours_write(*, store: Store, run: PredictionRun, now: datetime) -> dict:
    """Judge, and where each customer's own hour beats one fixed hour, write it; else empty it."""
    verdict = judge(store, now)
    if verdict["used"]:
        ids, counts = _counts(store, now)
        pattern = _pattern(counts)
        verdict["pattern"] = [round(float(share), 4) for share in pattern]  # for the customer page's reasons
    with transaction.atomic():
        run.evaluation["best_hour"] = verdict
        run.save(update_fields=["evaluation"])
        CustomerPrediction.objects.filter(store=store, best_hour__isnull=False).update(best_hour=None)
        stored_segments_note(store)
        if verdict["used"]:
            column_write("best_hour", "smallint", ids, choose(counts, pattern))
    return verdict


def best_hour_reasons(*, customer_id: int, hour: int, run: PredictionRun) -> list[str]:
    """A customer's best hour in words, strongest first: their own clicks and orders after texts near
    it, their own busiest hour where the store's pattern pulled them off it, and that pattern."""
    ids, counts = _counts(run.store, run.started_at, customer_ids=[customer_id])
    own = counts[0] if len(ids) else np.zeros(24)
    total, near = int(own.sum()), int(sum(own[(hour + d) % 24] for d in (-1, 0, 1)))
    reasons = [
        f"{near} of their {total} clicks and orders after texts within an hour of {hour}:00"
        if total
        else "no clicks or orders after texts of their own yet"
    ]
    busiest = int(np.argmax(own))
    if total and abs((busiest - hour + 12) % 24 - 12) > 1:
        reasons.append(
            f"their own busiest hour is {busiest}:00 ({int(own[busiest])}), too few to outweigh the store's"
        )
    pattern = run.evaluation.get("best_hour", {}).get("pattern")
    if pattern:
        peak = int(np.argmax(pattern))
        reasons.append(
            f"the store's customers click and order most around {peak}:00 "
            f"(that pattern weighs as much as {PRIOR:.0f} of their own)"
        )
    return reasons[:3]
