"""A store: its sender, timezone, quiet hours, caps and the owners who may edit it."""

from __future__ import annotations

import secrets
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from customers.phones import InvalidPhone, sender_number_normalize


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Store(models.Model):
    class SenderType(models.TextChoices):
        LONG_CODE = "long_code", "Long code (10DLC)"
        TOLL_FREE = "toll_free", "Toll-free"
        SHORT_CODE = "short_code", "Short code"

    slug = models.SlugField(unique=True)
    brand_name = models.CharField(max_length=100)
    site_url = models.URLField()
    allowed_link_domains = models.JSONField(
        default=list, blank=True, help_text="Hosts links may point to, e.g. shop.example.com."
    )
    default_timezone = models.CharField(max_length=64, default="America/New_York")
    currency = models.CharField(max_length=3, default="USD")
    owners = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="stores")

    messaging_service_sid = models.CharField(max_length=34, blank=True)
    from_number = models.CharField(max_length=16, blank=True)
    sender_type = models.CharField(max_length=16, choices=SenderType, default=SenderType.LONG_CODE)
    help_text = models.CharField(
        max_length=320, blank=True, help_text="Reply to HELP / INFO: who you are and how to reach you."
    )
    contact_email = models.EmailField(blank=True)
    rewards_url = models.URLField(blank=True)
    send_window_start = models.TimeField(
        default=time(8, 0),
        help_text="Marketing texts go from this local time (the recipient's timezone), e.g. 08:00",
    )
    send_window_end = models.TimeField(
        default=time(21, 0),
        help_text="…until this local time, e.g. 21:00; later texts wait for the next morning",
    )
    price_per_segment = models.DecimalField(max_digits=8, decimal_places=5, default=Decimal("0.0083"))
    created_at = models.DateTimeField(auto_now_add=True)

    # Sending settings (guardrails and pacing).
    cap_per_day = models.PositiveSmallIntegerField(
        default=1, help_text="Marketing texts per customer per rolling 24 h"
    )
    cap_per_week = models.PositiveSmallIntegerField(
        default=3, help_text="Marketing texts per customer per rolling 7 days"
    )
    cold_cap_per_week = models.PositiveSmallIntegerField(
        default=1, help_text="Per 7 days for Cold customers (no SMS click in the last cold_after_days)"
    )
    cold_after_days = models.PositiveSmallIntegerField(
        default=60, help_text="Cold: no SMS click in this many days (never clicked counts as no click)"
    )
    hot_days = models.PositiveSmallIntegerField(
        default=14, help_text="Hot: an SMS click within this many days (Warm: up to cold_after_days)"
    )
    overlap_hours = models.PositiveSmallIntegerField(
        default=12, help_text="One flow or campaign text per customer within this many hours; priority wins"
    )
    send_rate_per_second = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Messages per second from this store; empty: 1 long code, 3 toll-free, 100 short code",
    )
    attribution_click_days = models.PositiveSmallIntegerField(
        default=5, help_text="An order counts for a text whose link was clicked this many days before it"
    )
    attribution_delivery_hours = models.PositiveSmallIntegerField(
        default=24, help_text="…or for a text delivered this many hours before it (no click needed)"
    )
    control_group_percent = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Share of customers no marketing text reaches, to measure the program's lift (0: off)",
    )
    message_retention_days = models.PositiveIntegerField("keep text wording (days)", null=True, blank=True,
        help_text="Days the wording of texts sent and received is kept, then blanked (reports keep counting "
        "them). Empty: kept for good")  # fmt: skip

    class Meta:
        # Inbound texts and STOPs find their store by the number or service they were sent to.
        constraints = [
            models.UniqueConstraint(
                fields=["from_number"], condition=~Q(from_number=""), name="store_from_number_unique"
            ),
            models.UniqueConstraint(
                fields=["messaging_service_sid"],
                condition=~Q(messaging_service_sid=""),
                name="store_messaging_service_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.brand_name

    def clean(self) -> None:
        super().clean()
        self.messaging_service_sid = self.messaging_service_sid.strip()
        errors = {}
        if self.from_number.strip():
            try:
                self.from_number = sender_number_normalize(self.from_number, sender_type=self.sender_type)
            except InvalidPhone as error:
                errors["from_number"] = f"The sending number {error}."
        for field, what in (("from_number", "number"), ("messaging_service_sid", "Messaging Service")):
            value = getattr(self, field)
            holder = Store.objects.exclude(pk=self.pk).filter(**{field: value}).first() if value else None
            if holder is not None and field not in errors:
                errors[field] = f"“{holder}” already sends from this {what}: a sender belongs to one store."
        start, end = self.send_window_start, self.send_window_end
        if start is not None and end is not None and start >= end:
            errors["send_window_end"] = (
                "The sending window ends after it starts, the same day "
                "(e.g. 08:00 to 21:00): these are the hours texts may go, not quiet hours."
            )
        if self.hot_days is not None and self.cold_after_days is not None:
            if not 1 <= self.hot_days < self.cold_after_days:
                errors["hot_days"] = (
                    f"Hot is a click within fewer days than Cold's {self.cold_after_days} "
                    "(e.g. 14 and 60), and at least 1."
                )
        if errors:
            raise ValidationError(errors)
