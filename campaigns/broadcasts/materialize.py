"""Broadcast campaigns: one template to a segment's subscribers, at one moment or at one local time.

A campaign is materialized in bulk: its subscribed members become outbox messages in batches,
each keyed `campaign:<id>:<customer id>`, so running it twice creates nothing twice. With a local
send time ("10:00 in their timezone") each timezone is materialized when its moment comes, so the
guardrails (quiet hours, caps) judge every text at the time it really goes out.
The tick's prepare stage (`tick.py`) materializes due campaigns, each on its own: one that fails
is paused with its error.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from campaigns.bulk import among
from campaigns.content.checks import broadcast_error
from campaigns.content.offers import READY, offer_codes_give
from campaigns.content.rendering import customer_columns, render_messages
from campaigns.models import Campaign, Message
from campaigns.reports import experiments
from campaigns.sending import guardrails
from campaigns.sending.outbox import DecidedBatch, MessageDraft, decided_store, drafts_decide
from customers.models import Customer
from customers.segments import members

logger = logging.getLogger(__name__)

# Recipients per commit: fewer commits cost less, but a commit holds its batch's foreign-key checks.
BATCH = 10_000
# A recipient is a row of the columns the guardrails decide on and those its template reads, not a
# Customer instance: building 100,000 model instances costs more than rendering their texts.
RECIPIENT_COLUMNS = guardrails.RECIPIENT_FACTS
PREPARING_LEASE = timedelta(minutes=15)
S = Message.Status
C = Campaign.Status


class CampaignStateError(ValueError):
    pass


def local_send_at(*, starts: datetime, local_time: time, tz_name: str) -> datetime:
    """The first `local_time` in the timezone at or after `starts`, in UTC."""
    tz = ZoneInfo(tz_name)
    day = starts.astimezone(tz).date()
    for offset in (0, 1):
        # Through UTC and back, so a wall time that DST skips lands on the real instant after it.
        candidate = datetime.combine(day + timedelta(days=offset), local_time, tzinfo=tz).astimezone(UTC)
        if candidate >= starts:
            return candidate
    raise AssertionError("unreachable: the next day's local time is always after the start")


def send_time(campaign: Campaign, tz_name: str, best_hour: int | None = None) -> datetime:
    """When the campaign's text goes to a recipient in this timezone (with this best hour)."""
    local = campaign.local_send_time
    if campaign.at_best_hour and best_hour is not None:
        local = time(best_hour)
    if local is None:
        return campaign.send_at
    try:
        return local_send_at(starts=campaign.send_at, local_time=local, tz_name=tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz_name = campaign.store.default_timezone
        return local_send_at(starts=campaign.send_at, local_time=local, tz_name=tz_name)


BEST_HOUR = "prediction__best_hour"


def _moment(campaign: Campaign, customer) -> tuple[str, int | None]:
    """A recipient's send time's key: their timezone, and their best hour where the campaign uses it."""
    return customer.timezone, getattr(customer, BEST_HOUR, None) if campaign.at_best_hour else None


def _drafts(
    campaign: Campaign, customers: list[Customer], times: dict[tuple, datetime], now: datetime
) -> list[MessageDraft]:
    drafts = []
    valid_until = {tz: at + timedelta(hours=campaign.valid_hours) for tz, at in times.items()}
    for arm, group in experiments.campaign_place(campaign, customers, now=now):
        variant = arm.variant if arm else None
        keys = [f"campaign:{campaign.pk}:{customer.pk}" for customer in group]
        offer = variant.offer if variant and variant.offer_id else campaign.offer
        given = (
            offer_codes_give(
                offer=offer, recipients=[(k, c.pk) for k, c in zip(keys, group, strict=True)], now=now
            )
            if offer
            else {}
        )
        rendered = render_messages(
            template_body=variant.body if variant and variant.body else campaign.template.body,
            customers=group,
            utm_campaign=campaign.slug,
            utm_content=f"broadcast-{arm.key.lower()}" if arm else "broadcast",
            offer_code=variant.offer_code if variant else "",
            offer_codes=[given[k].code for k in keys] if offer else None,
        )
        code = arm.code if arm else ""
        campaign_id = campaign.pk
        drafts += [
            MessageDraft(
                customer=customer,
                body=text.body,
                idempotency_key=key,
                links=text.links,
                campaign_id=campaign_id,
                variant=code,
                valid_until=valid_until[_moment(campaign, customer)],
                offer_state="" if not offer or given[key].state == READY else given[key].state,
            )
            for customer, text, key in zip(group, rendered, keys, strict=True)
        ]
    return drafts


def campaign_bodies(campaign: Campaign) -> set[str]:
    """The texts the campaign sends: its template's and its running experiment's variants'."""
    bodies = {campaign.template.body}
    for experiment in experiments.running(campaign_ids=[campaign.pk]):
        bodies.update(v.body for v in experiment.arms_cache if v.body)
    return bodies


def _template_columns(campaign: Campaign) -> list[str]:
    """The customer columns the campaign's texts are rendered from."""
    return sorted({column for body in campaign_bodies(campaign) for column in customer_columns(body)})


def campaign_recipients(campaign: Campaign, *, now: datetime) -> QuerySet[Customer]:
    subscribed = members(campaign.segment, now=now).filter(sms_consent=Customer.Consent.SUBSCRIBED)
    return experiments.control_group_exclude(subscribed, store=campaign.store).order_by("pk")


def _due(
    campaign: Campaign, recipients: QuerySet[Customer], now: datetime
) -> tuple[dict[tuple, datetime], bool]:
    """The (timezone, best hour) pairs whose send time has come (with that time), and whether that
    is all of them; the best hour is None unless the campaign sends at each recipient's."""
    columns = ("timezone", BEST_HOUR) if campaign.at_best_hour else ("timezone",)
    keys = {(*row, None)[:2] for row in recipients.order_by().values_list(*columns).distinct()}
    times = {key: send_time(campaign, *key) for key in keys}
    due = {key: at for key, at in times.items() if at <= now}
    return due, len(due) == len(times)


def _due_q(due: dict[tuple, datetime]) -> Q:
    keys = list(due)
    if all(hour is None for _, hour in keys):
        return Q(timezone__in=[tz for tz, _ in keys])
    q = Q(pk__in=[])
    for tz, hour in keys:
        q |= Q(timezone=tz, **({BEST_HOUR: hour} if hour is not None else {f"{BEST_HOUR}__isnull": True}))
    return q


def _claim(campaign_id: int, now: datetime) -> Campaign | None:
    """Take the campaign for preparing, unless it is not due or another worker holds the lease."""
    free = Q(preparing_until__isnull=True) | Q(preparing_until__lt=now)
    with transaction.atomic():
        claimed = (
            Campaign.objects.filter(free, pk=campaign_id, send_at__lte=now, materialized_at__isnull=True)
            .move(source=[C.SCHEDULED, C.SENDING], target=C.SENDING, preparing_until=now + PREPARING_LEASE)
        )
    if not claimed:
        return None
    return Campaign.objects.select_related("template", "segment__store", "store", "offer").get(pk=campaign_id)


def _still_sending(campaign: Campaign) -> bool:
    return Campaign.objects.filter(pk=campaign.pk, status=C.SENDING).exists()


def campaign_materialize(*, campaign_id: int, now: datetime) -> int:
    """Turn a due campaign's recipients into outbox messages; returns how many were created.

    Not one transaction: each batch of `BATCH` recipients commits on its own, so a large campaign
    neither holds the database's write lock for its whole length nor loses finished batches to a
    crash. A run that stops (crash, pause) is resumed by the next tick: recipients who already have
    the text are left out by the query and by the idempotency keys. A lease keeps a second worker out.
    With a local send time, each tick adds the timezones whose moment has come.
    """
    campaign = _claim(campaign_id, now)
    if campaign is None:
        return 0
    # Its template may have changed since it was scheduled: nothing goes out with a field left empty.
    refused = broadcast_error(*campaign_bodies(campaign))
    if refused:
        raise CampaignStateError(refused)
    has_text = Message.objects.filter(campaign=campaign, customer=OuterRef("pk"))
    recipients = campaign_recipients(campaign, now=now).exclude(Exists(has_text))
    due, complete = _due(campaign, recipients, now)
    # The segment query runs once; batches are then plain primary-key lookups.
    ids = list(recipients.filter(_due_q(due)).values_list("pk", flat=True)) if due else []
    columns = [*_template_columns(campaign), *([BEST_HOUR] if campaign.at_best_hour else [])]
    with _batch_writer(now) as writer:
        for start in range(0, len(ids), BATCH):
            if not _still_sending(campaign):  # paused or cancelled meanwhile: resume picks up the rest
                complete = False
                break
            rows = _recipient_rows(ids[start : start + BATCH], columns)
            drafts = _drafts(campaign, rows, due, now)
            # Under the lease, and with customers who have the text left out above, every key is new.
            writer.write(drafts_decide(drafts=drafts, now=now, new_keys=True, customers_read=True))
    created = writer.created
    _record_materialized(campaign, complete, now)
    logger.info("Campaign %s: %s messages materialized", campaign_id, created)
    return created


class _BatchWriter:
    """Stores each decided batch in the outbox, in its own commit; at most one batch in flight."""

    def __init__(self, now: datetime, pool: ThreadPoolExecutor | None) -> None:
        self.now, self.pool = now, pool
        self.pending: Future | None = None
        self.created = 0

    def write(self, batch: DecidedBatch) -> None:
        self.collect()
        if self.pool is None:
            self.created += self._store(batch)
        else:
            # In this thread's context: a foreground tick leaves the texts for its own send stage.
            self.pending = self.pool.submit(contextvars.copy_context().run, self._store, batch)

    def collect(self) -> None:
        """Wait for the batch in flight; its error, if it failed, is raised here."""
        pending, self.pending = self.pending, None
        if pending is not None:
            self.created += pending.result()

    def _store(self, batch: DecidedBatch) -> int:
        return len(decided_store(batch=batch, now=self.now))


@contextmanager
def _batch_writer(now: datetime) -> Iterator[_BatchWriter]:
    """On PostgreSQL, each batch is stored by a thread on a connection of its own while this one
    reads, renders and decides the next: the insert and commit wait on the server, not on Python,
    so the two overlap. Inside a caller's transaction the batches stay in it, one after another."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield _BatchWriter(now, pool=None)
        return
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="broadcast-store")
    writer = _BatchWriter(now, pool=pool)
    try:
        yield writer
        writer.collect()
    finally:
        if writer.pending is not None:  # this thread failed meanwhile: let the batch in flight end
            writer.pending.exception()
        pool.submit(connections.close_all).result()  # the store thread's own connection
        pool.shutdown()


def _recipient_rows(ids: list[int], columns: list[str]) -> list[Customer]:
    """The recipients as named rows carrying the Customer attributes rendering and the outbox read."""
    wanted = set(ids)
    rows = (
        Customer.objects.filter(among("pk", ids))
        .order_by("pk")
        .values_list(*dict.fromkeys([*RECIPIENT_COLUMNS, *columns]), named=True)
    )
    return [row for row in rows if row.pk in wanted]


def _record_materialized(campaign: Campaign, complete: bool, now: datetime) -> None:
    with transaction.atomic():
        total = Message.objects.filter(campaign=campaign).count()
        Campaign.objects.filter(pk=campaign.pk).update(
            recipients_count=total, materialized_at=now if complete else None, preparing_until=None
        )
        if complete and not total:
            Campaign.objects.filter(pk=campaign.pk).move(source=[C.SENDING], target=C.DONE, finished_at=now)
