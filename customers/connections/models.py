"""A store's shop connections, the webhook deliveries they received, their backfills, and the
signup form the store embeds on its own site."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour as #rrggbb, e.g. #1a7f37.")


class ShopConnection(models.Model):
    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="shop_connections")
    platform = models.CharField(max_length=12, choices=Platform)
    shop_domain = models.CharField(
        max_length=255, help_text="NAME.myshopify.com, or the WooCommerce site's host, e.g. shop.example.com"
    )
    api_base = models.URLField(
        blank=True, help_text="Where the shop's API answers; empty: https:// and the shop's domain"
    )
    access_token = models.CharField(
        max_length=200, blank=True, help_text="Shopify: the Admin API access token; WooCommerce: consumer key"
    )
    api_secret = models.CharField(max_length=200, blank=True, help_text="WooCommerce: consumer secret")
    webhook_secret = models.CharField(max_length=200, help_text="The key webhooks are signed with")
    webhooks_only = models.BooleanField(
        default=False, help_text="Webhooks created by hand in the shop's admin; no API calls, no backfill"
    )
    webhook_ids = models.JSONField(default=list, blank=True, editable=False)
    connected_at = models.DateTimeField()
    last_webhook_at = models.DateTimeField(null=True, blank=True, editable=False)
    error = models.TextField(blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "shop_domain"], name="connection_shop_once"),
            models.UniqueConstraint(fields=["store", "platform"], name="connection_platform_per_store"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.shop_domain}"

    @property
    def base_url(self) -> str:
        return (self.api_base or f"https://{self.shop_domain}").rstrip("/")


class WebhookDelivery(models.Model):
    """One webhook request, stored once per delivery id: a retry of the same delivery adds nothing."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        SKIPPED = "skipped", "Skipped (nothing to record)"
        FAILED = "failed"

    connection = models.ForeignKey(ShopConnection, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=64)
    # Kept until processed, then emptied: a body can carry a customer's personal data.
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.RECEIVED)
    note = models.CharField(max_length=300, blank=True, help_text="What it became, or why it was skipped")
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["connection", "delivery_id"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(fields=["connection", "-received_at"]),
            # the sweep's: deliveries still waiting, a handful among all ever received
            models.Index(
                fields=["received_at"],
                condition=models.Q(status="received"),
                name="webhook_delivery_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class Backfill(models.Model):
    """Customers, products and recent orders read from the shop's API a page at a time.

    The cursor is saved with each page's rows, so a backfill that stopped resumes where it was.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Phase(models.TextChoices):
        CUSTOMERS = "customers"
        PRODUCTS = "products"
        ORDERS = "orders"
        FINISHED = "finished"

    connection = models.ForeignKey(ShopConnection, on_delete=models.CASCADE, related_name="backfills")
    status = models.CharField(max_length=8, choices=Status, default=Status.RUNNING)
    phase = models.CharField(max_length=10, choices=Phase, default=Phase.CUSTOMERS)
    cursor = models.TextField(blank=True, help_text="Where the current phase goes on: the next page")
    orders_since = models.DateTimeField()
    customers = models.PositiveIntegerField(default=0)
    products = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"backfill of {self.connection} ({self.status})"


class ShopVariant(models.Model):
    """A Shopify variant's inventory item: inventory webhooks name the item, not the product."""

    connection = models.ForeignKey(ShopConnection, on_delete=models.CASCADE, related_name="+")
    inventory_item_id = models.CharField(max_length=40)
    product_external_id = models.CharField(max_length=100)
    # available per location id; "total" until a location's own level is known
    levels = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "inventory_item_id"], name="shop_variant_once")
        ]
        indexes = [models.Index(fields=["connection", "product_external_id"])]

    def __str__(self) -> str:
        return f"item {self.inventory_item_id} of product {self.product_external_id}"


class SignupEmbed(models.Model):
    """The signup form a store pastes on its own site as one script tag."""

    class Display(models.TextChoices):
        DELAY = "delay", "Popup after some seconds"
        EXIT = "exit", "Popup on exit intent"
        INLINE = "inline", "Inline, where the tag is"

    class Question(models.TextChoices):
        NONE = "", "No question"
        TOPICS = "topics", "What they want to hear about (deals, drops, restocks)"
        CATEGORY = "category", "Their favourite category"

    store = models.OneToOneField("customers.Store", on_delete=models.CASCADE, related_name="signup_embed")
    enabled = models.BooleanField(default=True)
    display = models.CharField(max_length=8, choices=Display, default=Display.DELAY)
    delay_seconds = models.PositiveSmallIntegerField(default=8, help_text="Popup after this many seconds")
    headline = models.CharField(max_length=100, default="Get 10% off your first order")
    text = models.CharField(
        max_length=300, default="Join our texts for drops, restocks and members-only deals."
    )
    button_label = models.CharField(max_length=40, default="Sign me up")
    question = models.CharField(max_length=8, choices=Question, blank=True, default=Question.NONE)
    question_label = models.CharField(
        max_length=100, blank=True, default="What would you like to hear about?"
    )
    consent_wording = models.TextField(
        blank=True, help_text="The consent text shown under the number; empty: the standard disclosure"
    )
    thanks_text = models.CharField(
        max_length=200, default="Almost there: reply Y to the text we just sent to confirm."
    )
    background_colour = models.CharField(max_length=7, default="#ffffff", validators=[COLOUR])
    text_colour = models.CharField(max_length=7, default="#1f2328", validators=[COLOUR])
    button_colour = models.CharField(max_length=7, default="#0d6efd", validators=[COLOUR])
    button_text_colour = models.CharField(max_length=7, default="#ffffff", validators=[COLOUR])

    # What the store sets, and what the script is sent.
    SETTINGS = (
        "enabled", "display", "delay_seconds", "headline", "text", "button_label", "question",
        "question_label", "consent_wording", "thanks_text", "background_colour", "text_colour",
        "button_colour", "button_text_colour",
    )  # fmt: skip

    class Meta:
        verbose_name = "signup form on the store's site"

    def __str__(self) -> str:
        return f"signup form of {self.store}"
