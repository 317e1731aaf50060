"""The outbox: every text the app ever sends is one row here."""

from __future__ import annotations

from django.db import models


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

    class Kind(models.TextChoices):
        MARKETING = "marketing"
        TRANSACTIONAL = "transactional", "Transactional (confirmations, replies)"
        REPLY = "reply", "Reply to the customer's own text (within 24 h)"

    class Encoding(models.TextChoices):
        GSM7 = "gsm7", "GSM-7"
        UCS2 = "ucs2", "UCS-2"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="messages")
    to = models.CharField(max_length=16)
    body = models.TextField()
    flow_run = models.ForeignKey(
        "campaigns.FlowRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    flow_step = models.ForeignKey(
        "campaigns.FlowStep", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    variant = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.MARKETING)
    status = models.CharField(max_length=12, choices=Status, default=Status.PENDING)
    reason = models.CharField(max_length=50, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
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

    class Meta:
        indexes = [
            models.Index(fields=["status", "send_after"]),
            models.Index(fields=["customer", "created_at"]),
            models.Index(fields=["customer", "planned_at"]),
            models.Index(fields=["status", "claimed_at"]),
            models.Index(fields=["provider_sid"]),
        ]

    def __str__(self) -> str:
        return f"{self.to}: {self.body[:40]}"
