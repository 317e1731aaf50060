"""Customers and their consent ledger (append-only)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from customers.models.stores import Store, new_token


class Customer(models.Model):
    class Consent(models.TextChoices):
        NONE = "none", "No consent"
        PENDING = "pending", "Awaiting confirmation"
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    class TimezoneSource(models.TextChoices):
        GIVEN = "given"
        PHONE = "phone", "Inferred from the number"
        STORE = "store", "Store default"

    # No index of its own: `customer_store_pk` (store, id) serves every lookup by store.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customers", db_index=False)
    external_id = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=16, help_text="E.164, e.g. +14155550100")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=2, blank=True, help_text="US state code, e.g. FL")
    language = models.CharField(max_length=10, blank=True, default="en")
    timezone = models.CharField(max_length=64)
    timezone_source = models.CharField(max_length=8, choices=TimezoneSource)
    birthday = models.DateField(null=True, blank=True)

    sms_consent = models.CharField("SMS consent", max_length=16, choices=Consent, default=Consent.NONE)
    sms_consent_at = models.DateTimeField("SMS consent at", null=True, blank=True)
    topics = models.JSONField(default=list, blank=True, help_text="deals, drops, restocks")
    favorite_categories = models.JSONField(default=list, blank=True)
    frequency = models.CharField(max_length=16, blank=True, help_text="Preferred frequency, if given")
    loyalty_status = models.CharField(max_length=50, blank=True)
    reward_balance = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    reward_points = models.IntegerField(default=0)
    preferred_store = models.CharField(max_length=100, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    prefs_token = models.CharField(max_length=40, default=new_token, editable=False)

    order_count = models.PositiveIntegerField(default=0)
    total_spent = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    average_order_value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount_order_count = models.PositiveIntegerField(default=0)
    discount_order_share = models.FloatField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    last_sms_click_at = models.DateTimeField("last SMS click at", null=True, blank=True)
    predicted_next_order_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "phone"], name="customer_phone_per_store"),
            # A constraint rather than `unique=True`, which on PostgreSQL also builds a LIKE index
            # that no query uses: the token is only ever looked up whole.
            models.UniqueConstraint(fields=["prefs_token"], name="customer_prefs_token_unique"),
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=~Q(external_id=""),
                name="customer_external_id_per_store",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "sms_consent"]),
            models.Index(fields=["store", "last_order_at"]),
            # segments: index-only counts of a store's customers, index-only ranks by LTV and AOV,
            # engagement tiers
            models.Index(fields=["store", "id"], name="customer_store_pk"),
            models.Index(fields=["store", "total_spent", "id"], name="customer_store_ltv"),
            models.Index(fields=["store", "average_order_value", "id"], name="customer_store_aov"),
            models.Index(fields=["store", "last_sms_click_at"], name="customer_store_last_click"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name or 'Customer'} {self.phone}"

    @property
    def is_subscribed(self) -> bool:
        return self.sms_consent == self.Consent.SUBSCRIBED


class AppendOnlyError(Exception):
    """A ledger row was to be changed or deleted; the ledger only grows."""


class ConsentRecordQuerySet(models.QuerySet):
    """No bulk change or delete, but one: a customer's erasure (`customers.privacy`) keeps their rows
    as proof of consent, unlinked from them and with their number as a one-way hash."""

    def update(self, **kwargs):
        raise AppendOnlyError("Consent records are never updated; append a new record instead.")

    def unlink(self, *, phone_hash) -> int:
        """No customer, no device facts (IP, user agent); `phone_hash`: a value or an expression."""
        return super().update(customer=None, phone_hash=phone_hash, ip_address=None, user_agent="")

    def delete(self):
        raise AppendOnlyError("Consent records are never deleted; append a new record instead.")


class ConsentRecord(models.Model):
    """Append-only ledger of every opt-in, confirmation and opt-out, with its evidence."""

    class Action(models.TextChoices):
        OPT_IN = "opt_in", "Opted in"
        REQUESTED = "requested", "Confirmation requested"
        CONFIRMED = "confirmed", "Confirmed"
        OPT_OUT = "opt_out", "Opted out"
        REFUSED = "refused", "Sign-up refused: opted out, only a keyword restarts"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="consent_records")
    # None once the customer was erased: `phone_hash` then says whose number it was
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="consent_records"
    )
    phone_hash = models.CharField(max_length=64, blank=True, db_default="", editable=False)
    action = models.CharField(max_length=16, choices=Action)
    source = models.CharField(max_length=50, help_text="api, csv, keyword, signup_page, provider, ...")
    wording = models.TextField(blank=True, help_text="The exact wording the customer saw")
    keyword = models.CharField(max_length=50, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(default=timezone.now, help_text="When the app stored it")

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} via {self.source}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Consent records are never updated; append a new record instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Consent records are never deleted; append a new record instead.")
