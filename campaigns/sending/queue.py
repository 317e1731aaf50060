"""Texts waiting their turn: verdicts stored, held texts released when due, send tasks queued.

Send tasks are queued after the commit that stored their texts, in batches; a foreground tick
(`manage.py tick`) sends in-process instead, so nothing waits for a cluster that may not run.
"""

from __future__ import annotations

import contextvars
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django_q.tasks import async_task

from campaigns.content.offers import READY, offer_states
from campaigns.models import GuardrailDecision, Message, Reason
from campaigns.sending import guardrails, policy
from campaigns.sending.guardrails import chunks
from customers.task_queue import task_enqueue

Status = Message.Status


Outcome = GuardrailDecision.Outcome
Stage = GuardrailDecision.Stage


# Set by a foreground tick: it sends in-process, so nothing is handed to a cluster that may not run.
_foreground = contextvars.ContextVar("foreground_sending", default=False)


# --- enqueueing ------------------------------------------------------------------------------


@contextmanager
def foreground() -> Iterator[None]:
    """Within this block, created and released texts are left for the caller's own send stage."""
    token = _foreground.set(True)
    try:
        yield
    finally:
        _foreground.reset(token)


def enqueue_after_commit(message_ids: list[int]) -> None:
    """Queue send tasks in batches once the rows they name are committed."""
    if not message_ids or _foreground.get():
        return
    if len(message_ids) <= settings.SMS_SEND_BATCH_SIZE:
        transaction.on_commit(lambda: task_enqueue("campaigns.tasks.send_batch", message_ids))
    else:  # one task splits a broadcast into batches in a worker, not in the caller's request
        transaction.on_commit(lambda: task_enqueue("campaigns.tasks.send_fan_out", message_ids))


def sends_fan_out(*, message_ids: list[int]) -> int:
    size = settings.SMS_SEND_BATCH_SIZE
    with transaction.atomic():  # all batches or none, on the connection this task has open
        for start in range(0, len(message_ids), size):
            async_task("campaigns.tasks.send_batch", message_ids[start : start + size])
    return -(-len(message_ids) // size)


def verdicts_apply(
    *, proposals: list[policy.Proposal], stage: str, now: datetime, from_status: str
) -> list[int]:
    """Store each stored message's verdict (expecting `from_status`); returns the ids now queued."""
    groups: dict[tuple, list[policy.Proposal]] = defaultdict(list)
    for p in proposals:
        # Holds share a few opening times (one per timezone and window): one UPDATE per group.
        groups[(p.verdict.outcome, p.verdict.reason, p.verdict.held_until)].append(p)
    allowed: list[int] = []
    for (outcome, reason, held_until), group in groups.items():
        decisions = {p.message_id: p.verdict for p in group}
        rows = Message.objects.filter(id__in=list(decisions))
        if outcome == Outcome.ALLOW:
            allowed += rows.transition(
                source=from_status,
                target=Status.QUEUED,
                now=now,
                stage=stage,
                decision=decisions,
                reason="",
                send_after=now,
                planned_at=now,
                claim_token=None,
                enqueued_at=None,
            )
        elif outcome == Outcome.HOLD:
            rows.transition(
                source=from_status,
                target=Status.HELD,
                now=now,
                stage=stage,
                decision=decisions,
                reason=reason,
                send_after=held_until,
                planned_at=held_until,
                claim_token=None,
            )
        else:
            rows.transition(
                source=from_status,
                target=Status.SUPPRESSED,
                now=now,
                stage=stage,
                decision=decisions,
                reason=reason,
                claim_token=None,
            )
    messages_supersede(message_ids=[mid for p in proposals for mid in p.verdict.superseded], now=now)
    return allowed


def messages_supersede(*, message_ids: list[int], now: datetime) -> None:
    if not message_ids:
        return
    verdict = policy.Verdict(
        Outcome.SUPPRESS, Reason.SUPERSEDED, detail="a higher-priority text took its place"
    )
    Message.objects.filter(id__in=message_ids).transition(
        source=Message.UNSENT,
        target=Status.SUPPRESSED,
        now=now,
        stage=Stage.CREATE,
        decision=verdict,
        reason=Reason.SUPERSEDED,
    )


def _proposals(messages: Iterable[Message], offers: dict[str, str] | None = None) -> list[policy.Proposal]:
    offers = offers or {}
    return [
        policy.Proposal(
            customer_id=m.customer_id,
            store_id=m.store_id,
            kind=m.kind,
            priority=m.priority,
            valid_until=m.valid_until,
            confirms_opt_out=m.confirms_opt_out,
            message_id=m.id,
            run_id=m.flow_run_id,
            step_id=m.flow_step_id,
            offer_state=offers.get(m.idempotency_key, "") if offers else "",
        )
        for m in messages
    ]


# --- the tick --------------------------------------------------------------------------------


def messages_release_held(*, now: datetime) -> int:
    """Held texts whose time came go through the guardrails again: queued, held on, or dropped."""
    held = list(
        Message.objects.filter(status=Status.HELD, send_after__lte=now).only(
            "id",
            "customer_id",
            "store_id",
            "kind",
            "priority",
            "valid_until",
            "confirms_opt_out",
            "flow_run_id",
            "flow_step_id",
            "idempotency_key",
        )
    )
    if not held:  # most ticks release nothing: no transaction for that
        return 0
    # Each move is guarded by the status it expects, so a text moved meanwhile is left as it is.
    with transaction.atomic():
        # A text with a unique code goes only once the code exists in the shop.
        offers = offer_states([m.idempotency_key for m in held])
        offers = {key: state for key, state in offers.items() if state != READY}
        proposals = guardrails.evaluate(proposals=_proposals(held, offers), stage=Stage.RELEASE, now=now)
        verdicts_apply(proposals=proposals, stage=Stage.RELEASE, now=now, from_status=Status.HELD)
    return len(held)


def messages_due(*, now: datetime, enqueue: bool = True) -> list[int]:
    """The queued texts due now, most important first.

    With `enqueue` their send tasks are queued after commit (a text queued by another pass within
    the last five minutes is left to that pass); without, every due text is returned for the
    caller to send in the foreground.
    """
    due = Message.objects.filter(status=Status.QUEUED, send_after__lte=now)
    if enqueue:
        due = due.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - timedelta(minutes=5)))
    ids = list(due.order_by("-priority", "send_after", "id").values_list("id", flat=True))
    if not ids:  # most ticks find nothing due: no transaction for that
        return []
    with transaction.atomic():
        for chunk in chunks(ids):
            Message.objects.filter(id__in=chunk).update(enqueued_at=now)
        if enqueue:
            enqueue_after_commit(ids)
    return ids
