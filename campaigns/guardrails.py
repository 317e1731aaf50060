"""The one sending policy: a message is allowed, held until a time, or suppressed with a reason.

`decide` is the policy for one message; `evaluate` loads what it needs for a whole batch in a few
queries and calls it per message. Outbox creation, the release of held messages and the last
check before the provider call all go through `evaluate`.

Transactional texts (confirmations, replies) skip caps, overlap and quiet hours, but never reach
an opted-out number, except the opt-out confirmation itself (`confirms_opt_out`). A staff reply
to a customer's own text within 24 h (`kind="reply"`) is treated the same way; later replies are
marketing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.db.models import Q

from customers.models import Customer, Store
from customers.phones import phone_facts

from .models import GuardrailDecision, Message, QuietHoursRule, Reason, UndeliverableNumber

Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage
DAY = timedelta(hours=24)
WEEK = timedelta(days=7)
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


@dataclass(frozen=True)
class Limits:
    window_start: time = time(8, 0)
    window_end: time = time(21, 0)
    per_day: int = 1
    per_week: int = 3
    state_per_day: int | None = None
    overlap: timedelta = timedelta(hours=12)


@dataclass
class Slot:
    """A marketing text of the same customer that counts toward caps and overlap."""

    at: datetime
    priority: int
    message_id: int | None = None
    unsent: bool = False


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str
    held_until: datetime | None = None
    detail: str = ""
    superseded: tuple[int, ...] = ()

    @property
    def status(self) -> str:
        return {
            Outcome.ALLOW: Message.Status.QUEUED,
            Outcome.HOLD: Message.Status.HELD,
            Outcome.SUPPRESS: Message.Status.SUPPRESSED,
        }[self.outcome]


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
) -> Verdict:
    """The policy for one message at `now`; `slots` are the customer's other marketing texts."""
    refused = _consent_verdict(kind, confirms_opt_out, recipient)
    if refused:
        return refused
    if valid_until is not None and now >= valid_until:
        return Verdict(
            Outcome.SUPPRESS, Reason.EXPIRED, detail=f"valid until {valid_until:%Y-%m-%d %H:%M} UTC"
        )
    if kind in (Message.Kind.TRANSACTIONAL, Message.Kind.REPLY):
        return Verdict(Outcome.ALLOW, Reason.OK)

    at, reason, detail = now, Reason.OK, ""
    overlap = _overlap(priority, slots, limits.overlap, now, may_supersede)
    if overlap.blocked_by is not None:
        other = f"message {overlap.blocked_by}" if overlap.blocked_by else "another text in this batch"
        return Verdict(
            Outcome.SUPPRESS,
            Reason.OVERLAP,
            detail=f"{other} within {_hours(limits.overlap)} h has priority >= {priority}",
        )
    if overlap.not_before > at:
        at, reason, detail = overlap.not_before, Reason.OVERLAP, "after a lower-priority text already sent"
    counted = [s for s in slots if s.message_id not in overlap.superseded]
    for _ in range(3):  # caps and the window can push each other later; a few rounds settle it
        capped_at, cap_reason, cap_detail = _cap_release(at, counted, limits)
        if capped_at > at:
            at, reason, detail = capped_at, cap_reason, cap_detail
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
        )
    return Verdict(Outcome.HOLD, reason, held_until=at, detail=detail, superseded=overlap.superseded)


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
    not_before: datetime = datetime.min.replace(tzinfo=UTC)
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
            result.blocked_by = slot.message_id or 0
            return result
        if slot.unsent and may_supersede and slot.message_id is not None:
            replaced.append(slot.message_id)
        else:
            result.not_before = max(result.not_before, slot.at + window)
    result.superseded = tuple(replaced)
    return result


def _cap_release(at: datetime, slots: list[Slot], limits: Limits) -> tuple[datetime, str, str]:
    """The earliest time from `at` on when every rolling cap has room for one more text."""
    if not slots and limits.per_day > 0 and limits.per_week > 0 and limits.state_per_day != 0:
        return at, Reason.OK, ""
    latest_first = sorted((s.at for s in slots), reverse=True)
    per_day = limits.per_day
    state_binds = limits.state_per_day is not None and limits.state_per_day < per_day
    if state_binds:
        per_day = limits.state_per_day
    best, reason, detail = at, Reason.OK, ""
    for cap, span, label in ((per_day, DAY, "24 h"), (limits.per_week, WEEK, "7 days")):
        recent = [t for t in latest_first if t > at - span]
        if len(recent) >= cap:
            free_at = recent[cap - 1] + span if cap > 0 else datetime.max.replace(tzinfo=UTC) - span
            if free_at > best:
                best = free_at
                reason = Reason.STATE_CAP if state_binds and span == DAY else Reason.FREQUENCY_CAP
                detail = f"{cap} per {label}"
    return best, reason, detail


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
    verdict: Verdict | None = field(default=None)


def evaluate(*, proposals: list[Proposal], stage: str, now: datetime) -> list[Proposal]:
    """Decide every proposal at `now`, higher priority first; sets `proposal.verdict`."""
    if not proposals:
        return proposals
    customer_ids = sorted({p.customer_id for p in proposals})
    stores = {s.id: s for s in Store.objects.filter(id__in={p.store_id for p in proposals})}
    rules = _state_rules(stores)
    recipients, regions = _recipients(customer_ids, stores, now)
    marketing = any(p.kind == Message.Kind.MARKETING for p in proposals)
    horizon = max([WEEK] + [timedelta(hours=s.overlap_hours) for s in stores.values()])
    slots = _slots(customer_ids, stage, now - horizon) if marketing else defaultdict(list)
    for proposal in sorted(proposals, key=lambda p: -p.priority):
        store = stores[proposal.store_id]
        recipient = recipients.get(
            proposal.customer_id, Recipient(consent=Customer.Consent.NONE, timezone="UTC")
        )
        own = [
            s
            for s in slots[proposal.customer_id]
            if s.message_id is None or s.message_id != proposal.message_id
        ]
        proposal.verdict = decide(
            kind=proposal.kind,
            priority=proposal.priority,
            valid_until=proposal.valid_until,
            confirms_opt_out=proposal.confirms_opt_out,
            recipient=recipient,
            limits=_limits(store, rules.get((store.id, regions.get(proposal.customer_id, ""))), recipient),
            slots=own,
            may_supersede=stage == Stage.CREATE,
            now=now,
        )
        _book(slots[proposal.customer_id], proposal, now)
    return proposals


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
        )
    )


def _limits(store: Store, rule: QuietHoursRule | None, recipient: Recipient) -> Limits:
    start, end = store.quiet_hours_start, store.quiet_hours_end
    state_per_day = None
    if rule is not None:
        start, end = max(start, rule.window_start), min(end, rule.window_end)
        state_per_day = rule.max_per_24h
    per_week = min(store.cap_per_week, store.cold_cap_per_week) if recipient.cold else store.cap_per_week
    return Limits(
        window_start=start,
        window_end=end,
        per_day=store.cap_per_day,
        per_week=per_week,
        state_per_day=state_per_day,
        overlap=timedelta(hours=store.overlap_hours),
    )


def _state_rules(stores: dict[int, Store]) -> dict[tuple[int, str], QuietHoursRule]:
    rules = QuietHoursRule.objects.filter(Q(store__isnull=True) | Q(store_id__in=stores))
    defaults = {r.region: r for r in rules if r.store_id is None}
    result = {(store_id, region): rule for store_id in stores for region, rule in defaults.items()}
    result.update({(r.store_id, r.region): r for r in rules if r.store_id is not None})
    return result


def _recipients(
    customer_ids: list[int], stores: dict[int, Store], now: datetime
) -> tuple[dict[int, Recipient], dict[int, str]]:
    recipients: dict[int, Recipient] = {}
    regions: dict[int, str] = {}
    fields = (
        "id",
        "store_id",
        "phone",
        "sms_consent",
        "timezone",
        "region",
        "last_sms_click_at",
        "sms_consent_at",
        "created_at",
    )
    undeliverable = set(
        UndeliverableNumber.objects.filter(store_id__in=stores).values_list("store_id", "phone")
    )
    for chunk in _chunks(customer_ids):
        wanted = set(chunk)
        rows = Customer.objects.filter(_among("id", chunk)).values_list(*fields)
        for cid, store_id, phone, consent, tz, region, clicked, consented, created in rows:
            if cid not in wanted:
                continue
            store = stores.get(store_id)
            engaged = clicked or consented or created
            cold = bool(store and engaged and engaged < now - timedelta(days=store.cold_after_days))
            recipients[cid] = Recipient(consent, tz, cold, (store_id, phone) in undeliverable)
            regions[cid] = (region or region_for_phone(phone)).upper()
    return recipients, regions


def _slots(customer_ids: list[int], stage: str, since: datetime) -> defaultdict[int, list[Slot]]:
    statuses = PLANNED if stage == Stage.CREATE else WENT_OUT
    slots: defaultdict[int, list[Slot]] = defaultdict(list)
    for chunk in _chunks(customer_ids):
        wanted = set(chunk)
        rows = Message.objects.filter(
            _among("customer_id", chunk),
            kind=Message.Kind.MARKETING,
            status__in=statuses,
            planned_at__gte=since,
        ).values_list("id", "customer_id", "planned_at", "priority", "status")
        for mid, cid, at, priority, status in rows:
            if cid not in wanted:
                continue
            slots[cid].append(Slot(at=at, priority=priority, message_id=mid, unsent=status in UNSENT))
    return slots


def _among(field: str, ids: list[int]) -> Q:
    """A range for a dense run of ids (a broadcast's recipients), else a list; callers drop extras."""
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return Q(**{f"{field}__gte": low, f"{field}__lte": high})
    return Q(**{f"{field}__in": ids})


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
