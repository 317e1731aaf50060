"""Stored segments: their members kept as rows, refreshed on a schedule, for rules too heavy to count
live. Counts and member pages in the admin and the API read the rows; sends never do (`members()`
is always live), so a text never goes to someone who left the segment since the last refresh.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet

from customers.models import Customer, Segment, SegmentMember
from customers.segments import InvalidRules, members

logger = logging.getLogger(__name__)

# the first key of PostgreSQL's two-key advisory locks: "segment refresh"; the second is the segment
LOCK_NAMESPACE = 7_311


@dataclass
class RefreshReport:
    refreshed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def segments_refresh(*, now: datetime) -> RefreshReport:
    """Refresh every stored segment; one that fails is recorded on the segment and the rest go on."""
    report = RefreshReport()
    for segment in Segment.objects.filter(stored=True).select_related("store").order_by("pk"):
        try:
            done = segment_refresh(segment=segment, now=now)
        except (InvalidRules, DatabaseError) as exc:
            reason = _reason(exc)
            logger.warning("segment %s refresh failed: %s", segment.pk, reason)
            Segment.objects.filter(pk=segment.pk).update(refresh_error=reason, refresh_failed_at=now)
            report.failed[segment.pk] = reason
            continue
        (report.refreshed if done else report.skipped).append(segment.pk)
    return report


def segment_refresh(*, segment: Segment, now: datetime) -> bool:
    """Replace the segment's rows with its members at `now` in one transaction, so readers see the
    old rows or the new ones, never a mix. False, changing nothing, when another worker is refreshing
    it or it is already as fresh as `now`."""
    query = members(segment, now=now).order_by().values("pk")  # InvalidRules before any write
    sql, params = query.query.sql_with_params()
    table = SegmentMember._meta.db_table
    with transaction.atomic():
        if not _lock(segment.pk):
            return False
        stale = Q(refreshed_at__isnull=True) | Q(refreshed_at__lt=now)
        if not Segment.objects.filter(pk=segment.pk, stored=True).filter(stale).exists():
            return False
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE segment_id = %s", [segment.pk])
            cursor.execute(
                f"INSERT INTO {table} (segment_id, customer_id) SELECT %s, m.* FROM ({sql}) m",
                [segment.pk, *params],
            )
            written = cursor.rowcount
        Segment.objects.filter(pk=segment.pk).update(
            refreshed_at=now, refreshed_count=written, refresh_error="", refresh_failed_at=None
        )
    return True


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


def stored_counts(segments: list[Segment]) -> dict[int, int]:
    """Member counts of the refreshed stored segments, as of their last refresh."""
    return {s.pk: s.refreshed_count or 0 for s in segments if reads_stored(s)}


def stored_members(segment: Segment) -> QuerySet[Customer]:
    """The customers in the segment's rows as of its last refresh."""
    rows = SegmentMember.objects.filter(segment_id=segment.pk).values("customer_id")
    return Customer.objects.filter(store_id=segment.store_id, pk__in=rows)


def reads_stored(segment: Segment) -> bool:
    """Counts and pages come from the rows once a stored segment has been refreshed."""
    return segment.stored and segment.refreshed_at is not None
