"""The outbox: every text the app ever sends is one row here, and the one owner of its status.

A message's life, read top to bottom:

    pending --decide--> queued --claim--> sending --provider--> sent --callback--> delivered / undelivered
       |                 |  ^               |                                      (forward only)
       |                 v  | release       +-- try later (5xx, 429, timeout) --> held until ... (backoff)
       |                held <--------------+
       +--------------> suppressed (reason)                                      failed (final code)

`TRANSITIONS` lists every allowed move. A move is a conditional UPDATE from the expected state (the
claim: a row another worker moved first is left alone) and writes its decision row for the rows
that moved. Nothing else writes `status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery

from campaigns.models.rollups import ReportDayMark
from customers.models import Store

CHUNK = 5000


class TransitionError(ValueError):
    """A move the lifecycle does not allow (a bug in the caller, never a race)."""


class Decision(Protocol):
    outcome: str
    reason: str
    detail: str
    held_until: datetime | None


@dataclass(frozen=True)
class Note:
    """A decision that is not the policy's: a provider answer, a cancellation, a crash settled."""

    outcome: str
    reason: str
    detail: str = ""
    held_until: datetime | None = None


DECISION_COLUMNS = ("message_id", "stage", "outcome", "reason", "detail", "held_until", "decided_at")


def decision_rows(
    *, messages: Iterable[tuple[int, Decision]], stage: str, now: datetime
) -> list[tuple[object, ...]]:
    """The decision rows for `messages`, as values of `DECISION_COLUMNS` (for a bulk load)."""
    stage = str(stage)
    return [
        (message_id, stage, str(d.outcome), str(d.reason), d.detail[:200], d.held_until, now)
        for message_id, d in messages
    ]


def decisions_record(*, messages: Iterable[tuple[int, Decision]], stage: str, now: datetime) -> None:
    from campaigns.models.guardrails import GuardrailDecision

    rows = decision_rows(messages=messages, stage=stage, now=now)
    GuardrailDecision.objects.bulk_create(
        [GuardrailDecision(**dict(zip(DECISION_COLUMNS, row, strict=True))) for row in rows], batch_size=2000
    )


def _check(sources: Iterable[str], target: str) -> list[str]:
    sources = [str(s) for s in sources]
    for source in sources:
        if target not in TRANSITIONS[source]:
            raise TransitionError(f"a message cannot move from {source} to {target}")
    return sources


def initial_status(target: str) -> str:
    """A new message's first state: the move from pending its first decision makes."""
    _check([Message.Status.PENDING], target)
    return str(target)


class MessageQuerySet(models.QuerySet):
    def transition(
        self,
        *,
        source: str | Iterable[str],
        target: str,
        now: datetime,
        stage: str | None = None,
        decision: Decision | Mapping[int, Decision] | None = None,
        **fields: object,
    ) -> list[int]:
        """Move the rows of this queryset that are in `source` to `target`; returns the ids moved.

        With `stage` and `decision` (one for all, or one per id), the decision is recorded for
        exactly the rows that moved.
        """
        sources = _check([source] if isinstance(source, str) else source, target)
        moved: list[int] = []
        with transaction.atomic():
            candidates = self.filter(status__in=sources).select_for_update(**_skip_locked())
            ids = list(candidates.values_list("id", flat=True))
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                Message.objects.filter(id__in=chunk, status__in=sources).update(
                    status=target, status_changed_at=now, **fields
                )
                moved.extend(chunk)
                ReportDayMark.objects.add_for(Message.objects.filter(id__in=chunk), now=now)
            if stage and decision and moved:
                by_id = decision if isinstance(decision, Mapping) else dict.fromkeys(moved, decision)
                decisions_record(messages=[(mid, by_id[mid]) for mid in moved], stage=stage, now=now)
        return moved

    def transition_each(
        self,
        *,
        source: str,
        target: str,
        now: datetime,
        claim_token: object = None,
        values: Mapping[int, Mapping[str, object]],
        **fields: object,
    ) -> list[int]:
        """Move many rows in one UPDATE where each row carries its own values (a batch of provider
        answers: one SID and send time each); `fields` are common to all. Only rows still in
        `source` (and, when given, still under this worker's claim) move; returns their ids."""
        _check([source], target)
        if not values:
            return []
        expected = Message.objects.filter(id__in=list(values), status=source)
        if claim_token is not None:
            expected = expected.filter(claim_token=claim_token)
        names = {name for row in values.values() for name in row}
        per_row = {name: _per_row(name, values) for name in names}
        # Within the caller's transaction, no savepoint of its own: the UPDATE and the marks of the
        # days it changes are one statement each, and an error leaves the caller's block to undo.
        with transaction.atomic(savepoint=False):
            moved = _update_returning(expected, status=target, status_changed_at=now, **per_row, **fields)
            ReportDayMark.objects.add_created(((store, created) for _, store, created in moved), now=now)
        return [message_id for message_id, _, _ in moved]

    def claim_due(self, *, now: datetime, token: object) -> list[Message]:
        """Take this queryset's queued, due messages for one worker; rows another worker took are skipped.

        One UPDATE … RETURNING: the rows it moves are the rows this worker loads.
        """
        due = self.filter(status=Message.Status.QUEUED, send_after__lte=now)
        due = due.select_for_update(**_skip_locked()).values("id")
        connection = connections[due.db]
        values = {
            "status": Message.Status.SENDING,
            "claim_token": token,
            "claimed_at": now,
            "status_changed_at": now,
        }
        fields = [Message._meta.get_field(name) for name in values]
        assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
        prepared = [f.get_db_prep_save(values[f.name], connection) for f in fields]
        table, pk = connection.ops.quote_name(Message._meta.db_table), connection.ops.quote_name("id")
        # FOR UPDATE compiles only within a transaction; within the caller's, no savepoint of its own.
        with transaction.atomic(using=due.db, savepoint=False):
            try:
                where, params = due.query.get_compiler(connection=connection).as_sql()
            except EmptyResultSet:  # no ids to take
                return []
            # The rows to take are locked once, in the WITH: as a plain `IN (subquery)` PostgreSQL
            # may rescan the locking subquery for every row of the table when its statistics are stale.
            claim = (
                f"WITH due AS ({where}) "
                f"UPDATE {table} SET {assignments} WHERE {pk} IN (SELECT id FROM due) RETURNING *"
            )
            claimed = list(Message.objects.db_manager(due.db).raw(claim, [*params, *prepared]))
        # A batch's texts share a store or a few: each store's row is read once, not once a text.
        stores = Store.objects.in_bulk({m.store_id for m in claimed})
        for message in claimed:
            message.store = stores[message.store_id]
        return claimed


def _days_recounted(sub_objs, using) -> None:
    texts = (
        sub_objs
        if isinstance(sub_objs, models.QuerySet)
        else Message.objects.filter(pk__in=[o.pk for o in sub_objs])
    )
    ReportDayMark.objects.using(using).add_for(texts)


def set_null_recounted(collector, field, sub_objs, using) -> None:
    """SET_NULL for a text's flow run, step or campaign, and the texts' days counted again: the
    groups the reports put them in change."""
    _days_recounted(sub_objs, using)
    models.SET_NULL(collector, field, sub_objs, using)


def cascade_recounted(collector, field, sub_objs, using) -> None:
    """CASCADE for a deleted customer's texts, and their days counted again without them."""
    _days_recounted(sub_objs, using)
    models.CASCADE(collector, field, sub_objs, using)


RETURNED = ("id", "store_id", "created_at")


def _update_returning(rows: models.QuerySet, **values: object) -> list[tuple[int, int, datetime]]:
    """`rows.update(**values)` as one UPDATE … RETURNING: (id, store id, created at) of each row it
    changed, what the marks of the texts' days need without reading the rows again."""
    using = router.db_for_write(rows.model)
    query = rows.query.chain(UpdateQuery)
    query.add_update_values(values)
    statement, params = query.get_compiler(using).as_sql()
    connection = connections[using]
    columns = [Message._meta.get_field(name).get_col(Message._meta.db_table) for name in RETURNED]
    converters = [connection.ops.get_db_converters(c) + c.get_db_converters(connection) for c in columns]
    returning = ", ".join(connection.ops.quote_name(c.target.column) for c in columns)
    with transaction.mark_for_rollback_on_error(using=using), connection.cursor() as cursor:
        cursor.execute(f"{statement} RETURNING {returning}", params)
        rows_moved = cursor.fetchall()
    converted = []
    for row in rows_moved:
        values_ = []
        for value, column, convert in zip(row, columns, converters, strict=True):
            for converter in convert:
                value = converter(value, column, connection)
            values_.append(value)
        converted.append(tuple(values_))
    return converted


def _per_row(name: str, values: Mapping[int, Mapping[str, object]]) -> RawSQL:
    """`CASE id WHEN … THEN … END` for one column: a single SQL string, cheap to build for a batch."""
    field = Message._meta.get_field(name)
    connection = connections[router.db_for_write(Message)]
    params: list[object] = []
    for mid, row in values.items():
        params += [mid, field.get_db_prep_value(row[name], connection)]
    whens = " ".join(["WHEN %s THEN %s"] * len(values))
    return RawSQL(f"CASE {connection.ops.quote_name('id')} {whens} END", params, output_field=field)


def _skip_locked() -> dict[str, object]:
    from django.db import connection

    if connection.features.has_select_for_update_skip_locked:
        return {"skip_locked": True, "of": ("self",)}
    return {}


MessageManager = models.Manager.from_queryset(MessageQuerySet)


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        HELD = "held"
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        UNDELIVERED = "undelivered"
        FAILED = "failed"
        SUPPRESSED = "suppressed"

    # The status groups every other module counts with: one list each, here.
    # Waiting for its turn: not yet handed to the provider, and may still go.
    WAITING = (Status.PENDING, Status.HELD, Status.QUEUED, Status.SENDING)
    # Created but not yet claimed for sending: what a release or a cancellation moves.
    UNSENT = (Status.PENDING, Status.HELD, Status.QUEUED)
    # Counted against caps and overlap when a text is created: planned or gone out.
    PLANNED = (Status.HELD, Status.QUEUED, Status.SENDING, Status.SENT, Status.DELIVERED, Status.UNDELIVERED)
    # Counted against caps right before sending: handed to the provider (or being handed).
    WENT_OUT = (Status.SENDING, Status.SENT, Status.DELIVERED, Status.UNDELIVERED)
    # Accepted by the provider: what reports call "sent" and what is billed.
    ACCEPTED = (Status.SENT, Status.DELIVERED, Status.UNDELIVERED)
    # Did not reach the phone: refused by the provider or reported undelivered by the carrier.
    NOT_DELIVERED = (Status.FAILED, Status.UNDELIVERED)
    # Reached the phone, or may have (no receipt yet): what a reply or an opt-out can answer.
    RECEIVED = (Status.SENT, Status.DELIVERED)

    class Kind(models.TextChoices):
        MARKETING = "marketing"
        TRANSACTIONAL = "transactional", "Transactional (confirmations, replies)"
        REPLY = "reply", "Reply to the customer's own text (within 24 h)"

    class Encoding(models.TextChoices):
        GSM7 = "gsm7", "GSM-7"
        UCS2 = "ucs2", "UCS-2"

    store = models.ForeignKey(
        "customers.Store",
        on_delete=models.CASCADE,
        related_name="messages",
        db_index=False,  # (store, created_at) leads with it
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=cascade_recounted,
        related_name="messages",
        db_index=False,  # (customer, created_at) and (customer, planned_at) lead with it
    )
    to = models.CharField(max_length=16)
    body = models.TextField()
    flow_run = models.ForeignKey(
        "campaigns.FlowRun",
        null=True,
        blank=True,
        on_delete=set_null_recounted,
        related_name="messages",
        db_index=False,  # indexed where set: see Meta
    )
    flow_step = models.ForeignKey(
        "campaigns.FlowStep",
        null=True,
        blank=True,
        on_delete=set_null_recounted,
        related_name="messages",
        db_index=False,  # indexed where set: see Meta
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=set_null_recounted,
        related_name="messages",
        db_index=False,  # indexed where set: see Meta
    )
    variant = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.MARKETING)
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING)
    reason = models.CharField(max_length=50, blank=True)
    idempotency_key = models.CharField(max_length=200)
    valid_until = models.DateTimeField(null=True, blank=True)
    send_after = models.DateTimeField(null=True, blank=True)
    provider_sid = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=16, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    priority = models.SmallIntegerField(
        default=0, help_text="Higher wins when two texts for one customer overlap."
    )
    confirms_opt_out = models.BooleanField(
        default=False, help_text="The one text allowed after an opt-out: its confirmation."
    )
    encoding = models.CharField(max_length=4, choices=Encoding, default=Encoding.GSM7)
    segments = models.PositiveSmallIntegerField(default=1)
    planned_at = models.DateTimeField(
        null=True, blank=True, help_text="When it went out or is planned to; what caps and overlap count."
    )
    sender = models.CharField(
        max_length=34, blank=True, help_text="Messaging Service SID or from-number used"
    )
    provider_status = models.CharField(max_length=16, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    create_token = models.UUIDField(null=True, blank=True, editable=False)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True, help_text="Last status poll at the provider")

    objects = MessageManager()

    class Meta:
        constraints = [
            # A constraint rather than `unique=True`, which on PostgreSQL also builds a LIKE index
            # that every insert and status change would keep up for no query of the app's.
            models.UniqueConstraint(fields=["idempotency_key"], name="message_idempotency_key_unique"),
        ]
        # Every insert writes into each index, and every status change too (a changed status is
        # never a HOT update): so each index here serves a query, and the ones for a state hold
        # only the rows in it. A text enters the waiting index when it is created and when it is
        # claimed, and none of it once it has gone out: the due, the held, the stuck and a
        # campaign's unsent texts are found there among the few that wait.
        indexes = [
            models.Index(
                fields=["status", "send_after"],
                condition=Q(status__in=["pending", "held", "queued", "sending"]),
                name="message_waiting",
            ),
            models.Index(fields=["sent_at"], condition=Q(status="sent"), name="message_awaiting_receipt"),
            # The rarer ends, which the text list filters by (the common one, delivered, needs none).
            models.Index(
                fields=["status"],
                condition=Q(status__in=["failed", "suppressed", "undelivered"]),
                name="message_stopped",
            ),
            models.Index(fields=["provider_sid"], condition=~Q(provider_sid=""), name="message_provider_sid"),
            models.Index(fields=["customer", "created_at"]),
            models.Index(fields=["customer", "planned_at"]),
            # A store's texts of a period: the reports' cohorts and their rollup's days.
            models.Index(fields=["store", "created_at"]),
            # Each text is a flow's or a campaign's: its reports, its progress and the cascades.
            models.Index(fields=["campaign"], condition=Q(campaign__isnull=False), name="message_campaign"),
            models.Index(fields=["flow_run"], condition=Q(flow_run__isnull=False), name="message_flow_run"),
            models.Index(
                fields=["flow_step"], condition=Q(flow_step__isnull=False), name="message_flow_step"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.body[:40]}"

    def transition(
        self,
        *,
        target: str,
        now: datetime,
        stage: str | None = None,
        decision: Decision | None = None,
        **fields: object,
    ) -> bool:
        """Move this message from the state it was loaded in (and, when sending, this worker's
        claim) to `target`; False if another worker or callback moved it first."""
        _check([self.status], target)
        expected = Message.objects.filter(id=self.id, status=self.status)
        if self.status == Message.Status.SENDING:
            expected = expected.filter(claim_token=self.claim_token)
        with transaction.atomic():
            changed = expected.update(status=target, status_changed_at=now, **fields)
            if changed and stage and decision:
                decisions_record(messages=[(self.id, decision)], stage=stage, now=now)
            if changed:
                # The figures of the text's day change: counted again before a report reads them.
                ReportDayMark.objects.add_one(store_id=self.store_id, created_at=self.created_at, now=now)
        if changed:
            self.moved(target=target, fields=fields)
        return bool(changed)

    def moved(self, *, target: str, fields: Mapping[str, object]) -> None:
        """This instance as a move of the lifecycle just left its row: the new status and the
        fields written (an expression is left unread)."""
        self.status = target
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self, name, value)


S = Message.Status
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.QUEUED, S.HELD, S.SUPPRESSED},
    S.HELD: {S.QUEUED, S.HELD, S.SUPPRESSED},
    S.QUEUED: {S.SENDING, S.QUEUED, S.HELD, S.SUPPRESSED},
    # Back to queued or held: the rate limit could not take it, or the provider said "try later";
    # straight to delivered: a callback can overtake the commit of the provider's answer.
    S.SENDING: {S.SENT, S.QUEUED, S.HELD, S.SUPPRESSED, S.FAILED, S.DELIVERED, S.UNDELIVERED},
    S.SENT: {S.DELIVERED, S.UNDELIVERED, S.FAILED},
    S.DELIVERED: set(),
    S.UNDELIVERED: set(),
    S.FAILED: set(),
    S.SUPPRESSED: set(),
}


class ProviderCircuit(models.Model):
    """Whether a sender's provider answers: a breaker shared by every worker, one row per sender.

    Closed: texts go out. Open (`open_until` in the future): nobody calls the provider; texts wait.
    When `open_until` passes, one worker sends one text as a probe (half-open): an answer closes
    the breaker, another "try later" opens it again for longer.
    """

    sender = models.CharField(max_length=40, unique=True)
    failures = models.PositiveIntegerField(default=0, help_text="Consecutive 'try later' answers")
    unavailable_since = models.DateTimeField(null=True, blank=True)
    open_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.sender
