"""The sending policy for one message: allowed, held until a time, or suppressed with a reason.

Transactional texts (confirmations, replies) skip caps, overlap and the sending window, but never
reach an opted-out number, except the opt-out confirmation itself (`confirms_opt_out`). A staff
reply to a customer's own text within 24 h (`kind="reply"`) is treated the same way; later
replies are marketing.

A flow run is one conversation: its texts never hold or suppress each other, the run counts once
against the caps (its first text is the one that is counted), and its later steps only yield to
other texts of higher priority. A text that yields says which text it yielded to.

A text that carries a unique offer code goes only once its code exists in the shop: until then it
is held (`offer_code_pending`); a code the shop refused holds it until it expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from campaigns.models import FlowStep, GuardrailDecision, Message, Reason
from customers.models import Customer
from customers.phones import phone_facts

Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage
DAY = timedelta(hours=24)
Window = tuple[time, time]
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
# The subscriber's own choice on the preference page: at most one marketing text per span.
CHOSEN_SPANS = {"weekly": (WEEK, "week"), "monthly": (MONTH, "month")}
CHUNK = 5000

# A text's unique offer code (campaigns/content/offers.py): not created yet, or refused.
OFFER_PENDING, OFFER_REFUSED = "pending", "refused"

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
    cold: bool = False  # `per_week` is the store's cap for Cold customers


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
    offer_state: str = "",
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
    if offer_state == OFFER_REFUSED:
        return Verdict(
            Outcome.HOLD,
            Reason.OFFER_CODE_REFUSED,
            held_until=valid_until or now + DAY,
            detail="its code was refused or none was left: held, never sent with another",
        )

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
    # The reason recorded is what kept the text from going at `now`; what pushed it later after
    # that (a cap's release falling at night, say) is added to the detail.
    details = [detail] if detail else []
    for _ in range(4):  # caps and the window can push each other later; a few rounds settle it
        cap = _cap_release(at, [] if own_run else kept, kept + own_run, limits)
        if cap.at > at:
            at = cap.at
            if reason == Reason.OK:
                reason, yielded_to = cap.reason, cap.yielded_to
            details.append(f"{cap.detail}; yielded to {_named(cap.yielded_to)}")
        opens = window_opens(at, recipient.timezone, limits.window_start, limits.window_end)
        if opens == at:
            break
        at, reason = opens, reason if reason != Reason.OK else Reason.QUIET_HOURS
        details.append(f"window {limits.window_start:%H:%M}–{limits.window_end:%H:%M} {recipient.timezone}")
    detail = "; then ".join(dict.fromkeys(details))
    if at == now and offer_state == OFFER_PENDING:
        return Verdict(
            Outcome.HOLD,
            Reason.OFFER_CODE_PENDING,
            held_until=now,
            detail="its code is being created in the shop",
            superseded=overlap.superseded,
        )
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
        (limits.per_week, WEEK, Reason.FREQUENCY_CAP,
         f"{limits.per_week} per 7 days" + (" for Cold customers" if limits.cold else "")),
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


def step_due_after(step: FlowStep, previous: datetime, tz: str, best_hour: int | None = None) -> datetime:
    """When a flow step runs, given the previous step ran at `previous`, in the customer's timezone
    (and at their best hour to text, where the step waits for it)."""
    due = previous + step.delay
    if step.best_hour_within and best_hour is not None:
        return best_hour_within(due, tz, best_hour, timedelta(hours=step.best_hour_within))
    if step.window_start is None:
        return due
    # A start alone is a time to wait for: a one-minute window.
    end = step.window_end or (datetime.combine(date.min, step.window_start) + timedelta(minutes=1)).time()
    if end <= step.window_start:
        end = time.max
    return window_opens(due, tz, step.window_start, end)


def best_hour_of(customer: Customer) -> int | None:
    """The customer's predicted best hour to text, where a run has one (loaded with the customer)."""
    prediction = getattr(customer, "prediction", None)  # none yet: the related lookup raises
    return prediction.best_hour if prediction is not None else None


def best_hour_within(due: datetime, tz_name: str, hour: int, within: timedelta) -> datetime:
    """`due` if it falls in the customer's best local hour, else the hour's next start if it comes
    within `within`, else `due`: a text never waits past the step's limit for it."""
    tz = _zone(tz_name)
    local = due.astimezone(tz)
    if local.hour == hour:
        return due
    for offset in (0, 1, 2, 3):
        # Through UTC and back, so an hour that summer time skips lands on the real instant after it.
        start = datetime.combine(local.date() + timedelta(days=offset), time(hour), tzinfo=tz).astimezone(UTC)
        if start > due:
            return start if start - due <= within else due
    return due


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/New_York")


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


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
    offer_state: str = ""
    verdict: Verdict | None = field(default=None)


def region_for_phone(phone: str) -> str:
    """The US state of a number's area code, so state rules apply when no region is given."""
    try:
        return phone_facts(phone).region
    except phonenumbers.NumberParseException:
        return ""
