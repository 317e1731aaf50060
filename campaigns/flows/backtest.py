"""“If this flow had been live for the last 30 days”: replay stored events, write nothing.

Entries come from the same selectors the live triggers use and pass the same entry segment,
re-entry and exit rules. Each run is then walked with the tick's own step function
(`flow_engine.run_advance`), ending early when a stored exit event for it arrived first, and its
texts go through the sending policy in a dry run (`guardrails.dry_run`), each at its own time:
the numbers are what would have been sent, held and suppressed, per step and per reason.
Segment membership (entry and splits), consent and engagement are today's, the approximation:
the app keeps no history of them.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from campaigns.content.rendering import render_messages
from campaigns.flows.advance import Cursor, run_advance, steps_by_flow, texts_valid_until
from campaigns.flows.date_triggers import daily_entries
from campaigns.flows.enrol import exit_matches, reentry_filter
from campaigns.flows.entries import Catalog, Entry
from campaigns.flows.event_triggers import EVENT_TRIGGERS, entry_event_type, event_entries
from campaigns.flows.product_triggers import product_change_entries
from campaigns.glossary import reason_words
from campaigns.models import Flow, FlowRun, FlowStep, Message
from campaigns.reports import experiments
from campaigns.sending import guardrails, policy
from customers.models import Customer, Event, ProductChange
from customers.segments import members

EXAMPLES = 3


@dataclass
class StepResult:
    step: FlowStep
    reached: int = 0
    messages: int = 0
    yes: int = 0
    no: int = 0
    exited: int = 0
    skipped: int = 0
    sent: int = 0  # allowed when due
    held: int = 0  # held, then sent when the window or a cap allowed, within its validity
    suppressed: Counter = field(default_factory=Counter)  # by reason
    waiting: int = 0
    examples: list[dict] = field(default_factory=list)  # a few texts to real customers, as rendered
    reached_by: list[tuple[int, datetime]] = field(default_factory=list)  # (customer, when) per run
    delivered_to: list[tuple[int, datetime]] = field(default_factory=list)  # (customer, when due) per text

    @property
    def suppressed_by_reason(self) -> dict[str, int]:
        return dict(self.suppressed)

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

    @property
    def delivered(self) -> int:
        return sum(s.sent + s.held for s in self.steps)

    @property
    def suppressed(self) -> dict[str, int]:
        return dict(sum((s.suppressed for s in self.steps), Counter()))


def flow_backtest(*, flow: Flow, now: datetime, days: int = 30) -> BacktestReport:
    start = now - timedelta(days=days)
    report = BacktestReport(flow=flow, start=start, end=now)
    steps = list(flow.steps.order_by("position").select_related("segment", "template"))
    report.steps = [StepResult(step=s) for s in steps]
    entries = _entries(flow, start=start, now=now)
    if not entries or not steps:
        return report
    customers = _eligible(flow, entries, now=now)
    entries = reentry_filter(flow, [e for e in entries if e.customer_id in customers], existing=[])
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
    walk = _Walk(flow, steps, report, exits, split_members, now)
    for number, entry in enumerate(entries, start=1):
        walk.run(entry, customers[entry.customer_id], run_id=-number)
    went = _police(flow, walk.sends, report)
    tz = ZoneInfo(flow.store.default_timezone)
    texted = {(cid, at.astimezone(tz).date()) for cid, at in went}
    report.customers_texted = len({cid for cid, _ in texted})
    report.overlap_customers = _overlap(flow, texted, start=start, tz=tz)
    return report


def _entries(flow: Flow, *, start: datetime, now: datetime) -> list[Entry]:
    if flow.trigger in EVENT_TRIGGERS:
        event_type = entry_event_type(flow)
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


def _eligible(flow: Flow, entries: list[Entry], *, now: datetime) -> dict[int, Customer]:
    qs = (
        members(flow.entry_segment, now=now)
        if flow.entry_segment_id
        else Customer.objects.filter(store=flow.store)
    )
    found = (
        qs.filter(id__in={e.customer_id for e in entries})
        .select_related("prediction")
        .only("id", "store_id", "phone", "timezone", "region", "prediction__best_hour")
    )
    for customer in found:
        customer.store = flow.store
    return {c.id: c for c in found}


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


class _Walk:
    """Runs walked through the steps with the tick's step function, each step at its due time."""

    def __init__(self, flow, steps, report, exits, split_members, now) -> None:
        self.flow, self.report, self.now = flow, report, now
        self.exits, self.split_members = exits, split_members
        self.by_flow = steps_by_flow({flow.id})[flow.id]
        self.index = {s.id: i for i, s in enumerate(steps)}
        self.first = self.by_flow["id"][steps[0].id]  # with its running experiment attached
        self.sends: list[Cursor] = []

    def run(self, entry: Entry, customer: Customer, *, run_id: int) -> None:
        run = FlowRun(
            id=run_id,
            flow=self.flow,
            customer=customer,
            entered_at=entry.entered_at,
            context=entry.context,
            cart_id=entry.cart_id,
            checkout_id=entry.checkout_id,
            trigger_key=entry.trigger_key,
        )
        tz = customer.timezone or self.flow.store.default_timezone
        best = policy.best_hour_of(customer) if self.first.best_hour_within else None
        due = experiments.step_due(
            self.first, customer_id=customer.id, previous=entry.entered_at, tz=tz, best_hour=best
        )
        cursor = Cursor(run=run, step=self.first, due=due)
        while cursor.step is not None:
            result = self.report.steps[self.index[cursor.step.id]]
            goal = self._goal(entry, min(cursor.due, self.now))
            if goal:
                result.exited += 1
                self.report.exits[f"goal: {goal}"] += 1
                return
            if cursor.due > self.now:
                result.waiting += 1
                self.report.still_waiting += 1
                return
            result.reached += 1
            result.reached_by.append((customer.id, cursor.due))
            visits: list = []
            sent_before = len(self.sends)
            run_advance(cursor, self.by_flow, self.split_members, self.sends, visits, cursor.due)
            result.messages += len(self.sends) - sent_before
            result.yes += sum(v.outcome == "yes" for v in visits)
            result.no += sum(v.outcome == "no" for v in visits)
        self.report.exits["completed"] += 1

    def _goal(self, entry: Entry, until: datetime) -> str | None:
        return next(
            (
                event_type
                for event_type, at, props in self.exits[entry.customer_id]
                if entry.entered_at <= at <= until and exit_matches(entry, at, props)
            ),
            None,
        )


def _police(flow: Flow, sends: list[Cursor], report: BacktestReport) -> list[tuple[int, datetime]]:
    """The policy's dry run over the walked texts; returns (customer, when it would go) per text."""
    valid_until = texts_valid_until(sends)
    texts = [
        (
            send.due,
            policy.Proposal(
                customer_id=send.run.customer_id,
                store_id=flow.store_id,
                kind=Message.Kind.MARKETING,
                priority=flow.priority,
                valid_until=valid_until[(send.run.id, send.step.id)],
                run_id=send.run.id,
                step_id=send.step.id,
            ),
        )
        for send in sends
    ]
    guardrails.dry_run(texts=texts)
    index = {s.step.id: s for s in report.steps}
    _examples(flow, [p for _, p in texts], sends, index)
    went = []
    for (due, proposal), send in zip(texts, sends, strict=True):
        result, verdict = index[send.step.id], proposal.verdict
        if verdict.outcome == policy.Outcome.ALLOW:
            result.sent += 1
            went.append((proposal.customer_id, due))
        elif verdict.outcome == policy.Outcome.HOLD:
            result.held += 1
            went.append((proposal.customer_id, verdict.held_until))
        else:
            result.suppressed[str(verdict.reason)] += 1
            continue
        result.delivered_to.append((proposal.customer_id, due))
    return went


def _examples(flow: Flow, proposals: list, sends: list[Cursor], index: dict) -> None:
    """Up to EXAMPLES texts per step, rendered for real customers with their trigger's context:
    one of each outcome first (sent, held, not sent), so a reader sees why as well as what."""
    by_step: dict[int, list[tuple[policy.Proposal, Cursor]]] = defaultdict(list)
    for proposal, send in zip(proposals, sends, strict=True):
        by_step[send.step.id].append((proposal, send))
    chosen = {}
    for step_id, pairs in by_step.items():
        first_of_each: dict[str, tuple] = {}
        for pair in pairs:
            first_of_each.setdefault(pair[0].verdict.outcome, pair)
        picked = list(first_of_each.values())[:EXAMPLES]
        rest = (pair for pair in pairs if all(pair[0] is not p for p, _ in picked))
        chosen[step_id] = picked + list(itertools.islice(rest, EXAMPLES - len(picked)))
    people = Customer.objects.in_bulk({p.customer_id for pairs in chosen.values() for p, _ in pairs})
    tz = ZoneInfo(flow.store.default_timezone)
    for step_id, pairs in chosen.items():
        step = pairs[0][1].step
        customers = [people[p.customer_id] for p, _ in pairs]
        rendered = render_messages(
            template_body=step.text, customers=customers, snapshots=[s.run.context for _, s in pairs],
            utm_campaign=flow.slug, utm_content=f"step-{step.position}",
        )  # fmt: skip
        index[step_id].examples = [
            {"customer": f"{c.first_name} {c.last_name}".strip() or c.phone, "text": r.body,
             "outcome": _outcome_words(p.verdict, s.due, tz)}
            for c, r, (p, s) in zip(customers, rendered, pairs, strict=True)
        ]  # fmt: skip


def _outcome_words(verdict: policy.Verdict, due: datetime, tz: ZoneInfo) -> str:
    if verdict.outcome == policy.Outcome.ALLOW:
        return f"Sent {due.astimezone(tz):%b %d, %H:%M}."
    if verdict.outcome == policy.Outcome.HOLD:
        return f"Held until {verdict.held_until.astimezone(tz):%b %d, %H:%M}: {reason_words(verdict.reason)}"
    return f"Not sent: {reason_words(verdict.reason)}"


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
