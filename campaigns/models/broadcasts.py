"""One-off sends of a template to a segment.

`TRANSITIONS` lists every allowed move of a campaign's status; `Campaign.objects...move()` makes it
as a conditional UPDATE from the expected states, so a campaign another worker moved first is left
alone. Nothing else writes `status`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models

from campaigns.models.outbox import TransitionError


class CampaignQuerySet(models.QuerySet):
    def move(self, *, source: Iterable[str], target: str, **fields: object) -> int:
        """Move the campaigns of this queryset that are in `source` to `target`; returns how many moved."""
        sources = list(source)
        for status in sources:
            if target not in TRANSITIONS[status]:
                raise TransitionError(f"a campaign cannot move from {status} to {target}")
        return self.filter(status__in=sources).update(status=target, **fields)


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SCHEDULED = "scheduled"
        SENDING = "sending"
        PAUSED = "paused"
        DONE = "done"
        CANCELLED = "cancelled"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    template = models.ForeignKey("campaigns.MessageTemplate", on_delete=models.PROTECT)
    segment = models.ForeignKey("customers.Segment", on_delete=models.PROTECT)
    send_at = models.DateTimeField(
        help_text="When the campaign starts. With a local send time, each recipient gets the text at "
        "the first such time in their own timezone after this moment."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    local_send_time = models.TimeField(
        null=True, blank=True, help_text="Same local time for every recipient, e.g. 10:00 in their timezone."
    )
    at_best_hour = models.BooleanField(
        "at each recipient's best hour",
        default=False,
        help_text="Each recipient with a predicted best hour gets the text at the first such hour in their "
        "timezone after the send time (within a day); the others as above.",
    )
    valid_hours = models.PositiveSmallIntegerField(
        default=6, help_text="Hours after its send time a text may still go out; later it is dropped."
    )
    offer = models.ForeignKey(
        "campaigns.Offer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A unique single-use code per recipient for {{ offer_code }}",
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.DRAFT)
    paused_from = models.CharField(max_length=10, choices=Status, blank=True, editable=False)
    recipients_count = models.PositiveIntegerField(default=0, editable=False)
    materialized_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    error = models.TextField(
        blank=True, editable=False, help_text="Why the tick paused this campaign; cleared when it resumes."
    )
    error_at = models.DateTimeField(null=True, blank=True, editable=False)
    preparing_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="A worker is preparing its recipients until then."
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="campaign_slug_per_store")]
        indexes = [models.Index(fields=["status", "send_at"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        for field in ("template", "segment"):
            related = getattr(self, field, None) if getattr(self, f"{field}_id") else None
            if related is not None and self.store_id and related.store_id != self.store_id:
                raise ValidationError({field: f"Choose a {field} of the campaign's store."})


_S = Campaign.Status
TRANSITIONS: dict[str, set[str]] = {
    _S.DRAFT: {_S.DRAFT, _S.SCHEDULED, _S.CANCELLED},
    _S.SCHEDULED: {_S.DRAFT, _S.SENDING, _S.PAUSED, _S.CANCELLED},
    _S.SENDING: {_S.SENDING, _S.PAUSED, _S.DONE, _S.CANCELLED},
    _S.PAUSED: {_S.SCHEDULED, _S.SENDING, _S.CANCELLED},
    _S.DONE: set(),
    _S.CANCELLED: set(),
}
