"""When a text goes out: flows (recipes), their steps, and each customer's run through one."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models


class Flow(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        LIVE = "live"
        PAUSED = "paused"

    class Trigger(models.TextChoices):
        EVENT = "event", "An event happens"
        BACK_IN_STOCK = "back_in_stock", "Back in stock"
        PRICE_DROP = "price_drop", "Price drop"
        POST_PURCHASE = "post_purchase", "Days after delivery"
        REPLENISHMENT = "replenishment", "Replenishment of a consumable"
        WIN_BACK = "win_back", "Win-back (no order for k × own gap)"
        REWARD_THRESHOLD = "reward_threshold", "Reward balance crosses a threshold"
        DATE_PROPERTY = "date_property", "Date property (birthday, anniversary)"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)

    trigger = models.CharField(max_length=20, choices=Trigger, default=Trigger.EVENT)
    event_type = models.CharField(
        max_length=64, blank=True, help_text="For “An event happens”: e.g. cart_updated, or a custom event."
    )
    lookback_days = models.PositiveIntegerField(
        default=30, help_text="Back in stock / price drop: who requested, viewed or carted it in these days."
    )
    include_viewers = models.BooleanField(
        default=False, help_text="Back in stock: also text people who only viewed the product."
    )
    price_drop_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=10, help_text="Price drop: smallest fall, in percent."
    )
    days_after = models.PositiveIntegerField(
        default=3,
        help_text="Days after delivery (post-purchase), or the default reorder window (replenishment).",
    )
    product = models.ForeignKey(
        "customers.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Post-purchase / replenishment: only this product (blank: any).",
    )
    category = models.ForeignKey(
        "customers.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Post-purchase / replenishment: only this category (blank: any).",
    )
    winback_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=2, help_text="Win-back: k in “no order for k × own gap”."
    )
    winback_default_gap_days = models.PositiveIntegerField(
        default=45, help_text="Win-back: the gap used for customers with fewer than two orders."
    )
    reward_threshold = models.DecimalField(
        max_digits=12, decimal_places=2, default=10, help_text="Reward balance crossing this, upward."
    )
    date_property = models.CharField(
        max_length=64,
        default="birthday",
        help_text="“birthday”, or a customer attribute holding YYYY-MM-DD (e.g. anniversary).",
    )

    entry_segment = models.ForeignKey(
        "customers.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only customers in this segment enter (blank: everyone).",
    )
    exit_events = models.CharField(
        max_length=200,
        blank=True,
        help_text="Comma-separated event types that end a run at once, matched on the same cart or checkout.",
    )
    reentry_days = models.PositiveIntegerField(
        default=7, help_text="At most one run per customer (per cart for cart flows) in this many days."
    )
    max_lateness_minutes = models.PositiveIntegerField(
        default=60, help_text="A step due longer ago than this is skipped, not sent late."
    )
    priority = models.PositiveSmallIntegerField(
        default=50, help_text="Higher wins when two flows would text the same customer."
    )
    error = models.TextField(
        blank=True, editable=False, help_text="Why the tick paused this flow; cleared when it goes live."
    )
    error_at = models.DateTimeField(null=True, blank=True, editable=False)
    dates_checked_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last look for date-based entries (win-back, ...)"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="flow_slug_per_store")]
        indexes = [models.Index(fields=["store", "status", "trigger"])]

    def __str__(self) -> str:
        return self.name

    @property
    def exit_event_types(self) -> list[str]:
        return [t.strip() for t in self.exit_events.split(",") if t.strip()]

    @property
    def max_lateness(self) -> timedelta:
        return timedelta(minutes=self.max_lateness_minutes)

    def clean(self) -> None:
        if self.trigger == self.Trigger.EVENT and not self.event_type:
            raise ValidationError({"event_type": "Name the event that starts this flow."})
        if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", self.date_property or ""):
            raise ValidationError({"date_property": "A lower_snake_case name, e.g. birthday or anniversary."})


class FlowTriggerFilter(models.Model):
    """A condition on the trigger event's properties, e.g. total ≥ 50."""

    class Op(models.TextChoices):
        EQ = "eq", "equals"
        NE = "ne", "does not equal"
        GTE = "gte", "≥"
        LTE = "lte", "≤"
        CONTAINS = "contains", "contains"
        PRESENT = "present", "is present"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="filters")
    property = models.CharField(max_length=64)
    op = models.CharField(max_length=8, choices=Op, default=Op.EQ)
    value = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.property} {self.get_op_display()} {self.value}".strip()


class FlowStep(models.Model):
    class Kind(models.TextChoices):
        WAIT = "wait"
        SEND = "send"
        SPLIT = "split", "Split on a segment"
        END = "end"

    class Unit(models.TextChoices):
        MINUTES = "minutes"
        HOURS = "hours"
        DAYS = "days"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind, default=Kind.SEND)
    delay_value = models.PositiveIntegerField(default=0, help_text="Wait this long after the previous step.")
    delay_unit = models.CharField(max_length=8, choices=Unit, default=Unit.MINUTES)
    window_start = models.TimeField(
        null=True, blank=True, help_text="Then wait until this local time (customer's timezone)…"
    )
    window_end = models.TimeField(null=True, blank=True, help_text="…and no later than this.")
    best_hour_within = models.PositiveSmallIntegerField(
        "then at their best hour within (hours)",
        null=True,
        blank=True,
        help_text="Then wait for the customer's best hour to text, if it comes within this many hours; "
        "without a best hour, or if it comes later, at once.",
    )
    template = models.ForeignKey(
        "campaigns.MessageTemplate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(
        blank=True, help_text="Text with dynamic fields, used when no template is chosen."
    )
    offer_code = models.CharField(max_length=50, blank=True, help_text="One code for everyone, e.g. CART10")
    offer = models.ForeignKey(
        "campaigns.Offer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A unique single-use code per recipient for {{ offer_code }} (instead of one code)",
    )
    segment = models.ForeignKey(
        "customers.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Split: customers in this segment take the yes branch.",
    )
    yes_next = models.PositiveIntegerField(
        null=True, blank=True, help_text="Split: position the yes branch goes to (blank: the next step)."
    )
    no_next = models.PositiveIntegerField(
        null=True, blank=True, help_text="Split: position the no branch goes to (blank: end the run)."
    )

    class Meta:
        ordering = ["flow", "position"]
        constraints = [models.UniqueConstraint(fields=["flow", "position"], name="flow_step_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.get_kind_display()}"

    def clean(self) -> None:
        if self.kind == self.Kind.SEND and not (self.template_id or self.body.strip()):
            raise ValidationError({"body": "A send step needs a template or a text."})
        if self.kind == self.Kind.SPLIT and not self.segment_id:
            raise ValidationError({"segment": "A split needs the segment that takes the yes branch."})
        for name in ("yes_next", "no_next"):
            target = getattr(self, name)
            if target is not None and self.position is not None and target <= self.position:
                raise ValidationError({name: "Branches go forward: name a later step's position."})
        if self.window_end and not self.window_start:
            raise ValidationError({"window_start": "Give the window's start too."})
        if self.window_start and self.window_end and self.window_end <= self.window_start:
            raise ValidationError({"window_end": "The window ends after it starts, the same day."})
        if self.best_hour_within is not None and not 1 <= self.best_hour_within <= 72:
            raise ValidationError({"best_hour_within": "Give 1 to 72 hours."})
        if self.best_hour_within and self.window_start:
            raise ValidationError({"best_hour_within": "Wait for a local window or the best hour, not both."})

    @property
    def delay(self) -> timedelta:
        return timedelta(**{self.delay_unit: self.delay_value})

    @property
    def text(self) -> str:
        return self.template.body if self.template_id else self.body

    def delay_label(self) -> str:
        label = f"{self.delay_value} {self.delay_unit}" if self.delay_value else "at once"
        if self.window_start:
            label += f", then {self.window_start:%H:%M}–{(self.window_end or self.window_start):%H:%M} local"
        if self.best_hour_within:
            label += f", then their best hour within {self.best_hour_within} h"
        return label


class FlowRun(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active"
        DONE = "done"
        EXITED = "exited", "Exited by goal"
        SKIPPED = "skipped"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="flow_runs")
    state = models.CharField(max_length=8, choices=State, default=State.ACTIVE)
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    trigger_key = models.CharField(max_length=120, help_text="What enrolled it; one run per trigger.")
    trigger_event = models.ForeignKey(
        "customers.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField(help_text="When the trigger happened; step delays count from here.")
    cart_id = models.CharField(max_length=100, blank=True)
    checkout_id = models.CharField(max_length=100, blank=True)
    context = models.JSONField(default=dict, blank=True)
    current_step = models.ForeignKey(
        FlowStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs_here"
    )
    exit_reason = models.CharField(max_length=64, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_due_at"]),
            models.Index(fields=["flow", "customer", "entered_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "customer", "trigger_key"], name="flow_run_once_per_trigger"
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow} · {self.customer_id} · {self.state}"


class FlowStepVisit(models.Model):
    """One run passing one step: what happened there, for the diagram's counts and the audit trail."""

    class Outcome(models.TextChoices):
        SENT = "sent"
        WAITED = "waited"
        YES = "yes", "Split: yes"
        NO = "no", "Split: no"
        ENDED = "ended"
        SKIPPED = "skipped"

    run = models.ForeignKey(FlowRun, on_delete=models.CASCADE, related_name="visits")
    step = models.ForeignKey(FlowStep, on_delete=models.CASCADE, related_name="visits")
    outcome = models.CharField(max_length=8, choices=Outcome)
    reason = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="flow_visit_once")]

    def __str__(self) -> str:
        return f"run {self.run_id} · step {self.step_id}: {self.outcome}"
