"""“If this flow had been live for the last 30 days”: replay stored events, write nothing.

Entries come from the same selectors the live triggers use and pass the same entry segment,
re-entry and exit rules; each run is then walked through the steps in time, ending early when a
stored exit event for it arrived first. Segment membership (entry and splits) is today's, the one
approximation: the app keeps no history of who was in a segment on a past day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from customers.models import Event, ProductChange
from customers.segments import members

from .models import Flow, FlowStep, Message
from .triggers import (
    Catalog,
    Entry,
    daily_entries,
    event_entries,
    exit_matches,
    product_change_entries,
    reentry_filter,
)

EVENT_TYPES = {
    Flow.Trigger.POST_PURCHASE: "order_delivered",
    Flow.Trigger.REWARD_THRESHOLD: "reward_balance_changed",
}


@dataclass
class StepResult:
    step: FlowStep
    reached: int = 0
    messages: int = 0
    yes: int = 0
    no: int = 0
    exited: int = 0
    skipped: int = 0
    waiting: int = 0

    @property
    def arrived(self) -> int:
        """Runs that began this step's delay: they reached it, left on the goal, or still wait."""
        return self.reached + self.exited + self.waiting


@dataclass
class BacktestReport:
    flow: Flow
    start: datetime
    end: datetime
    runs: int = 0
    steps: list[StepResult] = field(default_factory=list)
    exits: Counter = field(default_factory=Counter)
    still_waiting: int = 0
    customers_texted: int = 0
    overlap_customers: int = 0

    @property
    def exit_counts(self) -> dict[str, int]:
        return dict(self.exits)

    @property
    def messages(self) -> int:
        return sum(s.messages for s in self.steps)


def flow_backtest(*, flow: Flow, now: datetime, days: int = 30) -> BacktestReport:
    start = now - timedelta(days=days)
    report = BacktestReport(flow=flow, start=start, end=now)
    steps = list(flow.steps.order_by("position").select_related("segment"))
    report.steps = [StepResult(step=s) for s in steps]
    entries = _entries(flow, start=start, now=now)
    if not entries or not steps:
        return report
    timezones = _eligible(flow, entries, now=now)
    entries = [e for e in entries if e.customer_id in timezones]
    entries = reentry_filter(flow, entries, existing=[])
    report.runs = len(entries)
    exits = _exit_events(flow, entries, now=now)
    split_members = {
        s.segment_id: set(
            members(s.segment, now=now)
            .filter(id__in={e.customer_id for e in entries})
            .values_list("id", flat=True)
        )
        for s in steps
        if s.kind == FlowStep.Kind.SPLIT and s.segment_id
    }
    texted: set[tuple[int, date]] = set()
    tz = ZoneInfo(flow.store.default_timezone)
    for entry in entries:
        for at in _walk(entry, steps, report, timezones[entry.customer_id], exits, split_members, now):
            texted.add((entry.customer_id, at.astimezone(tz).date()))
    report.customers_texted = len({cid for cid, _ in texted})
    report.overlap_customers = _overlap(flow, texted, start=start, tz=tz)
    return report


def _entries(flow: Flow, *, start: datetime, now: datetime) -> list[Entry]:
    if flow.trigger in (Flow.Trigger.EVENT, *EVENT_TYPES):
        event_type = EVENT_TYPES.get(flow.trigger, flow.event_type)
        events = list(
            Event.objects.filter(
                store_id=flow.store_id, type=event_type, occurred_at__gte=start, occurred_at__lte=now
            )
            .select_related("product__category")
            .order_by("occurred_at", "id")
        )
        entries = []
        for i in range(0, len(events), 1000):
            chunk = events[i : i + 1000]
            entries += event_entries(flow, chunk, catalog=Catalog(flow.store, chunk))
        return entries
    if flow.trigger in (Flow.Trigger.BACK_IN_STOCK, Flow.Trigger.PRICE_DROP):
        changes = list(
            ProductChange.objects.filter(
                product__store_id=flow.store_id, changed_at__gte=start, changed_at__lte=now
            ).select_related("product__category")
        )
        return [e for c in changes for e in product_change_entries(flow, [c], now=c.changed_at)]
    seen: dict[tuple[int, str], Entry] = {}
    day = start
    while day <= now:
        for entry in daily_entries(flow, now=day):
            seen.setdefault((entry.customer_id, entry.trigger_key), entry)
        day += timedelta(days=1)
    return list(seen.values())


def _eligible(flow: Flow, entries: list[Entry], *, now: datetime) -> dict[int, str]:
    from customers.models import Customer

    qs = (
        members(flow.entry_segment, now=now)
        if flow.entry_segment_id
        else Customer.objects.filter(store=flow.store)
    )
    return dict(qs.filter(id__in={e.customer_id for e in entries}).values_list("id", "timezone"))


def _exit_events(flow: Flow, entries: list[Entry], *, now: datetime) -> dict[int, list]:
    found = defaultdict(list)
    if not flow.exit_event_types:
        return found
    rows = Event.objects.filter(
        Q(customer_id__in={e.customer_id for e in entries}),
        type__in=flow.exit_event_types,
        occurred_at__gte=min(e.entered_at for e in entries),
        occurred_at__lte=now,
    ).values_list("customer_id", "type", "occurred_at", "properties")
    for customer_id, event_type, at, props in rows:
        found[customer_id].append((event_type, at, props))
    return found


def _walk(
    entry: Entry,
    steps: list[FlowStep],
    report: BacktestReport,
    tz: str,
    exits: dict[int, list],
    split_members: dict[int, set[int]],
    now: datetime,
) -> Iterator[datetime]:
    """Yields the times this run would have texted."""
    by_position = {s.position: (i, s) for i, s in enumerate(steps)}
    index, due = 0, entry.entered_at
    while index is not None and index < len(steps):
        step, result = steps[index], report.steps[index]
        due = step.due_after(due, tz)
        cutoff = min(due, now)
        goal = next(
            (
                t
                for t, at, props in exits[entry.customer_id]
                if entry.entered_at <= at <= cutoff and exit_matches(entry, at, props)
            ),
            None,
        )
        if goal:
            result.exited += 1
            report.exits[f"goal: {goal}"] += 1
            return
        if due > now:
            result.waiting += 1
            report.still_waiting += 1
            return
        result.reached += 1
        following = index + 1
        if step.kind == FlowStep.Kind.SEND:
            result.messages += 1
            yield due
        elif step.kind == FlowStep.Kind.SPLIT:
            yes = not step.segment_id or entry.customer_id in split_members.get(step.segment_id, set())
            result.yes, result.no = result.yes + yes, result.no + (not yes)
            target = step.yes_next if yes else step.no_next
            following = by_position[target][0] if target in by_position else (following if yes else None)
        elif step.kind == FlowStep.Kind.END:
            following = None
        index = following
    report.exits["completed"] += 1


def _overlap(flow: Flow, texted: set[tuple[int, date]], *, start: datetime, tz: ZoneInfo) -> int:
    """Customers this flow would have texted on a day they got a text from another live flow."""
    others = Message.objects.filter(
        store_id=flow.store_id,
        created_at__gte=start,
        flow_run__flow__status=Flow.Status.LIVE,
        customer_id__in={cid for cid, _ in texted},
    ).exclude(flow_run__flow=flow)
    theirs = {(cid, at.astimezone(tz).date()) for cid, at in others.values_list("customer_id", "created_at")}
    return len({cid for cid, day in texted & theirs})
