"""A broadcast's states: scheduled, paused, resumed, cancelled, finished; and its progress.

Sending is the outbox's job; it skips texts of paused campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from campaigns.broadcasts.materialize import C, CampaignStateError, S
from campaigns.content.checks import broadcast_error
from campaigns.models import Campaign, ExperimentVariant, GuardrailDecision, Message
from campaigns.models.outbox import Note
from campaigns.sending.circuit import unavailable_since
from customers.senders import store_sender as sender_for


def _move(campaign: Campaign, allowed: set[str], target: str, **changes: object) -> Campaign:
    with transaction.atomic():
        moved = Campaign.objects.filter(pk=campaign.pk).move(source=allowed, target=target, **changes)
        if not moved:
            campaign.refresh_from_db(fields=["status"])
            raise CampaignStateError(f"A {campaign.get_status_display().lower()} campaign cannot do that.")
    campaign.refresh_from_db()
    return campaign


def campaign_text_error(campaign: Campaign) -> str:
    """Why the campaign's texts (template and any experiment's variants) cannot be broadcast."""
    variants = ExperimentVariant.objects.filter(experiment__campaign=campaign).exclude(body="")
    return broadcast_error(campaign.template.body, *variants.values_list("body", flat=True))


def campaign_schedule(*, campaign: Campaign) -> Campaign:
    refused = campaign_text_error(campaign)
    if refused:
        raise CampaignStateError(refused)
    return _move(campaign, {C.DRAFT}, C.SCHEDULED)


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Stop handing out its texts; messages already with the provider go on."""
    campaign.refresh_from_db(fields=["status"])
    return _move(campaign, {C.SCHEDULED, C.SENDING}, C.PAUSED, paused_from=campaign.status)


def campaign_resume(*, campaign: Campaign) -> Campaign:
    campaign.refresh_from_db(fields=["status", "paused_from"])
    return _move(
        campaign,
        {C.PAUSED},
        campaign.paused_from or C.SCHEDULED,
        paused_from="",
        error="",
        error_at=None,
    )


def campaign_cancel(*, campaign: Campaign, now: datetime) -> Campaign:
    """Cancel it: texts not yet claimed for sending are suppressed with the reason."""
    with transaction.atomic():
        campaign = _move(
            campaign, {C.DRAFT, C.SCHEDULED, C.SENDING, C.PAUSED}, C.CANCELLED, finished_at=now
        )
        Message.objects.filter(campaign=campaign).transition(
            source=Message.UNSENT,
            target=S.SUPPRESSED,
            now=now,
            stage=GuardrailDecision.Stage.CREATE,
            decision=Note(
                GuardrailDecision.Outcome.SUPPRESS, "campaign_cancelled", detail="its campaign was cancelled"
            ),
            reason="campaign_cancelled",
        )
    return campaign


def campaigns_finish(*, now: datetime) -> int:
    waiting = Message.objects.filter(campaign=OuterRef("pk"), status__in=Message.WAITING)
    with transaction.atomic():
        return (
            Campaign.objects.filter(materialized_at__isnull=False)
            .exclude(Exists(waiting))
            .move(source=[C.SENDING], target=C.DONE, finished_at=now)
        )


def campaigns_due(*, now: datetime) -> list[int]:
    """Campaigns whose recipients are (still) to be prepared; the tick's prepare stage takes them."""
    preparing = Q(status=C.SCHEDULED) | Q(status=C.SENDING, materialized_at__isnull=True)
    return list(
        Campaign.objects.filter(preparing, send_at__lte=now)
        .order_by("send_at", "pk")
        .values_list("pk", flat=True)
    )


def provider_unavailable_since(campaign: Campaign) -> datetime | None:
    """Since when the campaign's sender has been answering "try later" (its breaker is open)."""
    return unavailable_since(senders=[sender_for(campaign.store) or campaign.store.slug])


@dataclass
class Progress:
    materialized: int = 0
    provider_unavailable_since: datetime | None = None
    by_status: dict[str, int] = field(default_factory=dict)
    suppressed_by_reason: dict[str, int] = field(default_factory=dict)

    def count(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def waiting(self) -> int:
        return self.count(*Message.WAITING)

    @property
    def bars(self) -> list[tuple[str, str, int, float]]:
        """(label, css class, count, percent) for a stacked progress bar."""
        parts = [
            ("Delivered", "bg-delivered", self.count(S.DELIVERED)),
            ("Sent", "bg-sent", self.count(S.SENT)),
            ("Failed", "bg-failed", self.count(*Message.NOT_DELIVERED)),
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
    progress = Progress(provider_unavailable_since=provider_unavailable_since(campaign))
    for row in rows:
        progress.materialized += row["n"]
        progress.by_status[row["status"]] = progress.by_status.get(row["status"], 0) + row["n"]
        if row["status"] == S.SUPPRESSED:
            reason = row["reason"] or "unspecified"
            progress.suppressed_by_reason[reason] = progress.suppressed_by_reason.get(reason, 0) + row["n"]
    return progress
