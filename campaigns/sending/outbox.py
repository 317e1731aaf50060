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
from django.db import connection, transaction

from campaigns import models
from campaigns.bulk import rows_insert, rows_insert_numbered
from campaigns.content.links import PendingLink
from campaigns.content.meter import encoding_and_segments
from campaigns.models import GuardrailDecision, Link, Message
from campaigns.models.outbox import DECISION_COLUMNS, decision_rows, initial_status
from campaigns.sending import guardrails, policy
from campaigns.sending.queue import enqueue_after_commit, messages_supersede
from customers.models import Customer

KEY_CHUNK = 5000


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
    offer_state: str = ""  # a unique offer code's: policy.OFFER_PENDING / OFFER_REFUSED, "" when ready


# Plain strings: a member of a Django choices enum costs a lookup through its class per use,
# which at a broadcast's size shows.
MARKETING, TRANSACTIONAL = str(Message.Kind.MARKETING), str(Message.Kind.TRANSACTIONAL)


def default_priority(draft: MessageDraft) -> int:
    if draft.priority is not None:
        return draft.priority
    if draft.kind == TRANSACTIONAL:
        return 100
    return 50 if draft.flow_run_id else 20


FIELDS = [f.attname for f in Message._meta.concrete_fields]
INSERTED = [name for name in FIELDS if name != "id"]
AT = {name: i for i, name in enumerate(INSERTED)}
KEY, STATUS = AT["idempotency_key"], AT["status"]
# A new row's columns: those of the draft, of its decision, and the rest the same for the batch.
DRAFT_COLUMNS = (
    "store_id",
    "customer_id",
    "to",
    "body",
    "flow_run_id",
    "flow_step_id",
    "campaign_id",
    "variant",
    "kind",
    "priority",
    "confirms_opt_out",
    "idempotency_key",
    "valid_until",
    "encoding",
    "segments",
)
DECIDED_COLUMNS = ("status", "reason", "send_after", "planned_at", "enqueued_at")
BATCH_COLUMNS = (
    "create_token",
    "created_at",
    "updated_at",
    "status_changed_at",
    "provider_sid",
    "error_code",
    "error_message",
    "provider_status",
    "sender",
    "attempts",
)
_built = (*DRAFT_COLUMNS, *DECIDED_COLUMNS, *BATCH_COLUMNS)
# Every other column starts empty: the value after the built ones, put in INSERTED order at once.
_in_order = itemgetter(*(_built.index(c) if c in _built else len(_built) for c in INSERTED))


def messages_create(*, drafts: list[MessageDraft], now: datetime) -> list[Message]:
    """Store and decide the drafts; the messages this call created, as instances."""
    rows, ids = _store(drafts, now)
    return [Message.from_db(None, FIELDS, [ids[r[KEY]], *r]) for r in rows if r[KEY] in ids]


def message_ids_create(
    *,
    drafts: list[MessageDraft],
    now: datetime,
    new_keys: bool = False,
    customers_read: bool = False,
    known: guardrails.Known | None = None,
) -> list[int]:
    """The same as `messages_create` for callers that only count or enqueue: ids, no instances.

    `new_keys`: the caller knows no draft's key is stored yet (a campaign under its lease, whose
    recipients leave out customers with its text), so the keys are not looked up first; a key
    stored meanwhile is still skipped by the insert. `customers_read`: the drafts' customers are
    rows just read for this batch with the columns the guardrails decide on
    (`guardrails.RECIPIENT_FACTS`), so the guardrails take them instead of reading them again.
    `known`: the stores, state rules and steps the caller has read for this batch (`guardrails.Known`).
    """
    rows, ids = _store(drafts, now, new_keys=new_keys, customers_read=customers_read, known=known)
    return [ids[r[KEY]] for r in rows if r[KEY] in ids]


@dataclass
class DecidedBatch:
    """Drafts decided by the guardrails and built into insert rows, not stored yet."""

    drafts: list[MessageDraft]
    proposals: list[policy.Proposal]
    rows: list[tuple[object, ...]]
    new_keys: bool = False  # see `message_ids_create`


def drafts_decide(
    *,
    drafts: list[MessageDraft],
    now: datetime,
    new_keys: bool = False,
    customers_read: bool = False,
    known: guardrails.Known | None = None,
) -> DecidedBatch:
    """The guardrails' verdicts on the drafts not stored yet, as insert rows (`message_ids_create`
    says what `new_keys`, `customers_read` and `known` mean). Reads only: `decided_store` writes them."""
    unique: dict[str, MessageDraft] = {}
    for draft in drafts:
        unique.setdefault(draft.idempotency_key, draft)
    fresh = list(unique.values()) if new_keys else _not_stored(list(unique.values()))
    valid_for = _valid_until_by_kind(now)
    proposals = [
        policy.Proposal(
            customer_id=d.customer.pk,
            store_id=d.customer.store_id,
            kind=str(d.kind),
            priority=default_priority(d),
            valid_until=d.valid_until or valid_for[d.kind == MARKETING],
            confirms_opt_out=d.confirms_opt_out,
            run_id=d.flow_run_id,
            step_id=d.flow_step_id,
            offer_state=d.offer_state,
        )
        for d in fresh
    ]
    customers = {d.customer.pk: d.customer for d in fresh} if customers_read else None
    stage = GuardrailDecision.Stage.CREATE
    guardrails.evaluate(proposals=proposals, stage=stage, now=now, customers=customers, known=known)
    return DecidedBatch(
        drafts=fresh, proposals=proposals, rows=_rows(fresh, proposals, now), new_keys=new_keys
    )


def decided_store(*, batch: DecidedBatch, now: datetime) -> dict[str, int]:
    """Store a decided batch in one transaction: its rows, the decisions that did more than allow,
    supersessions and links; its queued texts are enqueued after commit. The ids by key of the rows
    this call inserted (a key stored meanwhile by another call is skipped)."""
    rows = batch.rows
    # An error undoes the caller's transaction or savepoint with it: no savepoint of its own.
    with transaction.atomic(savepoint=False):
        ids = _insert(rows, new_keys=batch.new_keys)
        verdicts = {r[KEY]: p.verdict for r, p in zip(rows, batch.proposals, strict=True)}
        plain = {id(v): plain_allow(v) for v in {id(v): v for v in verdicts.values()}.values()}
        # A plain allow is what the row's own status says: only a policy that did more is stored.
        _decisions([(ids[key], v) for key, v in verdicts.items() if key in ids and not plain[id(v)]], now=now)
        messages_supersede(
            message_ids=[mid for key, v in verdicts.items() if key in ids for mid in v.superseded], now=now
        )
        _links(ids, rows, {d.idempotency_key: d for d in batch.drafts}, now)
        queued = Message.Status.QUEUED
        enqueue_after_commit([ids[r[KEY]] for r in rows if r[KEY] in ids and r[STATUS] == queued])
    return ids


def _insert(rows: list[tuple[object, ...]], *, new_keys: bool) -> dict[str, int]:
    """Insert the rows; the ids by key of those this call inserted."""
    if new_keys and rows and connection.vendor == "postgresql":
        # Keys expected new: one COPY with ids drawn first; a key stored meanwhile undoes it.
        numbered = rows_insert_numbered(model=Message, columns=INSERTED, rows=rows)
        if numbered is not None:
            return {r[KEY]: pk for r, pk in zip(rows, numbered, strict=True)}
    # A concurrent call with the same key inserts first or not at all: ours are the rows with our token.
    inserted = rows_insert(
        model=Message,
        columns=INSERTED,
        rows=rows,
        skip_duplicates_of="idempotency_key",
        returning=["idempotency_key", "id"],
    )
    if inserted is None:
        inserted = _ours([r[KEY] for r in rows], rows[0] if rows else None)
    return dict(inserted)


def _store(
    drafts: list[MessageDraft],
    now: datetime,
    *,
    new_keys: bool = False,
    customers_read: bool = False,
    known: guardrails.Known | None = None,
) -> tuple[list[tuple[object, ...]], dict[str, int]]:
    with transaction.atomic():
        batch = drafts_decide(
            drafts=drafts, now=now, new_keys=new_keys, customers_read=customers_read, known=known
        )
        return batch.rows, decided_store(batch=batch, now=now)


def plain_allow(verdict: policy.Verdict) -> bool:
    """Queued now with every check passed and nothing else touched: no decision row needed."""
    return (
        verdict.outcome == GuardrailDecision.Outcome.ALLOW
        and verdict.reason == models.Reason.OK
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


def _valid_until_by_kind(now: datetime) -> dict[bool, datetime]:
    """When a draft without its own `valid_until` stops being worth sending, by whether it is marketing."""
    return {
        True: now + timedelta(hours=settings.SMS_MARKETING_VALID_HOURS),
        False: now + timedelta(hours=settings.SMS_TRANSACTIONAL_VALID_HOURS),
    }


def _rows(
    drafts: list[MessageDraft], proposals: list[policy.Proposal], now: datetime
) -> list[tuple[object, ...]]:
    """The insert rows (values in `INSERTED` order) of the decided drafts."""
    batch = (uuid.uuid4(), now, now, now, "", "", "", "", "", 0)
    # Verdicts are shared by every recipient of a class: their columns are worked out once each.
    decided: dict[int, tuple[object, ...]] = {}
    rows = []
    for d, p in zip(drafts, proposals, strict=True):
        verdict = p.verdict
        if id(verdict) not in decided:
            decided[id(verdict)] = (*_columns(verdict, now), *batch)
        encoding, segments = encoding_and_segments(d.body)
        drafted = (
            p.store_id,
            p.customer_id,
            d.customer.phone,
            d.body,
            d.flow_run_id,
            d.flow_step_id,
            d.campaign_id,
            d.variant,
            p.kind,
            p.priority,
            p.confirms_opt_out,
            d.idempotency_key,
            p.valid_until,
            encoding,
            segments,
        )
        rows.append(_in_order((*drafted, *decided[id(verdict)], None)))
    return rows


def _columns(verdict: policy.Verdict, now: datetime) -> tuple[object, ...]:
    """The `DECIDED_COLUMNS` of a new row with this verdict."""
    at = verdict.held_until or now
    return (
        initial_status(verdict.status),
        "" if verdict.reason == models.Reason.OK else str(verdict.reason),
        at,
        at,
        now if verdict.status == Message.Status.QUEUED else None,
    )


def _ours(keys: list[str], row: tuple[object, ...] | None) -> dict[str, int]:
    ours: dict[str, int] = {}
    token = row[AT["create_token"]] if row else None
    for start in range(0, len(keys), KEY_CHUNK):
        stored = Message.objects.filter(
            idempotency_key__in=keys[start : start + KEY_CHUNK], create_token=token
        ).values_list("idempotency_key", "id")
        ours.update(stored)
    return ours


# Decisions and links are written as ready tuples in one bulk load each: a broadcast writes tens of
# thousands, where preparing each value through its model field costs more than storing it.
LINK_COLUMNS = (
    "store_id",
    "customer_id",
    "message_id",
    "code",
    "target_url",
    "utm_campaign",
    "utm_content",
    "created_at",
    "clicks",
)


def _decisions(messages: list[tuple[int, policy.Verdict]], *, now: datetime) -> None:
    rows = decision_rows(messages=messages, stage=GuardrailDecision.Stage.CREATE, now=now)
    rows_insert(model=GuardrailDecision, columns=DECISION_COLUMNS, rows=rows)


def _links(
    ids: dict[str, int], rows: list[tuple[object, ...]], drafts: dict[str, MessageDraft], now: datetime
) -> None:
    store, customer = AT["store_id"], AT["customer_id"]
    links = [
        (
            r[store],
            r[customer],
            ids[r[KEY]],
            link.code,
            link.target_url,
            link.utm_campaign,
            link.utm_content,
            now,
            0,
        )
        for r in rows
        if r[KEY] in ids
        for link in drafts[r[KEY]].links
    ]
    rows_insert(model=Link, columns=LINK_COLUMNS, rows=links)
