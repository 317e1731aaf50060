"""The reports' daily rollups: each closed store day's catalogue figures per group, counted by the
catalogue's own `figures` and kept exact by marks (models/rollups.py).

A report's period is read as its closed days from the rollup (counted again first where marked or
never counted) plus the stretches around them (the part of the first day before the period, the
last day or two) counted live by the same `figures`. So every figure equals the catalogue's;
recipients, a count of people, is not kept (it does not add up across days) and is counted live
by `metrics.recipients`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Max, Min, Q

from campaigns.models import Message, ReportDay, ReportDayCounted, ReportDayMark
from campaigns.models.rollups import CLOSED_AFTER
from campaigns.reports.metrics import PRICE_PLACES, Figures, figures, messages_in
from campaigns.reports.reach import reach_recount, recipients_now
from customers.models import Store

KEYS = ("step_id", "run_flow_id", "campaign_id", "variant", "kind")
COUNTS = ("sent", "delivered", "failed", "clicks", "clicked", "segments", "opt_outs", "orders", "revenue")
DAY = timedelta(days=1)
# The longest period a report offers: the tick keeps its closed days counted.
KEPT_FRESH = timedelta(days=90)


@dataclass(frozen=True)
class Part:
    """The figures of one group's texts of one day (or of the day's live stretch)."""

    day: date
    step_id: int | None
    run_flow_id: int | None
    campaign_id: int | None
    variant: str
    kind: str
    figures: Figures


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz)


def closed_days(start: datetime, end: datetime, tz: tzinfo, now: datetime) -> list[date]:
    """The whole store days in [start, end) whose texts are all past marking (`CLOSED_AFTER`)."""
    first = start.astimezone(tz).date()
    if _midnight(first, tz) < start:
        first += DAY
    last = min(end, now - CLOSED_AFTER).astimezone(tz).date() - DAY
    return [first + n * DAY for n in range((last - first).days + 1)]


def _spans(days: list[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days, as (first, last)."""
    spans: list[tuple[date, date]] = []
    for day in days:
        if spans and spans[-1][1] + DAY == day:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def _counted(store: Store, start: datetime, end: datetime, tz: tzinfo) -> dict[tuple, Figures]:
    cohort = messages_in(store_ids=[store.pk], start=start, end=end, marketing_only=False)
    return figures(cohort, by="rollup", tz=tz, people=False)


def report_days_refresh(*, store: Store, days: list[date], tz: tzinfo, now: datetime) -> int:
    """Count again the days of `days` that are marked or were never counted; how many were."""
    if not days:
        return 0
    first, end = _midnight(days[0], tz) - timedelta(hours=1), _midnight(days[-1] + DAY, tz)
    marks = ReportDayMark.objects.filter(store=store, hour__gte=first, hour__lt=end)
    marked: dict[int, set[date]] = {}
    for pk, hour in marks.values_list("pk", "hour"):
        marked[pk] = {hour.astimezone(tz).date(), (hour + timedelta(minutes=59)).astimezone(tz).date()}
    counted = set(ReportDayCounted.objects.filter(store=store, day__in=days).values_list("day", flat=True))
    dirty = set().union(*marked.values()) if marked else set()
    stale = [d for d in days if d in dirty or d not in counted]
    if not stale:
        return 0
    rows = [
        ReportDay(store=store, day=key[0], **dict(zip(KEYS, key[1:], strict=True)), **_kept(row))
        for first, last in _spans(stale)
        for key, row in _counted(store, _midnight(first, tz), _midnight(last + DAY, tz), tz).items()
    ]
    done = set(stale)
    with transaction.atomic():
        # One refresh of a store writes at a time; message inserts (key-share locks) go on.
        Store.objects.select_for_update(no_key=True).filter(pk=store.pk).first()
        ReportDay.objects.filter(store=store, day__in=stale).delete()
        ReportDay.objects.bulk_create(rows, batch_size=1000)
        ReportDayCounted.objects.bulk_create(
            [ReportDayCounted(store=store, day=d, counted_at=now) for d in stale],
            update_conflicts=True, unique_fields=["store", "day"], update_fields=["counted_at"],
        )  # fmt: skip
        spans = Q(pk__in=[])
        for first, last in _spans(stale):
            spans |= Q(created_at__gte=_midnight(first, tz), created_at__lt=_midnight(last + DAY, tz))
        # Up to the store's last counted day, even if an earlier `now` is asked about later.
        before = _midnight(_last_counted(store) + DAY, tz)
        reach_recount(store=store, texts=spans, before=before, stale=stale, tz=tz)
        # Only the marks read above, and only where every day they touch was counted again.
        ReportDayMark.objects.filter(pk__in=[pk for pk, hit in marked.items() if hit <= done]).delete()
    return len(stale)


def report_days_refresh_stores(*, now: datetime, store_ids: list[int] | None = None) -> int:
    """Each store's closed days of the longest report period, counted again where marked or never
    counted (the tick's part, so a page rarely waits for it); how many days were."""
    stores = Store.objects.all() if store_ids is None else Store.objects.filter(pk__in=store_ids)
    counted = 0
    for store in stores:
        tz = ZoneInfo(store.default_timezone)
        days = closed_days(now - KEPT_FRESH, now, tz, now)
        counted += report_days_refresh(store=store, days=days, tz=tz, now=now)
    return counted


def _kept(row: Figures) -> dict:
    return {name: getattr(row, name) for name in COUNTS} | {"refused": row.extra.get("refused", 0)}


def _figures(row: ReportDay, price: Decimal) -> Figures:
    kept = {name: getattr(row, name) for name in COUNTS}
    cost = (Decimal(row.segments) * price).quantize(PRICE_PLACES)
    return Figures(key=(), cost=cost, extra={"refused": row.refused}, **kept)


@dataclass
class Period:
    """A report period of one store as the rollup reads it: every group's figures per day, its
    closed days and the live stretches around them."""

    store: Store
    parts: list[Part]
    days: list[date]
    live: list[tuple[datetime, datetime]]
    # Recipients come from `ReportReach` when the closed days run to the last closed day.
    reach: bool

    def recipients(self, wanted: dict[str, tuple], live: Callable[[], dict]) -> dict[tuple, int]:
        """Recipients per group: `wanted` maps each group's reach key to its group; `live` counts
        them over the texts when the period is not one the reach serves."""
        if not self.reach:
            counted = live()
            return {group: counted.get(group, 0) for group in wanted.values()}
        found = recipients_now(store=self.store, keys=list(wanted), first_day=self.days[0], live=self.live)
        return {group: found.get(key, 0) for key, group in wanted.items()}


def store_period(store: Store, *, start: datetime | None, end: datetime, tz: tzinfo, now: datetime) -> Period:
    """The store's texts created in [start, end) (from its first text without `start`): closed days
    from the rollup, counted again first where marked or never counted, the rest counted live."""
    if start is None:
        first = Message.objects.filter(store=store).aggregate(at=Min("created_at"))["at"]
        start = _midnight((first or end).astimezone(tz).date(), tz)
    days = closed_days(start, end, tz, now)
    report_days_refresh(store=store, days=days, tz=tz, now=now)
    price = store.price_per_segment
    kept = ReportDay.objects.filter(store=store, day__gte=days[0], day__lte=days[-1]) if days else []
    parts = [Part(r.day, *(getattr(r, k) for k in KEYS), _figures(r, price)) for r in kept]
    live = [(start, end)]
    if days:
        live = [(start, _midnight(days[0], tz)), (_midnight(days[-1] + DAY, tz), end)]
    live = [(a, b) for a, b in live if a < b]
    for a, b in live:
        parts += [Part(*key, row) for key, row in _counted(store, a, b, tz).items()]
    reach = bool(days) and days[-1] == _last_counted(store)
    return Period(store, parts, days, live, reach)


def _last_counted(store: Store) -> date:
    return ReportDayCounted.objects.filter(store=store).aggregate(last=Max("day"))["last"]


def regroup(parts: list[Part], key: Callable[[Part], tuple | None]) -> dict[tuple, Figures]:
    """The parts summed per `key` (parts whose key is None left out)."""
    found: dict[tuple, Figures] = {}
    for part in parts:
        k = key(part)
        if k is not None:
            row = found.setdefault(k, Figures(key=k, extra={"refused": 0}))
            row.add(part.figures)
            row.extra["refused"] += part.figures.extra.get("refused", 0)
    for row in found.values():
        row.recipients = row.clickers = 0  # people: counted live by whoever shows them
    return found
