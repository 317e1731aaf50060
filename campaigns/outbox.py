"""The one way into the outbox.

Contract used by flows and broadcasts:
    messages_create(*, drafts: list[MessageDraft], now: datetime) -> list[Message]
    message_ids_create(*, drafts: list[MessageDraft], now: datetime) -> list[int]
stores each draft once (its idempotency key is unique, also between concurrent calls), decides
each with the guardrails (queued, held until a time, or suppressed with a reason; the decision
is stored as a `GuardrailDecision`), and queues the sends after commit. Drafts whose key already
exists are skipped; the messages this call created are returned.

`kind="transactional"` (confirmations, HELP replies) skips caps, overlap and quiet hours, but is
never sent to an opted-out number unless `confirms_opt_out=True` (the opt-out confirmation).
`priority` decides overlaps: higher wins (defaults: transactional 100, flow 50, campaign 20).
`valid_until` is when sending becomes pointless (default: 48 h for marketing, 24 h otherwise).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter

from django.conf import settings
from django.db import transaction

from customers.models import Customer

from . import guardrails
from .bulk import rows_insert
from .meter import encoding_and_segments
from .models import GuardrailDecision, Link, Message
from .models.outbox import decisions_record, initial_status
from .sending import enqueue_after_commit, messages_supersede

KEY_CHUNK = 5000


@dataclass
class PendingLink:
    code: str
    target_url: str
    utm_campaign: str = ""
    utm_content: str = ""


@dataclass
class MessageDraft:
    customer: Customer
    body: str
    idempotency_key: str
    links: list[PendingLink] = field(default_factory=list)
    flow_run_id: int | None = None
    flow_step_id: int | None = None
    campaign_id: int | None = None
    variant: str = ""
    kind: str = Message.Kind.MARKETING
    valid_until: datetime | None = None
    priority: int | None = None
    confirms_opt_out: bool = False


def default_priority(draft: MessageDraft) -> int:
    if draft.priority is not None:
        return draft.priority
    if draft.kind == Message.Kind.TRANSACTIONAL:
        return 100
    return 50 if draft.flow_run_id else 20


FIELDS = [f.attname for f in Message._meta.concrete_fields]
INSERTED = [name for name in FIELDS if name != "id"]
_inserted_values = itemgetter(*INSERTED)
_BLANK_ROW: dict[str, object] = dict.fromkeys(INSERTED)


def messages_create(*, drafts: list[MessageDraft], now: datetime) -> list[Message]:
    """Store and decide the drafts; the messages this call created, as instances."""
    rows, ids = _store(drafts, now)
    return [
        Message.from_db(None, FIELDS, [ids[r["idempotency_key"]], *(r[c] for c in INSERTED)])
        for r in rows
        if r["idempotency_key"] in ids
    ]


def message_ids_create(*, drafts: list[MessageDraft], now: datetime, new_keys: bool = False) -> list[int]:
    """The same as `messages_create` for callers that only count or enqueue: ids, no instances.

    `new_keys`: the caller knows no draft's key is stored yet (a campaign under its lease, whose
    recipients leave out customers with its text), so the keys are not looked up first; a key
    stored meanwhile is still skipped by the insert.
    """
    rows, ids = _store(drafts, now, new_keys=new_keys)
    return [ids[r["idempotency_key"]] for r in rows if r["idempotency_key"] in ids]


def _store(
    drafts: list[MessageDraft], now: datetime, *, new_keys: bool = False
) -> tuple[list[dict[str, object]], dict[str, int]]:
    unique: dict[str, MessageDraft] = {}
    for draft in drafts:
        unique.setdefault(draft.idempotency_key, draft)
    fresh = list(unique.values()) if new_keys else _not_stored(list(unique.values()))
    token = uuid.uuid4()
    rows = [_row(d, token, now) for d in fresh]
    proposals = [
        guardrails.Proposal(
            customer_id=r["customer_id"],
            store_id=r["store_id"],
            kind=r["kind"],
            priority=r["priority"],
            valid_until=r["valid_until"],
            confirms_opt_out=r["confirms_opt_out"],
            run_id=r["flow_run_id"],
            step_id=r["flow_step_id"],
        )
        for r in rows
    ]
    with transaction.atomic():
        guardrails.evaluate(proposals=proposals, stage=GuardrailDecision.Stage.CREATE, now=now)
        _apply(rows, [p.verdict for p in proposals], now)
        # A concurrent call with the same key inserts first or not at all: ours are the rows with our token.
        inserted = rows_insert(
            model=Message,
            columns=INSERTED,
            rows=list(map(_inserted_values, rows)),
            skip_duplicates_of="idempotency_key",
            returning=["idempotency_key", "id"],
        )
        ids = dict(inserted) if inserted is not None else _ours([r["idempotency_key"] for r in rows], token)
        verdicts = {r["idempotency_key"]: p.verdict for r, p in zip(rows, proposals, strict=True)}
        plain = {id(v): plain_allow(v) for v in {id(v): v for v in verdicts.values()}.values()}
        # A plain allow is what the row's own status says: only a policy that did more is stored.
        decisions_record(
            messages=[(ids[key], v) for key, v in verdicts.items() if key in ids and not plain[id(v)]],
            stage=GuardrailDecision.Stage.CREATE,
            now=now,
        )
        messages_supersede(
            message_ids=[mid for key, v in verdicts.items() if key in ids for mid in v.superseded], now=now
        )
        _links(ids, rows, {d.idempotency_key: d for d in fresh})
        queued = Message.Status.QUEUED
        enqueue_after_commit(
            [ids[r["idempotency_key"]] for r in rows if r["idempotency_key"] in ids and r["status"] == queued]
        )
    return rows, ids


def plain_allow(verdict: guardrails.Verdict) -> bool:
    """Queued now with every check passed and nothing else touched: no decision row needed."""
    return (
        verdict.outcome == GuardrailDecision.Outcome.ALLOW
        and verdict.reason == guardrails.Reason.OK
        and not verdict.superseded
        and not verdict.detail
        and verdict.held_until is None
    )


def _not_stored(drafts: list[MessageDraft]) -> list[MessageDraft]:
    keys = [d.idempotency_key for d in drafts]
    existing: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        existing.update(
            Message.objects.filter(idempotency_key__in=chunk).values_list("idempotency_key", flat=True)
        )
    return [d for d in drafts if d.idempotency_key not in existing]


def _row(draft: MessageDraft, token: uuid.UUID, now: datetime) -> dict[str, object]:
    encoding, segments = encoding_and_segments(draft.body)
    valid_until = draft.valid_until
    if valid_until is None:
        hours = (
            settings.SMS_MARKETING_VALID_HOURS
            if draft.kind == Message.Kind.MARKETING
            else settings.SMS_TRANSACTIONAL_VALID_HOURS
        )
        valid_until = now + timedelta(hours=hours)
    row = _BLANK_ROW.copy()
    row.update(
        store_id=draft.customer.store_id,
        customer_id=draft.customer.pk,
        to=draft.customer.phone,
        body=draft.body,
        flow_run_id=draft.flow_run_id,
        flow_step_id=draft.flow_step_id,
        campaign_id=draft.campaign_id,
        variant=draft.variant,
        kind=str(draft.kind),
        priority=default_priority(draft),
        confirms_opt_out=draft.confirms_opt_out,
        idempotency_key=draft.idempotency_key,
        valid_until=valid_until,
        encoding=str(encoding),
        segments=segments,
        create_token=token,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        provider_sid="",
        error_code="",
        error_message="",
        provider_status="",
        sender="",
        attempts=0,
    )
    return row


def _apply(rows: list[dict[str, object]], verdicts: list[guardrails.Verdict], now: datetime) -> None:
    # Verdicts are shared by every recipient of a class: their columns are worked out once each.
    columns: dict[int, dict[str, object]] = {}
    for row, verdict in zip(rows, verdicts, strict=True):
        if id(verdict) not in columns:
            columns[id(verdict)] = _columns(verdict, now)
        row.update(columns[id(verdict)])


def _columns(verdict: guardrails.Verdict, now: datetime) -> dict[str, object]:
    at = verdict.held_until or now
    return {
        "status": initial_status(verdict.status),
        "reason": "" if verdict.reason == guardrails.Reason.OK else str(verdict.reason),
        "send_after": at,
        "planned_at": at,
        "enqueued_at": now if verdict.status == Message.Status.QUEUED else None,
    }


def _ours(keys: list[str], token: uuid.UUID) -> dict[str, int]:
    ours: dict[str, int] = {}
    for start in range(0, len(keys), KEY_CHUNK):
        stored = Message.objects.filter(
            idempotency_key__in=keys[start : start + KEY_CHUNK], create_token=token
        ).values_list("idempotency_key", "id")
        ours.update(stored)
    return ours


def _links(ids: dict[str, int], rows: list[dict[str, object]], drafts: dict[str, MessageDraft]) -> None:
    Link.objects.bulk_create(
        [
            Link(
                store_id=r["store_id"],
                customer_id=r["customer_id"],
                message_id=ids[r["idempotency_key"]],
                code=link.code,
                target_url=link.target_url,
                utm_campaign=link.utm_campaign,
                utm_content=link.utm_content,
            )
            for r in rows
            if r["idempotency_key"] in ids
            for link in drafts[r["idempotency_key"]].links
        ],
        batch_size=2000,
    )
