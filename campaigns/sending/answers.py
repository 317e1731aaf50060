"""The provider's later word on a text: status callbacks (forward only) and reconciliation of texts
whose callback never came.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from campaigns.models import GuardrailDecision, Message, Reason
from campaigns.models.outbox import TRANSITIONS, Note, decisions_record
from campaigns.sending.deliver import PROVIDER_CLOCK_SKEW, _customer_side_effect, message_accepted
from campaigns.sending.gateways import Gateway, GatewayError, gateway_from_settings

Status = Message.Status


Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage


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


RECONCILE_LIMIT = 500


# --- provider status -------------------------------------------------------------------------


def message_status_apply(*, message: Message, provider_status: str, error_code: str, now: datetime) -> bool:
    """Move a message to what the provider reports, only forward; returns whether it changed.

    Used by the status callback and the reconciler: a late `sent` after `delivered` is ignored
    and a duplicate changes nothing.
    """
    target = _forward(message, provider_status)
    if target is None:
        return False
    fields = _fields(target, provider_status, error_code, now)
    with transaction.atomic():
        changed = message.transition(target=target, now=now, **fields)
        if changed and error_code:
            _customer_side_effect(message=message, code=error_code, now=now)
    return changed


def messages_status_apply(*, answers: Iterable[tuple[Message, str, str]], now: datetime) -> list[Message]:
    """Many provider answers at once, (message, provider status, error code) each: every message
    moves as `message_status_apply` would move it, in one UPDATE per kind of move. Returns the
    messages that moved, in the order given, their new status and fields set."""
    moves: dict[tuple, dict[int, dict[str, object]]] = defaultdict(dict)
    loaded: dict[int, tuple[Message, str]] = {}
    for message, provider_status, error_code in answers:
        target = _forward(message, provider_status)
        if target is None:
            continue
        claim = message.claim_token if message.status == Status.SENDING else None
        moves[(message.status, target, claim, bool(error_code))][message.id] = _fields(
            target, provider_status, error_code, now
        )
        loaded[message.id] = (message, error_code)
    changed: set[int] = set()
    with transaction.atomic():
        for (source, target, claim, _), values in moves.items():
            moved = Message.objects.transition_each(
                source=source, target=target, now=now, claim_token=claim, values=values
            )
            for message_id in moved:
                message, error_code = loaded[message_id]
                message.moved(target=target, fields=values[message_id])
                if error_code:
                    _customer_side_effect(message=message, code=error_code, now=now)
                changed.add(message_id)
    return [message for message, _ in loaded.values() if message.id in changed]


def _forward(message: Message, provider_status: str) -> str | None:
    """The status a provider's word moves the message to, or None: status only moves forward, and
    a suppressed message was never the provider's to report on."""
    target = PROVIDER_STATUS.get(provider_status)
    if target is None or message.status == Status.SUPPRESSED:
        return None
    if RANK[target] <= RANK.get(message.status, 0) or target not in TRANSITIONS[message.status]:
        return None
    return target


def _fields(target: str, provider_status: str, error_code: str, now: datetime) -> dict[str, object]:
    fields: dict[str, object] = {"provider_status": provider_status}
    if target == Status.DELIVERED:
        fields["delivered_at"] = now
    if error_code:
        fields["error_code"] = error_code[:16]
    return fields


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
    return message.transition(
        target=Status.QUEUED,
        now=now,
        stage=Stage.PROVIDER,
        decision=Note(Outcome.ALLOW, Reason.OK, detail="not at the provider after a crash, queued again"),
        send_after=now,
        enqueued_at=None,
        claim_token=None,
    )


def _note(message: Message, detail: str, now: datetime) -> None:
    decisions_record(
        messages=[(message.id, Note(Outcome.ALLOW, Reason.OK, detail=detail))], stage=Stage.PROVIDER, now=now
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


def chunks(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
