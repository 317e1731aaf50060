"""Offers: one single-use discount code per recipient, created in the connected shop or drawn from
an uploaded pool, and each code's life from given to redeemed."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper


class Offer(models.Model):
    class Source(models.TextChoices):
        SHOP = "shop", "Unique codes created in the connected shop"
        POOL = "pool", "Unique codes from an uploaded pool"

    class ValueType(models.TextChoices):
        PERCENTAGE = "percentage", "% off"
        FIXED_AMOUNT = "fixed_amount", "amount off"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=100, help_text="e.g. Cart recovery: 10% for 2 hours")
    source = models.CharField(max_length=4, choices=Source, default=Source.SHOP)
    value_type = models.CharField(max_length=12, choices=ValueType, default=ValueType.PERCENTAGE)
    value = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("10"))
    minimum_subtotal = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, help_text="Smallest order the code applies to"
    )
    expires_hours = models.PositiveSmallIntegerField(
        default=2,
        help_text="Hours a code is good for from when it is created, right before its text (0: no end)",
    )
    code_prefix = models.CharField(
        max_length=12,
        blank=True,
        default="SMS",
        help_text="Start of each created code, e.g. CART → CART-7KQ2MXHD",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="offer_name_per_store")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.value is not None and self.value <= 0:
            raise ValidationError({"value": "An offer takes something off: more than 0."})
        if self.value_type == self.ValueType.PERCENTAGE and self.value is not None and self.value > 100:
            raise ValidationError({"value": "A percentage of at most 100."})
        if self.code_prefix and not self.code_prefix.isalnum():
            raise ValidationError({"code_prefix": "Letters and digits only, e.g. CART."})

    def describe(self) -> str:
        amount = (
            f"{self.value.normalize():f}%"
            if self.value_type == self.ValueType.PERCENTAGE
            else f"{self.value}"
        )
        text = f"{amount} off"
        if self.minimum_subtotal:
            text += f" orders of {self.minimum_subtotal}+"
        if self.expires_hours:
            text += f", for {self.expires_hours} h"
        return text


class OfferCode(models.Model):
    class Status(models.TextChoices):
        AVAILABLE = "available", "In the pool"
        RESERVED = "reserved", "Given to a text, not yet created in the shop"
        CREATING = "creating", "Being created in the shop"
        ISSUED = "issued", "Exists in the shop: its text may go"
        REFUSED = "refused", "Refused by the shop: its text is held"

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="codes")
    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    code = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The idempotency key of the text that carries the code.
    message_key = models.CharField(max_length=200, blank=True)
    shop_ref = models.CharField(max_length=60, blank=True, help_text="The shop's job creating it")
    error = models.CharField(max_length=300, blank=True)
    given_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(
        "customers.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "code"], name="offer_code_once_per_store"),
            models.UniqueConstraint(
                fields=["message_key"], condition=~Q(message_key=""), name="offer_code_once_per_text"
            ),
        ]
        indexes = [
            models.Index(fields=["offer", "status"]),
            models.Index(fields=["status", "attempted_at"]),
            # an order's code is matched whatever its case (attribution)
            models.Index(Upper("code"), name="offer_code_upper"),
        ]

    def __str__(self) -> str:
        return self.code
