"""The guardrails over a batch: load what the policy needs in a few queries, then decide each text.

Outbox creation, the release of held messages and the last check before the provider call all go
through `evaluate`, which calls `policy.decide` per message, higher priority first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter

from django.db.models import Exists, OuterRef, Q

from campaigns.bulk import among, any_of
from campaigns.models import FlowStep, Message, QuietHoursRule, UndeliverableNumber
from campaigns.sending.policy import (
    CHUNK,
    DEFAULT_STATE_RULES,
    MONTH,
    WEEK,
    Limits,
    Outcome,
    Proposal,
    Recipient,
    Slot,
    Stage,
    Verdict,
    Window,
    decide,
    region_for_phone,
    window_opens,
)
from customers.engagement import is_cold
from customers.models import Customer, Store


def evaluate(
    *,
    proposals: list[Proposal],
    stage: str,
    now: datetime,
    customers: Mapping[int, object] | None = None,
    stores: Mapping[int, Store] | None = None,
    known: Known | None = None,
) -> list[Proposal]:
    """Decide every proposal at `now`, higher priority first; sets `proposal.verdict`.

    `customers`: the proposals' customers as rows with the `RECIPIENT_FACTS` attributes, when the
    caller has just read them for this batch (a broadcast does); otherwise they are read here.
    `stores`: store rows the caller holds already; the others are read here.
    `known`: the stores, state rules and step windows the caller has read for this batch.
    """
    if not proposals:
        return proposals
    if known is not None:
        stores = {**(stores or {}), **known.stores}
    batch = _Batch.load(proposals, stage=stage, now=now, customers=customers, stores=stores, known=known)
    for proposal in sorted(proposals, key=lambda p: -p.priority):
        batch.decide(proposal, now=now, may_supersede=stage == Stage.CREATE)
    return proposals


@dataclass(frozen=True)
class Known:
    """What a caller has read for its batch already, so the guardrails do not read it again:
    stores with their `state_rules` (read for exactly these stores), and flow steps. A store or
    step of the batch that is not here is read as usual."""

    stores: Mapping[int, Store]
    rules: dict[tuple[int, str], QuietHoursRule]
    steps: Mapping[int, FlowStep]


def stores_of(store_ids: set[int], *, given: Mapping[int, Store] | None = None) -> dict[int, Store]:
    """The store rows for these ids: those `given`, the others read."""
    found = {pk: store for pk, store in (given or {}).items() if pk in store_ids}
    if missing := store_ids - found.keys():
        found.update(Store.objects.in_bulk(missing))
    return found


def held_stores(rows: Iterable[Message | Customer]) -> dict[int, Store]:
    """The store rows these texts or customers already hold, by id: none is read."""
    return {row.store_id: row.store for row in rows if row._meta.get_field("store").is_cached(row)}


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
    "offer_state",
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
        stores: Mapping[int, Store] | None = None,
        known: Known | None = None,
    ) -> _Batch:
        customer_ids = sorted({p.customer_id for p in proposals})
        stores = stores_of({p.store_id for p in proposals}, given=stores)
        rows = _fact_rows(customer_ids) if customers is None else _given_rows(customer_ids, customers, stores)
        recipients, regions = _recipients(rows, stores, now)
        marketing = any(p.kind == Message.Kind.MARKETING for p in proposals)
        monthly = any(r.frequency == "monthly" for r in recipients.values())
        overlaps = [timedelta(hours=s.overlap_hours) for s in stores.values()]
        horizon = max([MONTH if monthly else WEEK, *overlaps])
        return cls(
            stores=stores,
            rules=known.rules if known and stores.keys() <= known.stores.keys() else state_rules(stores),
            steps=_windows_of({p.step_id for p in proposals if p.step_id}, known.steps if known else {}),
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
        offer = proposal.offer_state
        if others or own_run:
            args = dict(zip(DECIDED_ON, (*given, recipient, limits, may_supersede, now, offer), strict=True))
            proposal.verdict = decide(**args, slots=others, own_run=own_run)
        else:
            # Recipients and limits are shared objects (see `_recipients`, `_limits`): their
            # identities stand for them in the class key, which is cheaper to hash per proposal.
            key = (*given, id(recipient), id(limits), may_supersede, now, offer)
            if key not in self.classes:
                facts = (*given, recipient, limits, may_supersede, now, offer)
                args = dict(zip(DECIDED_ON, facts, strict=True))
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
            self.limits[key] = store_limits(store, rule, recipient, self.steps.get(step_id))
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


def store_limits(
    store: Store, rule: QuietHoursRule | None, recipient: Recipient, step: Window | None
) -> Limits:
    """The caps and window a text to this recipient obeys: the store's, a state's rule, a step's window."""
    start, end = send_window(store, rule, step)
    cold = recipient.cold and store.cold_cap_per_week < store.cap_per_week
    per_week = store.cold_cap_per_week if cold else store.cap_per_week
    return Limits(
        window_start=start,
        window_end=end,
        per_day=store.cap_per_day,
        per_week=per_week,
        state_per_day=rule.max_per_24h if rule is not None else None,
        overlap=timedelta(hours=store.overlap_hours),
        chosen=recipient.frequency,
        cold=cold,
    )


def step_window(step: FlowStep) -> Window | None:
    """A step's own window; a start alone is a time to wait for (see `policy.step_due`), not a window."""
    if step.window_start is not None and step.window_end is not None and step.window_start < step.window_end:
        return (step.window_start, step.window_end)
    return None


def step_windows(steps: Iterable[FlowStep]) -> dict[int, Window]:
    """The own windows of the steps that have one, by step id."""
    return {s.id: w for s in steps if (w := step_window(s)) is not None}


def _windows_of(step_ids: set[int], given: Mapping[int, FlowStep]) -> dict[int, Window]:
    """The windows of these steps: from the `given` rows, the others read."""
    windows = step_windows(given[pk] for pk in step_ids if pk in given)
    if missing := {pk for pk in step_ids if pk not in given}:
        windows.update(_step_windows(missing))
    return windows


def _step_windows(step_ids: set[int]) -> dict[int, Window]:
    if not step_ids:
        return {}
    steps = FlowStep.objects.filter(id__in=step_ids, window_end__isnull=False).only(
        "id", "window_start", "window_end"
    )
    return step_windows(steps)


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
    """`RECIPIENT_FACTS` and whether the number is known undeliverable, in one query per chunk."""
    undeliverable = UndeliverableNumber.objects.filter(store_id=OuterRef("store_id"), phone=OuterRef("phone"))
    for chunk in chunks(customer_ids):
        wanted = set(chunk)
        rows = (
            Customer.objects.filter(among("id", chunk))
            .annotate(undeliverable=Exists(undeliverable))
            .values_list(*RECIPIENT_FACTS, "undeliverable")
        )
        yield from (row for row in rows if row[0] in wanted)


def _given_rows(
    customer_ids: list[int], customers: Mapping[int, object], stores: dict[int, Store]
) -> Iterable[tuple]:
    facts = attrgetter(*RECIPIENT_FACTS)
    rows = [facts(customers[cid]) for cid in customer_ids if cid in customers]
    undeliverable = _undeliverable(stores, [row[2] for row in rows])
    return ((*row, (row[1], row[2]) in undeliverable) for row in rows)


def _recipients(
    rows: Iterable[tuple], stores: dict[int, Store], now: datetime
) -> tuple[dict[int, Recipient], dict[int, str]]:
    """Each customer's facts for the policy; customers alike share one Recipient (see `_Batch.decide`)."""
    recipients: dict[int, Recipient] = {}
    regions: dict[int, str] = {}
    shared: dict[tuple, Recipient] = {}
    for cid, store_id, phone, consent, tz, region, clicked, frequency, undeliverable in rows:
        if store_id not in stores:
            continue
        facts = (
            consent,
            tz or stores[store_id].default_timezone,
            is_cold(clicked, now=now, cold_after_days=stores[store_id].cold_after_days),
            bool(undeliverable),
            frequency,
        )
        if facts not in shared:
            shared[facts] = Recipient(*facts)
        recipients[cid] = shared[facts]
        regions[cid] = (region or region_for_phone(phone)).upper()
    return recipients, regions


def _undeliverable(stores: dict[int, Store], phones: list[str]) -> set[tuple[int, str]]:
    """The batch's numbers known not to take texts: looked up by number, since a store's list of
    them grows with its audience and a batch is a small part of it."""
    found: set[tuple[int, str]] = set()
    for chunk in chunks(sorted(set(phones))):
        numbers = UndeliverableNumber.objects.filter(any_of("phone", chunk), store_id__in=stores)
        found.update(numbers.values_list("store_id", "phone"))
    return found


def _slots(customer_ids: list[int], stage: str, since: datetime) -> defaultdict[int, list[Slot]]:
    statuses = Message.PLANNED if stage == Stage.CREATE else Message.WENT_OUT
    slots: defaultdict[int, list[Slot]] = defaultdict(list)
    for chunk in chunks(customer_ids):
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
                Slot(at=at, priority=priority, message_id=mid, unsent=status in Message.UNSENT, run_id=run_id)
            )
    return slots


def chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


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
