"""Delivery: claim, check again, pace, hand to the provider, record; retries and reconciliation.

A message moves queued → sending (claimed in its own transaction) → sent → delivered /
undelivered / failed. Every change is a conditional UPDATE on the state the worker expects, so a
second worker, a re-run task or the reconciler can never send the same row twice.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django_q.tasks import async_task

from customers.consent import consent_change
from customers.models import Customer, Store

from . import guardrails
from .bulk import rows_insert
from .gateways import Accepted, Gateway, GatewayError, ProviderMessage, gateway_from_settings, sender_for
from .models import GuardrailDecision, Message, Reason, SendRateBucket, UndeliverableNumber

Status = Message.Status
Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage
RATE_BY_SENDER_TYPE = {
    Store.SenderType.LONG_CODE: 1,
    Store.SenderType.TOLL_FREE: 3,
    Store.SenderType.SHORT_CODE: 100,
}
# Where a provider status puts a message, and how far along that is; status only moves forward.
PROVIDER_STATUS = {
    "accepted": Status.SENT,
    "scheduled": Status.SENT,
    "queued": Status.SENT,
    "sending": Status.SENT,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.FAILED,
}
RANK = {Status.SENDING: 1, Status.SENT: 2, Status.DELIVERED: 3, Status.UNDELIVERED: 3, Status.FAILED: 3}
PROVIDER_CLOCK_SKEW = timedelta(minutes=5)
RECONCILE_LIMIT = 500


# --- enqueueing ------------------------------------------------------------------------------


def enqueue_after_commit(message_ids: list[int]) -> None:
    """Queue send tasks in batches once the rows they name are committed."""
    if not message_ids:
        return
    if len(message_ids) <= settings.SMS_SEND_BATCH_SIZE:
        transaction.on_commit(lambda: async_task("campaigns.send_tasks.send_batch", message_ids))
    else:  # one task splits a broadcast into batches in a worker, not in the caller's request
        transaction.on_commit(lambda: async_task("campaigns.send_tasks.send_fan_out", message_ids))


def sends_fan_out(*, message_ids: list[int]) -> int:
    size = settings.SMS_SEND_BATCH_SIZE
    for start in range(0, len(message_ids), size):
        async_task("campaigns.send_tasks.send_batch", message_ids[start : start + size])
    return -(-len(message_ids) // size)


def decisions_record(
    *, messages: Iterable[tuple[int, guardrails.Verdict]], stage: str, now: datetime
) -> None:
    rows_insert(
        model=GuardrailDecision,
        columns=["message_id", "stage", "outcome", "reason", "detail", "held_until", "decided_at"],
        rows=[
            (message_id, str(stage), str(v.outcome), str(v.reason), v.detail[:200], v.held_until, now)
            for message_id, v in messages
        ],
    )


def verdicts_apply(
    *, proposals: list[guardrails.Proposal], stage: str, now: datetime, from_status: str
) -> list[int]:
    """Store each stored message's verdict (expecting `from_status`); returns the ids now queued."""
    allowed = [p.message_id for p in proposals if p.verdict.outcome == Outcome.ALLOW]
    held = [p for p in proposals if p.verdict.outcome == Outcome.HOLD]
    suppressed: dict[str, list[int]] = defaultdict(list)
    for p in proposals:
        if p.verdict.outcome == Outcome.SUPPRESS:
            suppressed[p.verdict.reason].append(p.message_id)
    pending = Message.objects.filter(status=from_status)
    for chunk in _chunks(allowed):
        pending.filter(id__in=chunk).update(
            status=Status.QUEUED,
            reason="",
            send_after=now,
            planned_at=now,
            status_changed_at=now,
            claim_token=None,
            enqueued_at=None,
        )
    for reason, ids in suppressed.items():
        for chunk in _chunks(ids):
            pending.filter(id__in=chunk).update(
                status=Status.SUPPRESSED, reason=reason, status_changed_at=now, claim_token=None
            )
    # Holds share a few opening times (one per timezone and window): one UPDATE per time.
    until: dict[tuple[str, datetime], list[int]] = defaultdict(list)
    for p in held:
        until[(p.verdict.reason, p.verdict.held_until)].append(p.message_id)
    for (reason, held_until), ids in until.items():
        for chunk in _chunks(ids):
            pending.filter(id__in=chunk).update(
                status=Status.HELD,
                reason=reason,
                send_after=held_until,
                planned_at=held_until,
                status_changed_at=now,
                claim_token=None,
            )
    superseded = [mid for p in proposals for mid in p.verdict.superseded]
    messages_supersede(message_ids=superseded, now=now)
    decisions_record(messages=[(p.message_id, p.verdict) for p in proposals], stage=stage, now=now)
    return allowed


def messages_supersede(*, message_ids: list[int], now: datetime) -> None:
    if not message_ids:
        return
    changed = list(
        Message.objects.filter(id__in=message_ids, status__in=guardrails.UNSENT).values_list("id", flat=True)
    )
    Message.objects.filter(id__in=changed).update(
        status=Status.SUPPRESSED, reason=Reason.SUPERSEDED, status_changed_at=now
    )
    verdict = guardrails.Verdict(
        Outcome.SUPPRESS, Reason.SUPERSEDED, detail="a higher-priority text took its place"
    )
    decisions_record(messages=[(mid, verdict) for mid in changed], stage=Stage.CREATE, now=now)


def _proposals(messages: Iterable[Message]) -> list[guardrails.Proposal]:
    return [
        guardrails.Proposal(
            customer_id=m.customer_id,
            store_id=m.store_id,
            kind=m.kind,
            priority=m.priority,
            valid_until=m.valid_until,
            confirms_opt_out=m.confirms_opt_out,
            message_id=m.id,
            run_id=m.flow_run_id,
            step_id=m.flow_step_id,
        )
        for m in messages
    ]


# --- the tick --------------------------------------------------------------------------------


def messages_release_due(*, now: datetime, enqueue: bool = True) -> list[int]:
    """Release held messages whose time came (checked again) and queue sends that are due.

    Returns the ids of queued messages due now; with `enqueue` their send tasks are queued after
    commit (a message queued by another pass within the last five minutes is left to that pass);
    without, every due message is returned for the caller to send in the foreground.
    """
    with transaction.atomic():
        held = list(
            Message.objects.filter(status=Status.HELD, send_after__lte=now).only(
                "id", "customer_id", "store_id", "kind", "priority", "valid_until", "confirms_opt_out",
                "flow_run_id", "flow_step_id",
            )
        )
        proposals = guardrails.evaluate(proposals=_proposals(held), stage=Stage.RELEASE, now=now)
        verdicts_apply(proposals=proposals, stage=Stage.RELEASE, now=now, from_status=Status.HELD)
        due = Message.objects.filter(status=Status.QUEUED, send_after__lte=now)
        if enqueue:
            due = due.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - timedelta(minutes=5)))
        ids = list(due.order_by("-priority", "send_after", "id").values_list("id", flat=True))
        for chunk in _chunks(ids):
            Message.objects.filter(id__in=chunk).update(enqueued_at=now)
        if enqueue:
            enqueue_after_commit(ids)
    return ids


def messages_send_due(*, now: datetime, gateway: Gateway | None = None) -> dict[str, int]:
    """One foreground pass (`manage.py send_due`): reconcile, release, send everything due."""
    gateway = gateway or gateway_from_settings()
    reconciled = messages_reconcile(now=now, gateway=gateway)
    ids = messages_release_due(now=now, enqueue=False)
    sent = 0
    size = settings.SMS_SEND_BATCH_SIZE
    for start in range(0, len(ids), size):
        sent += messages_send(message_ids=ids[start : start + size], now=now, gateway=gateway)
    return {"due": len(ids), "sent": sent, **reconciled}


# --- one batch -------------------------------------------------------------------------------


def messages_claim(*, message_ids: list[int], now: datetime) -> list[Message]:
    """Take queued, due messages for this worker; rows another worker took are skipped."""
    token = uuid.uuid4()
    claimable = Message.objects.filter(id__in=message_ids, status=Status.QUEUED, send_after__lte=now)
    paused = _paused_campaigns()
    if paused is not None:
        claimable = claimable.exclude(campaign_id__in=paused)
    with transaction.atomic():
        claimable.update(status=Status.SENDING, claim_token=token, claimed_at=now, status_changed_at=now)
        claimed = list(Message.objects.filter(id__in=message_ids, claim_token=token).select_related("store"))
    return claimed


def _paused_campaigns():
    """Texts of a paused broadcast stay queued until it resumes; pausing is the broadcasts' business."""
    try:
        from .broadcasts import paused_campaign_ids
    except ImportError:  # a build without broadcast campaigns
        return None
    return paused_campaign_ids()


def messages_recheck(*, messages: list[Message], now: datetime) -> list[Message]:
    """The guardrails again, right before the provider call; returns the messages still allowed."""
    with transaction.atomic():
        proposals = guardrails.evaluate(proposals=_proposals(messages), stage=Stage.SEND, now=now)
        refused = [p for p in proposals if p.verdict.outcome != Outcome.ALLOW]
        if refused:
            verdicts_apply(proposals=refused, stage=Stage.SEND, now=now, from_status=Status.SENDING)
        decisions_record(
            messages=[(p.message_id, p.verdict) for p in proposals if p.verdict.outcome == Outcome.ALLOW],
            stage=Stage.SEND,
            now=now,
        )
    allowed = {p.message_id for p in proposals if p.verdict.outcome == Outcome.ALLOW}
    return [m for m in messages if m.id in allowed]


def messages_send(*, message_ids: list[int], now: datetime, gateway: Gateway | None = None) -> int:
    """Claim, check, pace and send one batch; returns how many the provider accepted."""
    gateway = gateway or gateway_from_settings()
    claimed = messages_claim(message_ids=message_ids, now=now)
    allowed = messages_recheck(messages=claimed, now=now) if claimed else []
    by_sender: dict[str, list[Message]] = defaultdict(list)
    for message in allowed:
        by_sender[sender_for(message.store) or message.store.slug].append(message)
    started = time.monotonic()
    accepted = 0
    for sender, messages in by_sender.items():
        slots = rate_slots_reserve(
            sender=sender, rate=send_rate(messages[0].store), count=len(messages), now=now
        )
        messages_unclaim(messages=messages[len(slots) :], now=now, not_before=slots_free_at(sender, now))
        answers = []
        for message, slot in zip(messages, slots, strict=False):
            _wait(started, (slot - now).total_seconds())
            answers.append((message, slot, provider_answer(message=message, gateway=gateway)))
        # One commit for the group: a crash before it leaves the texts `sending`, and the
        # reconciler finds them at the provider.
        with transaction.atomic():
            for message, slot, answer in answers:
                accepted += answer_record(message=message, answer=answer, now=slot)
    return accepted


def messages_unclaim(*, messages: list[Message], now: datetime, not_before: datetime) -> None:
    """Hand back claimed messages the sender cannot take within the pacing horizon."""
    if messages:
        Message.objects.filter(id__in=[m.id for m in messages], status=Status.SENDING).update(
            status=Status.QUEUED,
            send_after=not_before,
            enqueued_at=None,
            claim_token=None,
            status_changed_at=now,
        )


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
        start = max(now, bucket.next_slot_at)
        fits = max(0, int((horizon - start) / step))
        slots = [start + i * step for i in range(min(count, fits))]
        if slots:
            bucket.next_slot_at = start + len(slots) * step
            bucket.save(update_fields=["next_slot_at"])
    return slots


def slots_free_at(sender: str, now: datetime) -> datetime:
    bucket = SendRateBucket.objects.filter(sender=sender).values_list("next_slot_at", flat=True).first()
    return max(now, bucket) if bucket else now


# --- one message -----------------------------------------------------------------------------


def provider_answer(*, message: Message, gateway: Gateway) -> Accepted | ProviderMessage | GatewayError:
    """Hand one claimed message to the provider (unless it already has it); what it answered."""
    try:
        return _already_at_provider(message, gateway) or gateway.send(
            to=message.to, body=message.body, store=message.store
        )
    except GatewayError as error:
        return error


def answer_record(
    *, message: Message, answer: Accepted | ProviderMessage | GatewayError, now: datetime
) -> int:
    """Store the provider's answer on the message; 1 if it took the text."""
    if isinstance(answer, GatewayError):
        message_fail(message=message, error=answer, now=now)
        return 0
    message_accepted(message=message, sid=answer.sid, provider_status=answer.status, now=now)
    return 1


def _already_at_provider(message: Message, gateway: Gateway) -> ProviderMessage | None:
    """After a timeout the provider may have the text already: look before sending again."""
    if message.error_code not in {"timeout", "connection"}:
        return None
    return gateway.find(to=message.to, body=message.body, since=message.created_at - PROVIDER_CLOCK_SKEW)


def message_accepted(*, message: Message, sid: str, provider_status: str, now: datetime) -> bool:
    """Record the provider's SID; one conditional UPDATE, so no transaction of its own."""
    changed = Message.objects.filter(
        id=message.id, status=Status.SENDING, claim_token=message.claim_token
    ).update(
        status=Status.SENT,
        provider_sid=sid,
        provider_status=provider_status,
        sent_at=now,
        planned_at=now,
        attempts=F("attempts") + 1,
        error_code="",
        error_message="",
        reason="",
        status_changed_at=now,
        sender=sender_for(message.store)[:34],
    )
    return bool(changed)


def message_fail(*, message: Message, error: GatewayError, now: datetime) -> None:
    """Record a provider error: retry later, or fail for good with the customer-side effect."""
    attempts = message.attempts + 1
    if error.retryable and attempts < settings.SMS_MAX_ATTEMPTS:
        retry_at = now + backoff(attempts)
        verdict = guardrails.Verdict(Outcome.HOLD, Reason.RETRY, held_until=retry_at, detail=str(error)[:200])
        fields = {
            "status": Status.QUEUED,
            "send_after": retry_at,
            "planned_at": retry_at,
            "enqueued_at": None,
        }
    else:
        reason = {
            "opted_out": Reason.PROVIDER_OPT_OUT,
            "undeliverable": Reason.NUMBER_UNDELIVERABLE,
            "retryable": Reason.RETRIES_EXHAUSTED,
        }.get(error.kind, Reason.PROVIDER_REJECTED)
        verdict = guardrails.Verdict(Outcome.SUPPRESS, reason, detail=str(error)[:200])
        fields = {"status": Status.FAILED, "reason": reason}
    with transaction.atomic():
        changed = Message.objects.filter(
            id=message.id, status=Status.SENDING, claim_token=message.claim_token
        ).update(
            attempts=attempts,
            error_code=error.code[:16],
            error_message=error.message[:300],
            claim_token=None,
            status_changed_at=now,
            **fields,
        )
        if not changed:
            return
        decisions_record(messages=[(message.id, verdict)], stage=Stage.PROVIDER, now=now)
        _customer_side_effect(message=message, code=error.code, now=now)


def _customer_side_effect(*, message: Message, code: str, now: datetime) -> None:
    if code in {"21610"}:
        customer = Customer.objects.get(id=message.customer_id)
        if customer.sms_consent != Customer.Consent.UNSUBSCRIBED:
            consent_change(
                customer=customer,
                action="opt_out",
                source="provider",
                occurred_at=now,
                keyword="21610",
                wording="The carrier reports the recipient replied STOP (Twilio error 21610).",
            )
    elif code in {"21211", "21614", "30006"}:
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


# --- provider status -------------------------------------------------------------------------


def message_status_apply(*, message: Message, provider_status: str, error_code: str, now: datetime) -> bool:
    """Move a message to what the provider reports, only forward; returns whether it changed.

    Used by the status callback and the reconciler: a late `sent` after `delivered` is ignored
    and a duplicate changes nothing.
    """
    target = PROVIDER_STATUS.get(provider_status)
    # A suppressed message was never the provider's to report on: it stays suppressed.
    if target is None or message.status == Status.SUPPRESSED:
        return False
    if RANK[target] <= RANK.get(message.status, 0):
        return False
    fields: dict[str, object] = {
        "status": target,
        "provider_status": provider_status,
        "status_changed_at": now,
    }
    if target == Status.DELIVERED:
        fields["delivered_at"] = now
    if error_code:
        fields["error_code"] = error_code[:16]
    with transaction.atomic():
        changed = Message.objects.filter(id=message.id, status=message.status).update(**fields)
        if changed and error_code:
            _customer_side_effect(message=message, code=error_code, now=now)
    if changed:
        message.status = target
    return bool(changed)


# --- reconciliation --------------------------------------------------------------------------


@dataclass
class Reconciled:
    found: int = 0
    requeued: int = 0
    polled: int = 0


def messages_reconcile(*, now: datetime, gateway: Gateway | None = None) -> dict[str, int]:
    """Settle messages a crashed worker left `sending`, and poll sent ones whose callback never came.

    A stuck message is looked up at the provider (by recipient and body): if the provider has it,
    its SID and status are adopted; if not, it is queued again. Never resent blindly.
    """
    gateway = gateway or gateway_from_settings()
    result = Reconciled()
    stuck = Message.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - timedelta(seconds=settings.SMS_STUCK_AFTER_SECONDS)
    ).select_related("store")[:RECONCILE_LIMIT]
    for message in stuck:
        try:
            found = gateway.find(
                to=message.to, body=message.body, since=message.created_at - PROVIDER_CLOCK_SKEW
            )
        except GatewayError:
            continue
        if found:
            if message_accepted(message=message, sid=found.sid, provider_status=found.status, now=now):
                message.status = Status.SENT
                message_status_apply(
                    message=message, provider_status=found.status, error_code=found.error_code, now=now
                )
                _note(message, "found at the provider after a crash, SID adopted", now)
                result.found += 1
        elif _requeue(message, now):
            result.requeued += 1
    for message in _awaiting_status(now):
        try:
            fetched = gateway.fetch(sid=message.provider_sid)
        except GatewayError:
            continue
        Message.objects.filter(id=message.id).update(checked_at=now)
        if fetched:
            message_status_apply(
                message=message, provider_status=fetched.status, error_code=fetched.error_code, now=now
            )
        result.polled += 1
    return {"found": result.found, "requeued": result.requeued, "polled": result.polled}


def _requeue(message: Message, now: datetime) -> bool:
    with transaction.atomic():
        changed = Message.objects.filter(
            id=message.id, status=Status.SENDING, claim_token=message.claim_token
        ).update(
            status=Status.QUEUED, send_after=now, enqueued_at=None, claim_token=None, status_changed_at=now
        )
        if changed:
            _note(message, "not at the provider after a crash, queued again", now)
    return bool(changed)


def _note(message: Message, detail: str, now: datetime) -> None:
    decisions_record(
        messages=[(message.id, guardrails.Verdict(Outcome.ALLOW, Reason.OK, detail=detail))],
        stage=Stage.PROVIDER,
        now=now,
    )


def _awaiting_status(now: datetime) -> list[Message]:
    quiet_for = now - timedelta(seconds=settings.SMS_STATUS_CHECK_AFTER_SECONDS)
    return list(
        Message.objects.filter(
            status=Status.SENT, sent_at__lt=quiet_for, sent_at__gte=now - timedelta(days=3)
        )
        .exclude(provider_sid="")
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=quiet_for))
        .order_by("sent_at")[:RECONCILE_LIMIT]
    )


def _chunks(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
