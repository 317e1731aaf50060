"""Broadcast campaigns: one template to a segment's subscribers, at one moment or at one local time.

A campaign is materialized once, in bulk: its subscribed members become outbox messages in
batches, each keyed `campaign:<id>:<customer id>`, so running it twice creates nothing twice.
Sending is the outbox's job; it skips messages of paused campaigns (`paused_campaign_ids`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from customers.models import Customer
from customers.segments import members

from .models import Campaign, Message
from .outbox import MessageDraft, messages_create
from .rendering import render_message

logger = logging.getLogger(__name__)

BATCH = 1000
S = Message.Status
WAITING = [S.PENDING, S.HELD, S.QUEUED, S.SENDING]
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


def _drafts(campaign: Campaign, customers: list[Customer], times: dict[str, datetime]) -> list[MessageDraft]:
    drafts = []
    for customer in customers:
        if campaign.local_send_time is None:
            send_at = campaign.send_at
        elif (send_at := times.get(customer.timezone)) is None:
            send_at = times[customer.timezone] = local_send_at(
                starts=campaign.send_at, local_time=campaign.local_send_time, tz_name=customer.timezone
            )
        rendered = render_message(
            template_body=campaign.template.body,
            customer=customer,
            snapshot={},
            utm_campaign=campaign.slug,
            utm_content="broadcast",
        )
        drafts.append(
            MessageDraft(
                customer=customer,
                body=rendered.body,
                idempotency_key=f"campaign:{campaign.pk}:{customer.pk}",
                links=rendered.links,
                campaign_id=campaign.pk,
                send_after=send_at,
                valid_until=send_at + timedelta(hours=campaign.valid_hours),
            )
        )
    return drafts


def campaign_recipients(campaign: Campaign, *, now: datetime) -> QuerySet[Customer]:
    subscribed = members(campaign.segment, now=now).filter(sms_consent=Customer.Consent.SUBSCRIBED)
    return subscribed.select_related("store").order_by("pk")


def campaign_materialize(*, campaign_id: int, now: datetime) -> int:
    """Turn a due, scheduled campaign into outbox messages; returns how many were created."""
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update()
            .select_related("template", "segment__store")
            .filter(pk=campaign_id, status=C.SCHEDULED, send_at__lte=now)
            .first()
        )
        if campaign is None:  # not due, paused, cancelled, or another worker got there first
            return 0
        recipients = campaign_recipients(campaign, now=now)
        created, last_pk, times = 0, 0, {}
        while batch := list(recipients.filter(pk__gt=last_pk)[:BATCH]):
            created += len(messages_create(drafts=_drafts(campaign, batch, times), now=now))
            last_pk = batch[-1].pk
        total = Message.objects.filter(campaign=campaign).count()
        campaign.status = C.SENDING if total else C.DONE
        campaign.recipients_count, campaign.materialized_at = total, now
        campaign.finished_at = None if total else now
        campaign.save(update_fields=["status", "recipients_count", "materialized_at", "finished_at"])
    logger.info("Campaign %s materialized: %s messages", campaign_id, created)
    return created


def campaign_materialize_task(campaign_id: int) -> int:
    return campaign_materialize(campaign_id=campaign_id, now=timezone.now())


def _move(campaign: Campaign, allowed: set[str], **changes: object) -> Campaign:
    with transaction.atomic():
        moved = Campaign.objects.filter(pk=campaign.pk, status__in=allowed).update(**changes)
        if not moved:
            campaign.refresh_from_db(fields=["status"])
            raise CampaignStateError(f"A {campaign.get_status_display().lower()} campaign cannot do that.")
    campaign.refresh_from_db()
    return campaign


def campaign_schedule(*, campaign: Campaign) -> Campaign:
    return _move(campaign, {C.DRAFT}, status=C.SCHEDULED)


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop handing out its texts; messages already with the provider go on."""
    campaign.refresh_from_db(fields=["status"])
    return _move(campaign, {C.SCHEDULED, C.SENDING}, status=C.PAUSED, paused_from=campaign.status)


def campaign_resume(*, campaign: Campaign) -> Campaign:
    campaign.refresh_from_db(fields=["status", "paused_from"])
    return _move(campaign, {C.PAUSED}, status=campaign.paused_from or C.SCHEDULED, paused_from="")


def campaign_cancel(*, campaign: Campaign, now: datetime) -> Campaign:
    """Cancel it: texts not yet claimed for sending are suppressed with the reason."""
    with transaction.atomic():
        campaign = _move(
            campaign, {C.DRAFT, C.SCHEDULED, C.SENDING, C.PAUSED}, status=C.CANCELLED, finished_at=now
        )
        Message.objects.filter(campaign=campaign, status__in=[S.PENDING, S.HELD, S.QUEUED]).update(
            status=S.SUPPRESSED, reason="campaign_cancelled", updated_at=now
        )
    return campaign


def paused_campaign_ids() -> QuerySet[Campaign]:
    """Campaigns whose queued texts must not be handed out; usable as a subquery."""
    return Campaign.objects.filter(status=C.PAUSED).values("pk")


def campaigns_finish(*, now: datetime) -> int:
    waiting = Message.objects.filter(campaign=OuterRef("pk"), status__in=WAITING)
    with transaction.atomic():
        return (
            Campaign.objects.filter(status=C.SENDING, materialized_at__isnull=False)
            .exclude(Exists(waiting))
            .update(status=C.DONE, finished_at=now)
        )


def broadcasts_tick(*, now: datetime) -> list[int]:
    """Queue materialization of due campaigns and close finished ones; for the scheduler's tick."""
    due = list(Campaign.objects.filter(status=C.SCHEDULED, send_at__lte=now).values_list("pk", flat=True))
    for pk in due:
        transaction.on_commit(lambda pk=pk: async_task("campaigns.broadcasts.campaign_materialize_task", pk))
    campaigns_finish(now=now)
    return due


@dataclass
class Progress:
    materialized: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    suppressed_by_reason: dict[str, int] = field(default_factory=dict)

    def count(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def waiting(self) -> int:
        return self.count(*WAITING)

    @property
    def bars(self) -> list[tuple[str, str, int, float]]:
        """(label, css class, count, percent) for a stacked progress bar."""
        parts = [
            ("Delivered", "bg-delivered", self.count(S.DELIVERED)),
            ("Sent", "bg-sent", self.count(S.SENT)),
            ("Failed", "bg-failed", self.count(S.FAILED, S.UNDELIVERED)),
            ("Suppressed", "bg-suppressed", self.count(S.SUPPRESSED)),
            ("Waiting", "bg-waiting", self.waiting),
        ]
        total = self.materialized or 1
        return [(label, css, n, round(100 * n / total, 1)) for label, css, n in parts]

    @property
    def stages(self) -> list[tuple[str, int]]:
        """Every status in pipeline order, with its count."""
        return [(label, self.by_status.get(value, 0)) for value, label in S.choices]

    @property
    def percent_done(self) -> float:
        return (
            round(100 * (self.materialized - self.waiting) / self.materialized, 1) if self.materialized else 0
        )


def campaign_progress(campaign: Campaign) -> Progress:
    rows = Message.objects.filter(campaign=campaign).values("status", "reason").annotate(n=Count("pk"))
    progress = Progress()
    for row in rows:
        progress.materialized += row["n"]
        progress.by_status[row["status"]] = progress.by_status.get(row["status"], 0) + row["n"]
        if row["status"] == S.SUPPRESSED:
            reason = row["reason"] or "unspecified"
            progress.suppressed_by_reason[reason] = progress.suppressed_by_reason.get(reason, 0) + row["n"]
    return progress

