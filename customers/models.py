"""Who the customer is and what they did."""

from __future__ import annotations

import re
import secrets
from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


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
    cold_after_days = models.PositiveSmallIntegerField(default=60)
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
        self.from_number = re.sub(r"[\s().-]", "", self.from_number)
        self.messaging_service_sid = self.messaging_service_sid.strip()
        errors = {}
        for field, what in (("from_number", "number"), ("messaging_service_sid", "Messaging Service")):
            value = getattr(self, field)
            holder = Store.objects.exclude(pk=self.pk).filter(**{field: value}).first() if value else None
            if holder is not None:
                errors[field] = f"“{holder}” already sends from this {what}: a sender belongs to one store."
        start, end = self.send_window_start, self.send_window_end
        if start is not None and end is not None and start >= end:
            errors["send_window_end"] = (
                "The sending window ends after it starts, the same day "
                "(e.g. 08:00 to 21:00): these are the hours texts may go, not quiet hours."
            )
        if errors:
            raise ValidationError(errors)


class Category(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="categories")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=100)

    class Meta:
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="category_external_id_per_store")
        ]

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    class MarginClass(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    url = models.URLField(max_length=500)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    stock = models.IntegerField(default=0)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    consumable = models.BooleanField(default=False)
    reorder_window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days between repeat purchases, for replenishment reminders."
    )
    margin_class = models.CharField(max_length=8, choices=MarginClass, default=MarginClass.MEDIUM)
    usage_tip = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="product_external_id_per_store")
        ]

    def __str__(self) -> str:
        return self.name


class ProductChange(models.Model):
    """Every price and stock change, so back-in-stock and price-drop triggers can fire."""

    class Field(models.TextChoices):
        PRICE = "price"
        STOCK = "stock"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(max_length=8, choices=Field)
    old_value = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_value = models.DecimalField(max_digits=12, decimal_places=2)
    changed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["product", "field", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.old_value} → {self.new_value}"


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
    """No bulk change or delete: a customer's erasure removes their rows through the cascade."""

    def update(self, **kwargs):
        raise AppendOnlyError("Consent records are never updated; append a new record instead.")

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
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    action = models.CharField(max_length=16, choices=Action)
    source = models.CharField(max_length=50, help_text="api, csv, keyword, signup_page, provider, ...")
    wording = models.TextField(blank=True, help_text="The exact wording the customer saw")
    keyword = models.CharField(max_length=50, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

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


class Event(models.Model):
    """The one behavioural stream: what a customer did, and what the app did to them."""

    # No single-column indexes: the composite indexes below lead with each of these columns, and
    # every index is one more write per ingested event.
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="events", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="events", db_index=False
    )
    idempotency_key = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "idempotency_key"], name="event_key_per_store")
        ]
        indexes = [
            models.Index(fields=["customer", "type", "occurred_at"]),
            models.Index(fields=["product", "type"]),
            # segments: "who did X in the window" read from the index alone
            models.Index(
                fields=["store", "type", "occurred_at", "customer"], name="event_store_type_time_cust"
            ),
            # the trigger check's "this store's events above its mark": without it, a store with
            # few or no events is looked for along the whole table's ids, every tick
            models.Index(fields=["store", "id"], name="event_store_id"),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Segment(models.Model):
    """A set of customers, described by a rule tree that compiles to one SQL query."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    rules = models.JSONField(default=dict)
    preset = models.CharField(max_length=50, blank=True, help_text="Preset this segment was copied from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Counts and member pages of a stored segment are read from its membership rows, refreshed on a
    # schedule; sends always evaluate the rules live.
    stored = models.BooleanField(
        "Served from a membership table",
        default=False,
        help_text="Counts and member lists read rows refreshed every few minutes, for rules too heavy "
        "to count live; sends always use the live rules.",
    )
    refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # how many rows the refresh wrote, taken in its transaction so it always agrees with them
    refreshed_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    refresh_error = models.TextField(blank=True, editable=False)
    refresh_failed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the lists and the API show: the last count taken (a stored segment's at each refresh of its
    # rows, a live one's every few minutes), when, and of which rules (`customers.segments.counts`).
    counted_members = models.PositiveIntegerField(null=True, blank=True, editable=False)
    counted_reachable = models.PositiveIntegerField(null=True, blank=True, editable=False)
    counted_at = models.DateTimeField(null=True, blank=True, editable=False)
    counted_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="segment_slug_per_store")]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """One customer of a stored segment as of the segment's `refreshed_at`."""

    # the unique (segment, customer) index serves reads by segment
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class SegmentTouch(models.Model):
    """A customer whose stored segments may have changed since the last refresh: written by database
    triggers when their events or profile change (`customers/segments/touches.py`), taken by the next
    refresh. No customer: the store's catalogue changed, which may move anyone."""

    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["store", "id"], name="segment_touch_store")]

    def __str__(self) -> str:
        return f"{self.customer_id or 'catalogue'} touched in store {self.store_id}"


class ApiKey(models.Model):
    """A store's API key; only its SHA-256 is kept."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# Tables derived from the events, kept by database triggers (customers/derived.py) so that every
# write path keeps them, and read by the segment compiler instead of scanning or unnesting events.


class EventLast(models.Model):
    """When each customer last did each kind of event: recency rules read one row per customer."""

    # Derived from events by triggers (customers/derived.py): the events' own foreign keys already
    # vouch for these ids, so the database does not check them again at every batch's commit.
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    type = models.CharField(max_length=64)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "type"], name="event_last_per_customer_type")
        ]
        indexes = [
            models.Index(fields=["store", "type", "last_at", "customer"], name="event_last_store_type_time")
        ]

    def __str__(self) -> str:
        return f"{self.type} last at {self.last_at:%Y-%m-%d %H:%M}"


class EventItem(models.Model):
    """One product listed in an event's `items` (orders, carts, checkouts), by the store's product id."""

    # Derived like EventLast: no foreign key checks, and the store is led by the index below.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    product_external_id = models.TextField()

    class Meta:
        indexes = [
            models.Index(
                fields=["store", "type", "product_external_id", "occurred_at", "event"],
                name="event_item_store_type_product",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_external_id} in {self.type}"


class ImportJob(models.Model):
    """A large CSV import that runs in the background: the file, where it is and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    class Phase(models.TextChoices):
        WAITING = "waiting", "waiting for a worker"
        VALIDATING = "validating", "checking rows"
        WRITING = "writing", "writing customers"
        FINISHED = "finished", "finished"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="import_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded CSV, kept until the import has run.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.WAITING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why it failed: row, column and reason.")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
