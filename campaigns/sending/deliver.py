"""Delivery: claim, check again, pace, hand to the provider, record.

A message moves queued → sending (claimed in its own transaction) → sent → delivered /
undelivered / failed, through the lifecycle in `models/outbox.py`: every change is a conditional
UPDATE on the state the worker expects, so a second worker or a re-run task can never send the
same row twice. A "try later" answer holds the text with backoff until its `valid_until`; the
circuit breaker (`circuit.py`) stops calling a provider that is down.
"""

from __future__ import annotations

import queue
import random
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet

from campaigns.models import Campaign, GuardrailDecision, Message, Reason, SendRateBucket, UndeliverableNumber
from campaigns.models.outbox import Note, decisions_record
from campaigns.sending import guardrails
from campaigns.sending.call_threads import Answers, call_threads
from campaigns.sending.circuit import OPEN, PROBE, circuit_admit, circuit_failure, circuit_success
from campaigns.sending.gateways import (
    AMBIGUOUS_CODES,
    OPTED_OUT_CODES,
    UNDELIVERABLE_CODES,
    Accepted,
    Gateway,
    GatewayError,
    ProviderMessage,
    gateway_from_settings,
)
from campaigns.sending.outbox import plain_allow
from campaigns.sending.queue import _proposals, verdicts_apply
from customers.ingest.consent import consent_change
from customers.models import Customer, Store
from customers.senders import store_sender as sender_for

Status = Message.Status
Answer = Accepted | ProviderMessage | GatewayError
Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage
RATE_BY_SENDER_TYPE = {
    Store.SenderType.LONG_CODE: 1,
    Store.SenderType.TOLL_FREE: 3,
    Store.SenderType.SHORT_CODE: 100,
}


PROVIDER_CLOCK_SKEW = timedelta(minutes=5)


# --- one batch -------------------------------------------------------------------------------


def messages_claim(*, message_ids: list[int], now: datetime) -> list[Message]:
    """Take queued, due messages for this worker; rows another worker took are skipped."""
    claimable = Message.objects.filter(id__in=message_ids)
    claimable = claimable.exclude(campaign_id__in=paused_campaign_ids())
    return claimable.claim_due(now=now, token=uuid.uuid4())


def messages_recheck(*, messages: list[Message], now: datetime) -> list[Message]:
    """The guardrails again, right before the provider call; returns the messages still allowed."""
    # No savepoint of its own: within the claim's transaction an error here undoes the claim too.
    # The claim has just read the texts' stores in this transaction: they are not read again.
    with transaction.atomic(savepoint=False):
        proposals = guardrails.evaluate(
            proposals=_proposals(messages), stage=Stage.SEND, now=now, stores=guardrails.held_stores(messages)
        )
        refused = [p for p in proposals if p.verdict.outcome != Outcome.ALLOW]
        if refused:
            verdicts_apply(proposals=refused, stage=Stage.SEND, now=now, from_status=Status.SENDING)
        # As at creation, a plain allow is what the text's own status says: only more is stored.
        decisions_record(
            messages=[
                (p.message_id, p.verdict)
                for p in proposals
                if p.verdict.outcome == Outcome.ALLOW and not plain_allow(p.verdict)
            ],
            stage=Stage.SEND,
            now=now,
        )
    allowed = {p.message_id for p in proposals if p.verdict.outcome == Outcome.ALLOW}
    return [m for m in messages if m.id in allowed]


def messages_send(*, message_ids: list[int], now: datetime, gateway: Gateway | None = None) -> int:
    """Claim, check, pace and send one batch; returns how many the provider accepted."""
    gateway = gateway or gateway_from_settings()
    with transaction.atomic():  # the claim and the check before sending commit together
        claimed = messages_claim(message_ids=message_ids, now=now)
        allowed = messages_recheck(messages=claimed, now=now) if claimed else []
    by_sender: dict[str, list[Message]] = defaultdict(list)
    for message in allowed:
        by_sender[sender_for(message.store) or message.store.slug].append(message)
    started = time.monotonic()
    return sum(
        _send_group(sender=sender, messages=messages, now=now, gateway=gateway, started=started)
        for sender, messages in by_sender.items()
    )


def _send_group(
    *, sender: str, messages: list[Message], now: datetime, gateway: Gateway, started: float
) -> int:
    admission = circuit_admit(sender=sender, now=now)
    if admission.state == OPEN:
        messages_wait_for_provider(messages=messages, until=admission.open_until, now=now)
        return 0
    if admission.state == PROBE:  # one text tells whether the provider is back
        messages_wait_for_provider(messages=messages[1:], until=admission.open_until, now=now)
        messages = messages[:1]
    rate = send_rate(messages[0].store) if gateway.paced else 0
    slots = rate_slots_reserve(sender=sender, rate=rate, count=len(messages), now=now)
    if len(slots) < len(messages):
        messages_unclaim(messages=messages[len(slots) :], now=now, not_before=slots_free_at(sender, now))
    answers, open_until, last = _provider_answers(
        sender=sender,
        messages=messages[: len(slots)],
        slots=slots,
        now=now,
        gateway=gateway,
        started=started,
        probe=admission.state == PROBE,
    )
    if open_until:  # the provider is down: the rest of the group waits without calling it
        messages_wait_for_provider(messages=messages[len(answers) : len(slots)], until=open_until, now=now)
    elif last is not None and not (isinstance(last, GatewayError) and last.retryable):
        circuit_success(sender=sender)
    # One commit for the group: a crash before it leaves the texts `sending`, and the
    # reconciler finds them at the provider.
    with transaction.atomic():
        if not any(isinstance(answer, GatewayError) for _, _, answer in answers):
            _commit_without_flush()
        accepted = messages_accepted(
            answers=[(m, slot, a) for m, slot, a in answers if not isinstance(a, GatewayError)], now=now
        )
        for message, slot, answer in answers:
            if isinstance(answer, GatewayError):
                message_fail(message=message, error=answer, now=slot, not_before=open_until)
    return accepted


def _provider_answers(
    *,
    sender: str,
    messages: list[Message],
    slots: list[datetime],
    now: datetime,
    gateway: Gateway,
    started: float,
    probe: bool,
) -> tuple[list[tuple[Message, datetime, Answer]], datetime | None, Answer | None]:
    """Hand texts to the provider, each no earlier than its slot, with up to SMS_SEND_CONCURRENCY
    calls in flight. Once a "try later" opens the breaker no new call starts; the calls in flight
    finish and are answered for. Returns the answers of the texts handed over, in their order, until
    when the breaker is open, and the answer that came back last."""
    calls = call_threads(settings.SMS_SEND_CONCURRENCY)
    answers: Answers = queue.SimpleQueue()
    answered: dict[int, Answer] = {}
    in_flight = 0
    open_until: datetime | None = None
    last: Answer | None = None

    def collect(block: bool) -> None:
        """Take the answers that came back; with `block`, wait for one first."""
        nonlocal in_flight, open_until, last
        while in_flight and (block or not answers.empty()):
            index, answer, error = answers.get()
            in_flight, block = in_flight - 1, False
            if error is not None:
                raise error
            answered[index] = last = answer
            # Calls already in flight when the breaker opened are held with the rest, not counted again.
            if isinstance(answer, GatewayError) and answer.retryable and open_until is None:
                open_until = circuit_failure(sender=sender, error=str(answer), now=now, probe=probe)

    for index, (message, slot) in enumerate(zip(messages, slots, strict=True)):
        while open_until is None and in_flight >= settings.SMS_SEND_CONCURRENCY:
            collect(block=True)
        if open_until is None:
            _wait(started, (slot - now).total_seconds())
            collect(block=False)  # answers that came in meanwhile
        if open_until:
            break
        calls.submit(provider_answer, index, answers, message=message, gateway=gateway)
        in_flight += 1
        collect(block=False)
    while in_flight:
        collect(block=True)
    return [(messages[i], slots[i], answered[i]) for i in sorted(answered)], open_until, last


def _commit_without_flush() -> None:
    """Acceptances only: should the database lose this commit in a crash, the texts are still
    `sending` and the reconciler adopts them from the provider, so it need not wait for the disk."""
    # Only when the transaction is this group's own: a caller's outer one keeps its durability.
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def messages_accepted(
    *, answers: list[tuple[Message, datetime, Accepted | ProviderMessage]], now: datetime
) -> int:
    """Record a batch of provider acceptances in one UPDATE per claim; how many were recorded."""
    by_claim: dict[tuple, dict[int, dict[str, object]]] = defaultdict(dict)
    for message, slot, answer in answers:
        sender = sender_for(message.store)[:34]
        by_claim[(message.claim_token, sender)][message.id] = {
            "provider_sid": answer.sid,
            "provider_status": answer.status,
            "sent_at": slot,
            "planned_at": slot,
        }
    recorded = 0
    for (token, sender), values in by_claim.items():
        shared = _shared_values(values)
        recorded += len(
            Message.objects.transition_each(
                source=Status.SENDING,
                target=Status.SENT,
                now=now,
                claim_token=token,
                values={mid: {k: row[k] for k in row if k not in shared} for mid, row in values.items()},
                attempts=F("attempts") + 1,
                error_code="",
                error_message="",
                reason="",
                sender=sender,
                **shared,
            )
        )
    return recorded


def _shared_values(values: dict[int, dict[str, object]]) -> dict[str, object]:
    """The columns every row sets alike (the status, the send time when unpaced): set once, not per row."""
    rows = list(values.values())
    return {name: value for name, value in rows[0].items() if all(row[name] == value for row in rows)}


def messages_unclaim(*, messages: list[Message], now: datetime, not_before: datetime) -> None:
    """Hand back claimed messages the sender cannot take within the pacing horizon."""
    if messages:
        Message.objects.filter(id__in=[m.id for m in messages]).transition(
            source=Status.SENDING,
            target=Status.QUEUED,
            now=now,
            send_after=not_before,
            enqueued_at=None,
            claim_token=None,
        )


def messages_wait_for_provider(*, messages: list[Message], until: datetime, now: datetime) -> None:
    """Hold claimed texts, without calling the provider, until its breaker lets a probe through."""
    if messages:
        _hold_for_retry(
            ids=[m.id for m in messages], until=until, now=now, detail="provider unavailable: circuit open"
        )


def _hold_for_retry(
    *, ids: list[int], until: datetime, now: datetime, detail: str, **fields: object
) -> list[int]:
    """Held until `until`, or dropped as expired if that is past the text's `valid_until`."""
    rows = Message.objects.filter(id__in=ids)
    held = rows.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=until)).transition(
        source=Status.SENDING,
        target=Status.HELD,
        now=now,
        stage=Stage.PROVIDER,
        decision=Note(Outcome.HOLD, Reason.RETRY, detail=detail, held_until=until),
        reason=Reason.RETRY,
        send_after=until,
        planned_at=until,
        claim_token=None,
        enqueued_at=None,
        **fields,
    )
    rows.filter(valid_until__lte=until).transition(
        source=Status.SENDING,
        target=Status.SUPPRESSED,
        now=now,
        stage=Stage.PROVIDER,
        decision=Note(Outcome.SUPPRESS, Reason.EXPIRED, detail=f"{detail}; the next try is past valid until"),
        reason=Reason.EXPIRED,
        claim_token=None,
        **fields,
    )
    return held


def _wait(started: float, offset_seconds: float) -> None:
    delay = started + offset_seconds - time.monotonic()
    if delay > 0:
        time.sleep(delay)


# --- pacing ----------------------------------------------------------------------------------


def send_rate(store: Store) -> float:
    """Messages per second for the store's sender; 0 means no limit."""
    if not settings.SMS_RATE_LIMIT:
        return 0
    if store.send_rate_per_second is not None:
        return store.send_rate_per_second
    return RATE_BY_SENDER_TYPE.get(store.sender_type, 1)


def rate_slots_reserve(*, sender: str, rate: float, count: int, now: datetime) -> list[datetime]:
    """Reserve up to `count` send times for `sender`, shared by every worker through one row.

    Only slots within the pacing horizon are handed out, so a worker never sleeps long while
    holding claimed messages; fewer than `count` slots means the rest must wait.
    """
    if rate <= 0 or count == 0:
        return [now] * count
    step = timedelta(seconds=1 / rate)
    horizon = now + timedelta(seconds=settings.SMS_RATE_HORIZON_SECONDS)
    with transaction.atomic():
        SendRateBucket.objects.get_or_create(sender=sender, defaults={"next_slot_at": now})
        bucket = SendRateBucket.objects.select_for_update().get(sender=sender)
        start = _free_from(bucket.next_slot_at, now)
        fits = max(0, int((horizon - start) / step))
        slots = [start + i * step for i in range(min(count, fits))]
        if slots:
            bucket.next_slot_at = start + len(slots) * step
            bucket.save(update_fields=["next_slot_at"])
    return slots


def slots_free_at(sender: str, now: datetime) -> datetime:
    bucket = SendRateBucket.objects.filter(sender=sender).values_list("next_slot_at", flat=True).first()
    return _free_from(bucket, now) if bucket else now


def _free_from(next_slot_at: datetime, now: datetime) -> datetime:
    """The first free slot from `now`. Slots are only handed out within the horizon, so a stored
    slot beyond it was reserved by a run acting at a later `--now` (a demo, a test): it is not this
    moment's and is ignored, so real texts never wait behind a simulated future."""
    if now <= next_slot_at <= now + timedelta(seconds=settings.SMS_RATE_HORIZON_SECONDS + 60):
        return next_slot_at
    return now


# --- one message -----------------------------------------------------------------------------


def provider_answer(*, message: Message, gateway: Gateway) -> Accepted | ProviderMessage | GatewayError:
    """Hand one claimed message to the provider (unless it already has it); what it answered."""
    try:
        return _already_at_provider(message, gateway) or gateway.send(
            to=message.to, body=message.body, store=message.store
        )
    except GatewayError as error:
        return error


def _already_at_provider(message: Message, gateway: Gateway) -> ProviderMessage | None:
    """After a timeout the provider may have the text already: look before sending again."""
    if message.error_code not in AMBIGUOUS_CODES:
        return None
    return gateway.find(to=message.to, body=message.body, since=message.created_at - PROVIDER_CLOCK_SKEW)


def message_accepted(*, message: Message, sid: str, provider_status: str, now: datetime) -> bool:
    """Record the provider's SID; one conditional UPDATE, so no transaction of its own."""
    return message.transition(
        target=Status.SENT,
        now=now,
        provider_sid=sid,
        provider_status=provider_status,
        sent_at=now,
        planned_at=now,
        attempts=F("attempts") + 1,
        error_code="",
        error_message="",
        reason="",
        sender=sender_for(message.store)[:34],
    )


def message_fail(
    *, message: Message, error: GatewayError, now: datetime, not_before: datetime | None = None
) -> None:
    """Record a provider error: "try later" holds the text with backoff until its `valid_until`
    (however many tries that takes); anything else fails it for good with the customer-side effect."""
    attempts = message.attempts + 1
    fields = {"attempts": attempts, "error_code": error.code[:16], "error_message": error.message[:300]}
    if error.retryable:
        # While the breaker is open the provider sets the pace, not this text's own tries.
        retry_at = not_before or now + backoff(attempts)
        with transaction.atomic():
            _hold_for_retry(ids=[message.id], until=retry_at, now=now, detail=str(error)[:200], **fields)
        return
    reason = {
        "opted_out": Reason.PROVIDER_OPT_OUT,
        "undeliverable": Reason.NUMBER_UNDELIVERABLE,
    }.get(error.kind, Reason.PROVIDER_REJECTED)
    with transaction.atomic():
        if message.transition(
            target=Status.FAILED,
            now=now,
            stage=Stage.PROVIDER,
            decision=Note(Outcome.SUPPRESS, reason, detail=str(error)[:200]),
            reason=reason,
            claim_token=None,
            **fields,
        ):
            _customer_side_effect(message=message, code=error.code, now=now)


def _customer_side_effect(*, message: Message, code: str, now: datetime) -> None:
    if code in OPTED_OUT_CODES:
        customer = Customer.objects.get(id=message.customer_id)
        if customer.sms_consent != Customer.Consent.UNSUBSCRIBED:
            consent_change(
                customer=customer,
                action="opt_out",
                source="provider",
                occurred_at=now,
                now=now,
                keyword="21610",
                wording="The carrier reports the recipient replied STOP (Twilio error 21610).",
            )
    elif code in UNDELIVERABLE_CODES:
        UndeliverableNumber.objects.bulk_create(
            [
                UndeliverableNumber(
                    store_id=message.store_id, phone=message.to, error_code=code, recorded_at=now
                )
            ],
            ignore_conflicts=True,
        )


def backoff(attempt: int) -> timedelta:
    """Exponential backoff with jitter: half the step fixed, half random, so workers spread out."""
    step = min(settings.SMS_RETRY_MAX_SECONDS, settings.SMS_RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    return timedelta(seconds=step / 2 + random.uniform(0, step / 2))


def messages_send_ids(*, message_ids: list[int], now: datetime, gateway: Gateway | None = None) -> int:
    """Send the given texts in this process, a batch at a time; returns how many the provider took."""
    gateway = gateway or gateway_from_settings()
    size = settings.SMS_SEND_BATCH_SIZE
    return sum(
        messages_send(message_ids=message_ids[start : start + size], now=now, gateway=gateway)
        for start in range(0, len(message_ids), size)
    )


def paused_campaign_ids() -> QuerySet[Campaign]:
    """Campaigns whose queued texts must not be handed out (pausing is the broadcasts' business);
    usable as a subquery."""
    return Campaign.objects.filter(status=Campaign.Status.PAUSED).values("pk")
