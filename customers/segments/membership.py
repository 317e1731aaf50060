"""Stored segments: their members kept as rows, for rules too heavy to count live. Counts and member
pages in the admin and the API read the rows; sends never do (`members()` is always live), so a text
never goes to someone who left the segment since the last refresh.

The rows are kept fresh incrementally, every minute (`segments_refresh`): the customers whose events
or profile changed since the last refresh (noted by triggers, `touches.py`) and those whose events
or dates crossed the edge of one of the rules' windows (`crossings.py`) are evaluated again, alone.
The full rebuild (`segment_refresh`) stays the reference, and runs whenever the incremental form
would not be exact: new or edited rules, a changed catalogue the rules read, a rank once any
customer changed, or a refresh that fell far behind. It goes through the store's customers a range
of ids at a time, so its cost grows with the store, not faster.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q, QuerySet

from customers.models import Customer, Segment, SegmentMember, Store
from customers.segments import InvalidRules, members
from customers.segments.compiler import Only
from customers.segments.crossings import crossing_queries, has_rank, reads_catalogue
from customers.segments.touches import touches_return, touches_take

logger = logging.getLogger(__name__)

# the first key of PostgreSQL's two-key advisory locks: "segment refresh"; the second is the segment
LOCK_NAMESPACE = 7_311
# customers per range of a full rebuild, and per list of a refresh's changed customers
RANGE = 50_000
IDS_AT_ONCE = 5_000
# a refresh this far behind rebuilds instead of sliding the windows customer by customer
MAX_SLIDE = timedelta(hours=6)


@dataclass
class RefreshReport:
    refreshed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    rebuilt: list[int] = field(default_factory=list)


def fingerprint(segment: Segment) -> str:
    """The rules a count or the rows were taken for: the tree, the trees it refers to, and the store
    settings the compiler reads. Any change means the rows must be rebuilt."""
    trees, todo, seen = [], [segment.rules], set()
    while todo:
        tree = todo.pop()
        trees.append(tree)
        for ref in _references(tree):
            if ref not in seen:
                seen.add(ref)
                todo.append(Segment.objects.filter(pk=ref).values_list("rules", flat=True).first())
    store = segment.store
    text = json.dumps([trees, store.default_timezone, store.cold_after_days], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _references(tree: object) -> list[int]:
    if not isinstance(tree, dict):
        return []
    if tree.get("type") == "segment" and isinstance(tree.get("segment"), int):
        return [tree["segment"]]
    return [ref for child in tree.get("children", []) or [] for ref in _references(child)]


# --- the incremental refresh -------------------------------------------------------------------------


def segments_refresh(*, now: datetime) -> RefreshReport:
    """Bring every stored segment to `now`, store by store; one that fails is recorded on the segment
    (and rebuilt at a later refresh) and the rest go on."""
    report = RefreshReport()
    stores = Segment.objects.filter(stored=True).values_list("store_id", flat=True).distinct()
    for store in Store.objects.filter(pk__in=stores).order_by("pk"):
        store_refresh(store=store, now=now, report=report)
    return report


def store_refresh(*, store: Store, now: datetime, report: RefreshReport | None = None) -> RefreshReport:
    report = report or RefreshReport()
    with transaction.atomic(), connection.cursor() as cursor:
        touched, catalogue = touches_take(cursor, store.pk)
        segments = Segment.objects.filter(store=store, stored=True).select_related("store").order_by("pk")
        held = False
        for segment in segments:
            if not _lock(segment.pk):
                report.skipped.append(segment.pk)
                held = True
                continue
            _segment_refresh_one(segment, touched, catalogue, now, report)
        if held:  # the worker holding a segment has not seen these changes
            touches_return(cursor, store.pk, touched, catalogue)
    return report


def _segment_refresh_one(
    segment: Segment, touched: set[int], catalogue: bool, now: datetime, report: RefreshReport
) -> None:
    try:
        with transaction.atomic():
            rebuilt = _bring_up_to_date(segment, touched, catalogue, now)
    except (InvalidRules, DatabaseError) as exc:
        reason = _reason(exc)
        logger.warning("segment %s refresh failed: %s", segment.pk, reason)
        Segment.objects.filter(pk=segment.pk).update(
            refresh_error=reason, refresh_failed_at=now, counted_fingerprint=""
        )
        report.failed[segment.pk] = reason
        return
    report.refreshed.append(segment.pk)
    if rebuilt:
        report.rebuilt.append(segment.pk)


def _bring_up_to_date(segment: Segment, touched: set[int], catalogue: bool, now: datetime) -> bool:
    """Incremental where that is exact, else a full rebuild; True when it rebuilt."""
    rules, store = segment.rules, segment.store
    seen = (segment.pk,)
    at = max(now, segment.refreshed_at or now)  # never back in time
    current = fingerprint(segment)
    rebuild = (
        segment.refreshed_at is None
        or segment.counted_fingerprint != current
        or at - segment.refreshed_at > MAX_SLIDE
        or (catalogue and reads_catalogue(rules, store=store, seen=seen))
        or (touched and has_rank(rules, store=store, seen=seen))
    )
    if rebuild:
        _rebuild(segment, at)
    else:
        changed = set(touched)
        for query in crossing_queries(rules, store=store, since=segment.refreshed_at, until=at, seen=seen):
            changed.update(query)
        ordered = sorted(changed)
        for start in range(0, len(ordered), IDS_AT_ONCE):
            _apply(segment, Only(ids=tuple(ordered[start : start + IDS_AT_ONCE])), at)
    _counted(segment, at, current)
    return rebuild


def _apply(segment: Segment, only: Only, now: datetime) -> tuple[int, int]:
    """Make the rows of the customers in `only` what the rules say at `now`: (added, removed)."""
    found = list(members(segment, now=now, only=only).order_by().values_list("pk", flat=True))
    table = SegmentMember._meta.db_table
    within, within_params = _within(only)
    listed, listed_params = _listed(found)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE segment_id = %s AND {within} AND NOT customer_id {listed}",
            [segment.pk, *within_params, *listed_params],
        )
        removed = cursor.rowcount
        added = 0
        if found:
            rows, rows_params = _rows(found)
            cursor.execute(
                f"INSERT INTO {table} (segment_id, customer_id) SELECT %s, m.id FROM {rows} "
                "WHERE true ON CONFLICT (segment_id, customer_id) DO NOTHING",
                [segment.pk, *rows_params],
            )
            added = cursor.rowcount
    return added, removed


def _within(only: Only) -> tuple[str, list]:
    if only.ids is not None:
        listed, params = _listed(list(only.ids))
        return f"customer_id {listed}", params
    sql, params = [], []
    if only.low is not None:
        sql, params = [*sql, "customer_id >= %s"], [*params, only.low]
    if only.high is not None:
        sql, params = [*sql, "customer_id <= %s"], [*params, only.high]
    return " AND ".join(sql) or "true", params


def _listed(ids: list[int]) -> tuple[str, list]:
    """`IN` a list of ids as one parameter."""
    if connection.vendor == "postgresql":
        return "= ANY(%s::bigint[])", [ids]
    return "IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]


def _rows(ids: list[int]) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return "unnest(%s::bigint[]) AS m(id)", [ids]
    return "(SELECT value AS id FROM json_each(%s)) AS m", [json.dumps(ids)]


def _counted(segment: Segment, now: datetime, current: str) -> None:
    counts = SegmentMember.objects.filter(segment_id=segment.pk).aggregate(
        members=Count("pk"), reachable=Count("pk", filter=Q(customer__sms_consent="subscribed"))
    )
    Segment.objects.filter(pk=segment.pk).update(
        refreshed_at=now,
        refreshed_count=counts["members"],
        counted_members=counts["members"],
        counted_reachable=counts["reachable"],
        counted_at=now,
        counted_fingerprint=current,
        refresh_error="",
        refresh_failed_at=None,
    )


# --- the full rebuild: the reference -----------------------------------------------------------------


def segment_refresh(*, segment: Segment, now: datetime) -> bool:
    """Rebuild the segment's rows as its members at `now`, in one transaction, so readers see the old
    rows or the new ones, never a mix. False, changing nothing, when another worker is refreshing it
    or it is already as fresh as `now`."""
    members(segment, now=now)  # InvalidRules before any write
    with transaction.atomic():
        if not _lock(segment.pk):
            return False
        stale = Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=now)
        if not Segment.objects.filter(pk=segment.pk, stored=True).filter(stale).exists():
            return False
        _rebuild(segment, now)
        _counted(segment, now, fingerprint(segment))
    return True


def _rebuild(segment: Segment, now: datetime, *, low: int | None = None, high: int | None = None) -> None:
    """Every customer of the store (with `low`/`high`, those with ids in between) evaluated again, a
    range of ids at a time: each range's events are read through the per-customer indexes, so the
    work grows with the store and no grouping ever holds more than one range's customers. A rank is
    taken over the whole store once."""
    if has_rank(segment.rules, store=segment.store, seen=(segment.pk,)):
        _apply(segment, Only(low=low, high=high), now)
        return
    for first, last in id_ranges(segment.store_id, RANGE, low=low, high=high):
        _apply(segment, Only(low=first, high=last), now)


def id_ranges(
    store_id: int, size: int, *, low: int | None = None, high: int | None = None
) -> list[tuple[int | None, int | None]]:
    """Consecutive ranges of the store's customer ids from `low` to `high`, `size` customers each;
    the first and last reach `low` and `high` (open when not given), so rows of customers who left
    the store meanwhile are covered too."""
    bounds: list[int] = []
    customers = Customer.objects.filter(store_id=store_id).order_by("pk").values_list("pk", flat=True)
    customers = customers.filter(pk__gte=low) if low is not None else customers
    customers = customers.filter(pk__lt=high) if high is not None else customers
    last = None
    while True:
        page = customers.filter(pk__gt=last) if last is not None else customers
        edge = page[size - 1 : size].first()
        if edge is None:
            break
        bounds.append(edge)
        last = edge
    lows = [low, *(b + 1 for b in bounds)]
    highs = [*bounds, high]
    return list(zip(lows, highs, strict=True))


def _lock(segment_id: int) -> bool:
    """Hold the segment's refresh until the transaction ends; SQLite serializes writers itself."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, segment_id])
        return cursor.fetchone()[0]


def _reason(exc: Exception) -> str:
    if isinstance(exc, InvalidRules):
        first = exc.errors[0]
        return f"{first.path or 'rules'}: {first.message}"
    return f"database error: {exc}".strip()[:500]


# --- reading ------------------------------------------------------------------------------------------


def stored_members(segment: Segment) -> QuerySet[Customer]:
    """The customers in the segment's rows as of its last refresh."""
    rows = SegmentMember.objects.filter(segment_id=segment.pk).values("customer_id")
    return Customer.objects.filter(store_id=segment.store_id, pk__in=rows)


def reads_stored(segment: Segment) -> bool:
    """Counts and pages come from the rows once a stored segment has been refreshed."""
    return segment.stored and segment.refreshed_at is not None
