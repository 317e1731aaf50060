"""Segment counts as the lists and the API show them: how many customers, how many of them can be
texted (subscribed to SMS), and when that was counted.

A stored segment's counts are taken from its rows at each refresh (every minute). A live segment
is counted once when its rules are new or changed, then again every few minutes by the refresh
task; a list reads what was counted instead of counting every segment over every customer on each
load. "Count now" counts live at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from customers.models import Customer, Segment
from customers.segments import REACHABLE, InvalidRules, members_count
from customers.segments.compiler import compile_ids, compile_rules
from customers.segments.membership import fingerprint, reads_stored


@dataclass(frozen=True)
class Counts:
    members: int
    reachable: int
    at: datetime


def counts_live(segment: Segment, *, now: datetime) -> Counts:
    """Both counts at `now`, from the rules; the members by the cheapest form the rules allow."""
    seen = (segment.pk,) if segment.pk else ()
    store = segment.store
    total = members_count(segment, now=now)
    ids = compile_ids(segment.rules, store=store, now=now, seen=seen)
    customers = Customer.objects.filter(REACHABLE, store_id=store.pk)
    if ids is not None:
        reachable = customers.filter(pk__in=ids.query).count()
    else:
        reachable = customers.filter(compile_rules(segment.rules, store=store, now=now, seen=seen)).count()
    return Counts(total, reachable, now)


def counts_record(segment: Segment, counts: Counts) -> None:
    segment.counted_members, segment.counted_reachable = counts.members, counts.reachable
    segment.counted_at, segment.counted_fingerprint = counts.at, fingerprint(segment)
    Segment.objects.filter(pk=segment.pk).update(
        counted_members=counts.members,
        counted_reachable=counts.reachable,
        counted_at=counts.at,
        counted_fingerprint=segment.counted_fingerprint,
    )


def counts_shown(segments: list[Segment], *, now: datetime) -> dict[int, Counts | None]:
    """What a list shows for each segment: its last counts, a live segment counted first when its
    rules changed since (or were never counted); None for a stored segment not refreshed yet.
    InvalidRules of one segment is set on it as `rules_error` and its counts are None."""
    shown: dict[int, Counts | None] = {}
    for segment in segments:
        if segment.stored:
            shown[segment.pk] = _recorded(segment) if reads_stored(segment) else None
            continue
        if segment.counted_at is None or segment.counted_fingerprint != fingerprint(segment):
            try:
                counts_record(segment, counts_live(segment, now=now))
            except InvalidRules as exc:
                first = exc.errors[0]
                segment.rules_error = f"{first.path or 'rules'}: {first.message}"
                segment.rules_errors = exc.errors
                shown[segment.pk] = None
                continue
        shown[segment.pk] = _recorded(segment)
    return shown


def _recorded(segment: Segment) -> Counts | None:
    if segment.counted_at is None:
        return None
    return Counts(segment.counted_members or 0, segment.counted_reachable or 0, segment.counted_at)


def live_counts_refresh(*, now: datetime) -> list[int]:
    """Count again the live segments counted longer ago than SEGMENT_COUNTS_EVERY_MINUTES; a segment
    whose rules cannot be evaluated keeps its last counts. Returns the ids counted."""
    due = now - timedelta(minutes=settings.SEGMENT_COUNTS_EVERY_MINUTES)
    due_q = Q(counted_at__isnull=True) | Q(counted_at__lte=due)
    segments = Segment.objects.filter(due_q, stored=False)
    counted = []
    for segment in segments.select_related("store").order_by("pk"):
        try:
            counts_record(segment, counts_live(segment, now=now))
        except InvalidRules:
            continue
        counted.append(segment.pk)
    return counted
