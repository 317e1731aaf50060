"""Experiments: one lever tested on a flow step or a campaign, and the decisions taken on them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Experiment(models.Model):
    class Lever(models.TextChoices):
        # In the order the testing plan takes them: who, when, what it says, what it offers.
        AUDIENCE = "audience", "1. Audience (broad vs intent-based segment)"
        TIMING = "timing", "2. Timing (e.g. 30 vs 60 minutes)"
        COPY = "copy", "3. One dynamic field or copy change"
        OFFER = "offer", "4. Offer (none vs a controlled offer)"

    class Goal(models.TextChoices):
        CLICKS = "clicks", "Click rate (unique clicks / delivered)"
        ORDERS = "orders", "Conversion (attributed orders / delivered)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (not started)"
        RUNNING = "running"
        FINISHED = "finished"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=100)
    lever = models.CharField(max_length=10, choices=Lever, default=Lever.COPY)
    hypothesis = models.CharField(max_length=300, blank=True)
    flow_step = models.ForeignKey(
        "campaigns.FlowStep", null=True, blank=True, on_delete=models.CASCADE, related_name="experiments"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.CASCADE, related_name="experiments"
    )
    goal = models.CharField(max_length=8, choices=Goal, default=Goal.CLICKS)
    holdout_percent = models.PositiveSmallIntegerField(
        default=0, help_text="Share of customers (0–50 %) who get no text, to measure incremental lift"
    )
    min_recipients = models.PositiveIntegerField(
        default=200, help_text="Delivered texts each variant needs before a winner may be called"
    )
    status = models.CharField(max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    conclusion = models.TextField(blank=True, help_text="What it concluded, in a sentence")

    class Meta:
        indexes = [models.Index(fields=["store", "status"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.flow_step_id) == bool(self.campaign_id):
            raise ValidationError({"flow_step": "Test a flow step or a campaign: choose exactly one."})
        if self.holdout_percent > 50:
            raise ValidationError({"holdout_percent": "A holdout of at most 50 %."})
        if self.lever == self.Lever.AUDIENCE and not self.campaign_id:
            raise ValidationError({"lever": "Audience tests run on a campaign (a flow's is its trigger)."})
        if self.lever == self.Lever.TIMING and not self.flow_step_id:
            raise ValidationError({"lever": "Timing tests run on a flow step's delay."})

    def variant_code(self, key: str) -> str:
        """What Message.variant stores: unique across experiments, e.g. "e7.B"."""
        return f"e{self.pk}.{key}"


class ExperimentVariant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.CharField(max_length=4, help_text="A, B, C…")
    name = models.CharField(max_length=100)
    is_control = models.BooleanField(default=False, help_text="What the others are compared with")
    share = models.PositiveSmallIntegerField(default=50, help_text="Relative share of the non-holdout")
    body = models.TextField(blank=True, help_text="Copy: this variant's text (blank: the step's own)")
    offer_code = models.CharField(max_length=50, blank=True, help_text="Offer: this variant's code")
    offer = models.ForeignKey(
        "campaigns.Offer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Offer: a unique single-use code per recipient of this variant",
    )
    delay_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Timing: send this many minutes after the step is due"
    )
    segment = models.ForeignKey(
        "customers.Segment",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="+",
        help_text="Audience: only this segment's customers in the variant get the text",
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["experiment", "key"]
        constraints = [models.UniqueConstraint(fields=["experiment", "key"], name="variant_key_once")]

    def __str__(self) -> str:
        return f"{self.key}: {self.name}"


class ExperimentExposure(models.Model):
    """A customer's assignment in an experiment: a variant's key, or "holdout" (no text)."""

    HOLDOUT = "holdout"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    arm = models.CharField(max_length=8)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "customer"], name="exposure_once_per_customer")
        ]
        indexes = [models.Index(fields=["experiment", "arm"])]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.arm}"


class ExperimentDecision(models.Model):
    class Kind(models.TextChoices):
        WINNER = "winner", "Winner called"
        STOPPED = "stopped", "Variant stopped (opt-outs)"
        NO_DIFFERENCE = "no_difference", "No significant difference"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="decisions")
    variant = models.ForeignKey(
        ExperimentVariant, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    kind = models.CharField(max_length=16, choices=Kind)
    reason = models.TextField()
    advice = models.TextField(blank=True)
    figures = models.JSONField(default=dict, blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.experiment}"


class Attribution(models.Model):
    """An order credited to the one text that touched it last; each order at most once."""

    class Touch(models.TextChoices):
        CLICK = "click"
        DELIVERY = "delivery"
        CODE = "code", "Its unique code used"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="+")
    order = models.OneToOneField("customers.Event", on_delete=models.CASCADE, related_name="attribution")
    message = models.ForeignKey("campaigns.Message", on_delete=models.CASCADE, related_name="attributions")
    touch = models.CharField(max_length=8, choices=Touch)
    revenue = models.DecimalField(max_digits=14, decimal_places=2)
    ordered_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["store", "ordered_at"])]

    def __str__(self) -> str:
        return f"order {self.order_id} → message {self.message_id} ({self.touch})"


class OptOutAttribution(models.Model):
    """An opt-out tied to the last text the number received within 7 days before it."""

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="+")
    record = models.OneToOneField(
        "customers.ConsentRecord", on_delete=models.CASCADE, related_name="attribution"
    )
    message = models.ForeignKey("campaigns.Message", on_delete=models.CASCADE, related_name="opt_outs")
    opted_out_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"opt-out {self.record_id} → message {self.message_id}"
