"""Guardrail data: every decision taken on a message, and the rules a store can edit."""

from __future__ import annotations

from datetime import time

from django.db import models
from django.db.models import Q


class Reason(models.TextChoices):
    OK = "ok", "Allowed"
    NO_CONSENT = "no_consent", "Not subscribed"
    OPTED_OUT = "opted_out", "Opted out"
    NUMBER_UNDELIVERABLE = "number_undeliverable", "Number cannot receive texts"
    EXPIRED = "expired", "Past its valid-until time"
    QUIET_HOURS = "quiet_hours", "Outside the sending window in the recipient's time"
    FREQUENCY_CAP = "frequency_cap", "Frequency cap reached"
    CHOSEN_FREQUENCY = "chosen_frequency", "The subscriber's chosen frequency (weekly / monthly) reached"
    STATE_CAP = "state_cap", "State limit on marketing texts per 24 h reached"
    OVERLAP = "overlap", "Another text for this customer within the overlap window"
    SUPERSEDED = "superseded", "Replaced by a higher-priority text within the overlap window"
    PROVIDER_OPT_OUT = "provider_opt_out", "The provider reports the recipient opted out (21610)"
    PROVIDER_REJECTED = "provider_rejected", "The provider rejected the message"
    RETRIES_EXHAUSTED = "retries_exhausted", "Retryable errors until the attempt limit"
    RETRY = "retry", "Retryable provider error, retry scheduled"
    OFFER_CODE_PENDING = "offer_code_pending", "Waiting for its unique code to be created in the shop"
    OFFER_CODE_REFUSED = "offer_code_refused", "Its unique code was refused or none was left: held"


class GuardrailDecision(models.Model):
    """One evaluation of the policy (or a provider verdict) on one message; never updated."""

    class Stage(models.TextChoices):
        CREATE = "create", "When created"
        RELEASE = "release", "When its hold ended"
        SEND = "send", "Right before the provider call"
        PROVIDER = "provider", "Provider answer"

    class Outcome(models.TextChoices):
        ALLOW = "allow"
        HOLD = "hold", "Held until"
        SUPPRESS = "suppress"

    message = models.ForeignKey(
        "campaigns.Message",
        on_delete=models.CASCADE,
        related_name="decisions",
        db_index=False,  # (message, decided_at) leads with it
    )
    stage = models.CharField(max_length=8, choices=Stage)
    outcome = models.CharField(max_length=8, choices=Outcome)
    reason = models.CharField(max_length=24, choices=Reason)
    detail = models.CharField(max_length=200, blank=True)
    held_until = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        verbose_name = "sending decision"
        verbose_name_plural = "sending decisions (why each text went, waited or not)"
        indexes = [models.Index(fields=["message", "decided_at"])]

    def __str__(self) -> str:
        return f"{self.stage}: {self.outcome} ({self.reason})"


class QuietHoursRule(models.Model):
    """A state's sending window (and daily limit), stricter than the store's own window.

    Rows without a store apply to every store; a store's own row for a region replaces it.
    """

    store = models.ForeignKey(
        "customers.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="quiet_hours_rules"
    )
    region = models.CharField(max_length=2, help_text="US state code, e.g. FL")
    window_start = models.TimeField(default=time(8, 0), help_text="Earliest local time to send")
    window_end = models.TimeField(default=time(20, 0), help_text="Local time sending stops")
    max_per_24h = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Marketing texts per rolling 24 h; empty for no state limit"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "region"], name="quiet_rule_region_per_store"),
            models.UniqueConstraint(
                fields=["region"], condition=Q(store__isnull=True), name="quiet_rule_region_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.window_start:%H:%M}–{self.window_end:%H:%M}"


class UndeliverableNumber(models.Model):
    """A number the provider called invalid or unable to receive texts (21211, 21614)."""

    store = models.ForeignKey(
        "customers.Store", on_delete=models.CASCADE, related_name="undeliverable_numbers"
    )
    phone = models.CharField(max_length=16)
    error_code = models.CharField(max_length=16)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "phone"], name="undeliverable_phone_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.phone} ({self.error_code})"


class SendRateBucket(models.Model):
    """Per-sender pacing shared by every worker: the next free send slot."""

    sender = models.CharField(max_length=40, unique=True)
    next_slot_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.sender
