"""The one sending policy: a message is allowed, held until a time, or suppressed with a reason.

`decide` is the policy for one message; `evaluate` loads what it needs for a whole batch in a few
queries and calls it per message. Outbox creation, the release of held messages and the last
check before the provider call all go through `evaluate`.

Transactional texts (confirmations, replies) skip caps, overlap and the sending window, but never
reach an opted-out number, except the opt-out confirmation itself (`confirms_opt_out`). A staff
reply to a customer's own text within 24 h (`kind="reply"`) is treated the same way; later
replies are marketing.

A flow run is one conversation: its texts never hold or suppress each other, the run counts once
against the caps (its first text is the one that is counted), and its later steps only yield to
other texts of higher priority. A text that yields says which text it yielded to.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import attrgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.db.models import Q

from customers.engagement import is_cold
from customers.models import Customer, Store
from customers.phones import phone_facts

from .bulk import among
from .models import FlowStep, GuardrailDecision, Message, QuietHoursRule, Reason, UndeliverableNumber

Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage
DAY = timedelta(hours=24)
Window = tuple[time, time]
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
# The subscriber's own choice on the preference page: at most one marketing text per span.
CHOSEN_SPANS = {"weekly": (WEEK, "week"), "monthly": (MONTH, "month")}
CHUNK = 5000

# Statuses that use up a customer's cap: planned (created) or gone out (right before sending).
PLANNED = [
    Message.Status.HELD,
    Message.Status.QUEUED,
    Message.Status.SENDING,
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.UNDELIVERED,
]
WENT_OUT = [Message.Status.SENDING, Message.Status.SENT, Message.Status.DELIVERED, Message.Status.UNDELIVERED]
UNSENT = {Message.Status.HELD, Message.Status.QUEUED, Message.Status.PENDING}

DEFAULT_STATE_RULES = [
    ("FL", time(8, 0), time(20, 0), 3, "Florida Telephone Solicitation Act"),
    ("OK", time(8, 0), time(20, 0), 3, "Oklahoma Telephone Solicitation Act"),
    ("MD", time(8, 0), time(20, 0), 3, "Maryland Stop the Spam Calls Act"),
    ("CT", time(9, 0), time(20, 0), None, "Connecticut telemarketing hours"),
]


@dataclass(frozen=True)
class Recipient:
    consent: str
    timezone: str
    cold: bool = False
    undeliverable: bool = False
    frequency: str = ""


@dataclass(frozen=True)
class Limits:
    window_start: time = time(8, 0)
    window_end: time = time(21, 0)
    per_day: int = 1
    per_week: int = 3
    state_per_day: int | None = None
    overlap: timedelta = timedelta(hours=12)
    chosen: str = ""  # the subscriber's frequency choice, a key of CHOSEN_SPANS


@dataclass
class Slot:
    """A marketing text of the same customer that counts toward caps and overlap."""

    at: datetime
    priority: int
    message_id: int | None = None
    unsent: bool = False
    run_id: int | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    held_until: datetime | None = None
    detail: str = ""
    superseded: tuple[int, ...] = ()
    yielded_to: int | None = None

    @property
    def status(self) -> str:
        return STATUS_OF[self.outcome]


STATUS_OF = {
    Outcome.ALLOW: Message.Status.QUEUED,
    Outcome.HOLD: Message.Status.HELD,
    Outcome.SUPPRESS: Message.Status.SUPPRESSED,
}


def decide(
    *,
    kind: str,
    priority: int,
    valid_until: datetime | None,
    confirms_opt_out: bool,
    recipient: Recipient,
    limits: Limits,
    slots: list[Slot],
    may_supersede: bool,
    now: datetime,
    own_run: list[Slot] | None = None,
) -> Verdict:
    """The policy for one message at `now`; `slots` are the customer's other marketing texts.

    `own_run` are the texts of the message's own flow run: they never hold or suppress it, and
    once the run has one, the run has counted against the store's caps. A state's legal limit
    still counts every text.
    """
    own_run = own_run or []
    refused = _consent_verdict(kind, confirms_opt_out, recipient)
    if refused:
        return refused
    if valid_until is not None and now >= valid_until:
        return Verdict(
            Outcome.SUPPRESS, Reason.EXPIRED, detail=f"valid until {valid_until:%Y-%m-%d %H:%M} UTC"
        )
    if kind in (Message.Kind.TRANSACTIONAL, Message.Kind.REPLY):
        return Verdict(Outcome.ALLOW, Reason.OK)

    at, reason, detail, yielded_to = now, Reason.OK, "", None
    overlap = _overlap(priority, slots, limits.overlap, now, may_supersede)
    if overlap.blocked_by is not None:
        return Verdict(
            Outcome.SUPPRESS,
            Reason.OVERLAP,
            detail=f"yielded to {_named(overlap.blocked_by)}: within {_hours(limits.overlap)} h, "
            f"priority {overlap.blocked_priority} >= {priority}",
            yielded_to=overlap.blocked_by or None,
        )
    if overlap.not_before > at:
        at, reason, yielded_to = overlap.not_before, Reason.OVERLAP, overlap.after
        detail = f"yielded to {_named(overlap.after)}: a lower-priority text already sent"
    kept = [s for s in slots if s.message_id not in overlap.superseded]
    for _ in range(4):  # caps and the window can push each other later; a few rounds settle it
        cap = _cap_release(at, [] if own_run else kept, kept + own_run, limits)
        if cap.at > at:
            at, reason, yielded_to = cap.at, cap.reason, cap.yielded_to
            detail = f"{cap.detail}; yielded to {_named(cap.yielded_to)}"
        opens = window_opens(at, recipient.timezone, limits.window_start, limits.window_end)
        if opens == at:
            break
        at, reason = opens, Reason.QUIET_HOURS
        detail = f"window {limits.window_start:%H:%M}–{limits.window_end:%H:%M} {recipient.timezone}"
    if at == now:
        return Verdict(Outcome.ALLOW, Reason.OK, superseded=overlap.superseded)
    if valid_until is not None and at > valid_until:
        return Verdict(
            Outcome.SUPPRESS,
            reason,
            detail=f"{detail}; next chance {at:%Y-%m-%d %H:%M} UTC "
            f"is after valid until {valid_until:%Y-%m-%d %H:%M} UTC",
            yielded_to=yielded_to,
        )
    return Verdict(
        Outcome.HOLD,
        reason,
        held_until=at,
        detail=detail,
        superseded=overlap.superseded,
        yielded_to=yielded_to,
    )


def _named(message_id: int | None) -> str:
    return f"message {message_id}" if message_id else "another text in this batch"


def _consent_verdict(kind: str, confirms_opt_out: bool, recipient: Recipient) -> Verdict | None:
    if recipient.consent == Customer.Consent.UNSUBSCRIBED:
        if kind == Message.Kind.TRANSACTIONAL and confirms_opt_out:
            return None
        return Verdict(Outcome.SUPPRESS, Reason.OPTED_OUT)
    if recipient.undeliverable:
        return Verdict(Outcome.SUPPRESS, Reason.NUMBER_UNDELIVERABLE)
    if kind == Message.Kind.MARKETING and recipient.consent != Customer.Consent.SUBSCRIBED:
        return Verdict(Outcome.SUPPRESS, Reason.NO_CONSENT, detail=f"consent is {recipient.consent}")
    return None


@dataclass
class _Overlap:
    blocked_by: int | None = None
    blocked_priority: int = 0
    not_before: datetime = datetime.min.replace(tzinfo=UTC)
    after: int | None = None
    superseded: tuple[int, ...] = ()


def _overlap(
    priority: int, slots: list[Slot], window: timedelta, now: datetime, may_supersede: bool
) -> _Overlap:
    result = _Overlap()
    replaced: list[int] = []
    for slot in slots:
        if abs(slot.at - now) >= window:
            continue
        if slot.priority >= priority:
            result.blocked_by, result.blocked_priority = slot.message_id or 0, slot.priority
            return result
        if slot.unsent and may_supersede and slot.message_id is not None:
            replaced.append(slot.message_id)
        elif slot.at + window > result.not_before:
            result.not_before, result.after = slot.at + window, slot.message_id
    result.superseded = tuple(replaced)
    return result


@dataclass
class _Cap:
    at: datetime
    reason: str = Reason.OK
    detail: str = ""
    yielded_to: int | None = None


def _cap_release(at: datetime, counted: list[Slot], every: list[Slot], limits: Limits) -> _Cap:
    """The earliest time from `at` on when every rolling cap has room for one more text: the
    store's caps over `counted` (a run once), the state's legal limit over `every` text."""
    best = _Cap(at)
    checks = [(cap, _once_per_run(counted)) for cap in _caps(limits)]
    if limits.state_per_day is not None:
        legal = (limits.state_per_day, DAY, Reason.STATE_CAP, f"state limit {limits.state_per_day} per 24 h")
        checks.append((legal, every))
    for (cap, span, reason, label), slots in checks:
        recent = sorted((s for s in slots if s.at > at - span), key=lambda s: s.at, reverse=True)
        if len(recent) >= cap:
            binding = recent[cap - 1] if cap > 0 else None
            free_at = binding.at + span if binding else datetime.max.replace(tzinfo=UTC) - span
            if free_at > best.at:
                best = _Cap(free_at, reason, label, binding.message_id if binding else None)
    return best


def _caps(limits: Limits) -> list[tuple[int, timedelta, str, str]]:
    caps = [
        (limits.per_day, DAY, Reason.FREQUENCY_CAP, f"{limits.per_day} per 24 h"),
        (limits.per_week, WEEK, Reason.FREQUENCY_CAP, f"{limits.per_week} per 7 days"),
    ]
    if limits.chosen in CHOSEN_SPANS:
        span, word = CHOSEN_SPANS[limits.chosen]
        caps.append((1, span, Reason.CHOSEN_FREQUENCY, f"the subscriber chose at most one a {word}"))
    return caps


def _once_per_run(slots: list[Slot]) -> list[Slot]:
    """A run is one conversation: it counts once, by its first text."""
    first: dict[int, Slot] = {}
    single: list[Slot] = []
    for slot in slots:
        if slot.run_id is None:
            single.append(slot)
        elif slot.run_id not in first or slot.at < first[slot.run_id].at:
            first[slot.run_id] = slot
    return single + list(first.values())


def window_opens(at: datetime, tz_name: str, start: time, end: time) -> datetime:
    """`at` if it falls inside the local sending window, else when the window next opens (UTC)."""
    tz = _zone(tz_name)
    local = at.astimezone(tz)
    if start <= local.time() < end:
        return at
    day: date = local.date() if local.time() < start else local.date() + timedelta(days=1)
    return datetime.combine(day, start, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/New_York")


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


# --- loading a batch -------------------------------------------------------------------------


@dataclass
class Proposal:
    """A message to decide on: a draft about to be stored (no id yet) or a stored message."""

    customer_id: int
    store_id: int
    kind: str
    priority: int
    valid_until: datetime | None
    confirms_opt_out: bool = False
    message_id: int | None = None
    run_id: int | None = None
    step_id: int | None = None
    verdict: Verdict | None = field(default=None)


def evaluate(
    *, proposals: list[Proposal], stage: str, now: datetime, customers: Mapping[int, object] | None = None
) -> list[Proposal]:
    """Decide every proposal at `now`, higher priority first; sets `proposal.verdict`.

    `customers`: the proposals' customers as rows with the `RECIPIENT_FACTS` attributes, when the
    caller has just read them for this batch (a broadcast does); otherwise they are read here.
    """
    if not proposals:
        return proposals
    batch = _Batch.load(proposals, stage=stage, now=now, customers=customers)
    for proposal in sorted(proposals, key=lambda p: -p.priority):
        batch.decide(proposal, now=now, may_supersede=stage == Stage.CREATE)
    return proposals


def dry_run(*, texts: list[tuple[datetime, Proposal]]) -> list[Proposal]:
    """The policy over texts each at its own time, writing nothing (the backtest): every proposal
    gets the verdict it would have had then, given the customer's stored texts and the dry run's
    earlier ones. Engagement is judged at the first text's time."""
    if not texts:
        return []
    first = min(at for at, _ in texts)
    batch = _Batch.load([p for _, p in texts], stage=Stage.CREATE, now=first)
    for at, proposal in sorted(texts, key=lambda t: (t[0], -t[1].priority)):
        batch.decide(proposal, now=at, may_supersede=False)
    return [p for _, p in texts]


# What `decide` is given besides the customer's slots: for a customer with none, the class key.
DECIDED_ON = (
    "kind",
    "priority",
    "valid_until",
    "confirms_opt_out",
    "recipient",
    "limits",
    "may_supersede",
    "now",
)


@dataclass
class _Batch:
    """What deciding a batch needs, loaded in a few queries."""

    stores: dict[int, Store]
    rules: dict[tuple[int, str], QuietHoursRule]
    steps: dict[int, Window]
    recipients: dict[int, Recipient]
    regions: dict[int, str]
    slots: defaultdict[int, list[Slot]]
    # Verdicts of customers with no other texts, by class of recipient (consent, timezone, tier,
    # region's rule, store, run step, kind and priority): `decide` is pure, so one call per class.
    classes: dict[tuple, Verdict] = field(default_factory=dict)
    # How many proposals of each customer are still to decide: the last one books nothing, since
    # nobody after it in the batch reads the customer's slots.
    remaining: Counter[int] = field(default_factory=Counter)
    limits: dict[tuple, Limits] = field(default_factory=dict)
    unknown: dict[int, Recipient] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        proposals: list[Proposal],
        *,
        stage: str,
        now: datetime,
        customers: Mapping[int, object] | None = None,
    ) -> _Batch:
        customer_ids = sorted({p.customer_id for p in proposals})
        stores = {s.id: s for s in Store.objects.filter(id__in={p.store_id for p in proposals})}
        rows = _fact_rows(customer_ids) if customers is None else _given_rows(customer_ids, customers)
        recipients, regions = _recipients(rows, stores, now)
        marketing = any(p.kind == Message.Kind.MARKETING for p in proposals)
        monthly = any(r.frequency == "monthly" for r in recipients.values())
        overlaps = [timedelta(hours=s.overlap_hours) for s in stores.values()]
        horizon = max([MONTH if monthly else WEEK, *overlaps])
        return cls(
            stores=stores,
            rules=state_rules(stores),
            steps=_step_windows({p.step_id for p in proposals if p.step_id}),
            recipients=recipients,
            regions=regions,
            slots=_slots(customer_ids, stage, now - horizon) if marketing else defaultdict(list),
            remaining=Counter(p.customer_id for p in proposals),
        )

    def decide(self, proposal: Proposal, *, now: datetime, may_supersede: bool) -> None:
        store = self.stores[proposal.store_id]
        recipient = self.recipients.get(proposal.customer_id) or self._unknown(store)
        slots = self.slots.get(proposal.customer_id)
        others, own_run = _others(slots, proposal) if slots else ([], [])
        rule = self.rules.get((store.id, self.regions.get(proposal.customer_id, "")))
        limits = self._limits(store, rule, recipient, proposal.step_id)
        given = (proposal.kind, proposal.priority, proposal.valid_until, proposal.confirms_opt_out)
        if others or own_run:
            args = dict(zip(DECIDED_ON, (*given, recipient, limits, may_supersede, now), strict=True))
            proposal.verdict = decide(**args, slots=others, own_run=own_run)
        else:
            # Recipients and limits are shared objects (see `_recipients`, `_limits`): their
            # identities stand for them in the class key, which is cheaper to hash per proposal.
            key = (*given, id(recipient), id(limits), may_supersede, now)
            if key not in self.classes:
                args = dict(zip(DECIDED_ON, (*given, recipient, limits, may_supersede, now), strict=True))
                self.classes[key] = decide(**args, slots=[], own_run=[])
            proposal.verdict = self.classes[key]
        self.remaining[proposal.customer_id] -= 1
        if self.remaining[proposal.customer_id] > 0:
            _book(self.slots[proposal.customer_id], proposal, now)

    def _unknown(self, store: Store) -> Recipient:
        """A customer the batch has no row for (deleted meanwhile): no consent, the store's zone."""
        if store.id not in self.unknown:
            self.unknown[store.id] = Recipient(consent=Customer.Consent.NONE, timezone=store.default_timezone)
        return self.unknown[store.id]

    def _limits(
        self, store: Store, rule: QuietHoursRule | None, recipient: Recipient, step_id: int | None
    ) -> Limits:
        key = (store.id, rule and rule.pk, recipient.cold, recipient.frequency, step_id)
        if key not in self.limits:
            self.limits[key] = _limits(store, rule, recipient, self.steps.get(step_id))
        return self.limits[key]


def _others(slots: list[Slot], proposal: Proposal) -> tuple[list[Slot], list[Slot]]:
    """The customer's texts other than this one: of other sources, and of its own run."""
    others, own_run = [], []
    for slot in slots:
        if slot.message_id is not None and slot.message_id == proposal.message_id:
            continue
        if proposal.run_id is not None and slot.run_id == proposal.run_id:
            own_run.append(slot)
        else:
            others.append(slot)
    return others, own_run


def _book(slots: list[Slot], proposal: Proposal, now: datetime) -> None:
    """Later proposals in the same batch see this one (and not what it replaced)."""
    verdict = proposal.verdict
    if proposal.kind != Message.Kind.MARKETING or verdict is None or verdict.outcome == Outcome.SUPPRESS:
        return
    slots[:] = [s for s in slots if s.message_id not in verdict.superseded]
    slots.append(
        Slot(
            at=verdict.held_until or now,
            priority=proposal.priority,
            message_id=proposal.message_id,
            unsent=True,
            run_id=proposal.run_id,
        )
    )


def send_window(store: Store, rule: QuietHoursRule | None, step: Window | None = None) -> Window:
    """The local hours a marketing text may go: the store's window, narrowed by the state's rule
    and by the flow step's own window (a step window outside the legal one is ignored)."""
    window = (store.send_window_start, store.send_window_end)
    if rule is not None:
        window = _narrowed(window, (rule.window_start, rule.window_end))
    if step is not None:
        window = _narrowed(window, step)
    return window


def _narrowed(window: Window, inner: Window) -> Window:
    start, end = max(window[0], inner[0]), min(window[1], inner[1])
    return (start, end) if start < end else window


def first_chance(
    *, at: datetime, store: Store, rule: QuietHoursRule | None, timezone: str, step: Window | None = None
) -> datetime:
    """When a marketing text due at `at` can first go, by the window alone."""
    start, end = send_window(store, rule, step)
    return window_opens(at, timezone or store.default_timezone, start, end)


def _limits(store: Store, rule: QuietHoursRule | None, recipient: Recipient, step: Window | None) -> Limits:
    start, end = send_window(store, rule, step)
    per_week = min(store.cap_per_week, store.cold_cap_per_week) if recipient.cold else store.cap_per_week
    return Limits(
        window_start=start,
        window_end=end,
        per_day=store.cap_per_day,
        per_week=per_week,
        state_per_day=rule.max_per_24h if rule is not None else None,
        overlap=timedelta(hours=store.overlap_hours),
        chosen=recipient.frequency,
    )


def step_window(step: FlowStep) -> Window | None:
    """A step's own window; a start alone is a time to wait for (see FlowStep.due_after), not a window."""
    if step.window_start is not None and step.window_end is not None and step.window_start < step.window_end:
        return (step.window_start, step.window_end)
    return None


def _step_windows(step_ids: set[int]) -> dict[int, Window]:
    if not step_ids:
        return {}
    steps = FlowStep.objects.filter(id__in=step_ids, window_end__isnull=False).only(
        "id", "window_start", "window_end"
    )
    return {s.id: w for s in steps if (w := step_window(s)) is not None}


def state_rules(stores: dict[int, Store]) -> dict[tuple[int, str], QuietHoursRule]:
    rules = QuietHoursRule.objects.filter(Q(store__isnull=True) | Q(store_id__in=stores))
    defaults = {r.region: r for r in rules if r.store_id is None}
    result = {(store_id, region): rule for store_id in stores for region, rule in defaults.items()}
    result.update({(r.store_id, r.region): r for r in rules if r.store_id is not None})
    return result


# The customer columns the policy reads: a caller that has read them for the batch passes its rows.
RECIPIENT_FACTS = (
    "pk",
    "store_id",
    "phone",
    "sms_consent",
    "timezone",
    "region",
    "last_sms_click_at",
    "frequency",
)


def _fact_rows(customer_ids: list[int]) -> Iterable[tuple]:
    for chunk in _chunks(customer_ids):
        wanted = set(chunk)
        rows = Customer.objects.filter(among("id", chunk)).values_list(*RECIPIENT_FACTS)
        yield from (row for row in rows if row[0] in wanted)


def _given_rows(customer_ids: list[int], customers: Mapping[int, object]) -> Iterable[tuple]:
    facts = attrgetter(*RECIPIENT_FACTS)
    return (facts(customers[cid]) for cid in customer_ids if cid in customers)


def _recipients(
    rows: Iterable[tuple], stores: dict[int, Store], now: datetime
) -> tuple[dict[int, Recipient], dict[int, str]]:
    """Each customer's facts for the policy; customers alike share one Recipient (see `_Batch.decide`)."""
    recipients: dict[int, Recipient] = {}
    regions: dict[int, str] = {}
    shared: dict[tuple, Recipient] = {}
    undeliverable = set(
        UndeliverableNumber.objects.filter(store_id__in=stores).values_list("store_id", "phone")
    )
    for cid, store_id, phone, consent, tz, region, clicked, frequency in rows:
        if store_id not in stores:
            continue
        facts = (
            consent,
            tz or stores[store_id].default_timezone,
            is_cold(clicked, now=now, cold_after_days=stores[store_id].cold_after_days),
            (store_id, phone) in undeliverable,
            frequency,
        )
        if facts not in shared:
            shared[facts] = Recipient(*facts)
        recipients[cid] = shared[facts]
        regions[cid] = (region or region_for_phone(phone)).upper()
    return recipients, regions


def _slots(customer_ids: list[int], stage: str, since: datetime) -> defaultdict[int, list[Slot]]:
    statuses = PLANNED if stage == Stage.CREATE else WENT_OUT
    slots: defaultdict[int, list[Slot]] = defaultdict(list)
    for chunk in _chunks(customer_ids):
        wanted = set(chunk)
        rows = Message.objects.filter(
            among("customer_id", chunk),
            kind=Message.Kind.MARKETING,
            status__in=statuses,
            planned_at__gte=since,
        ).values_list("id", "customer_id", "planned_at", "priority", "status", "flow_run_id")
        for mid, cid, at, priority, status, run_id in rows:
            if cid not in wanted:
                continue
            slots[cid].append(
                Slot(at=at, priority=priority, message_id=mid, unsent=status in UNSENT, run_id=run_id)
            )
    return slots


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def region_for_phone(phone: str) -> str:
    """The US state of a number's area code, so state rules apply when no region is given."""
    try:
        return phone_facts(phone).region
    except phonenumbers.NumberParseException:
        return ""


def quiet_hours_rules_seed(*, using: str = "default") -> int:
    """Create the default state rules that are missing; existing (edited) rows are left alone."""
    rules = QuietHoursRule.objects.using(using)
    existing = set(rules.filter(store__isnull=True).values_list("region", flat=True))
    rows = [
        QuietHoursRule(region=region, window_start=start, window_end=end, max_per_24h=cap, note=note)
        for region, start, end, cap, note in DEFAULT_STATE_RULES
        if region not in existing
    ]
    rules.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
