"""Events as ingested, the latest of each type per customer, and the items of each event."""

from __future__ import annotations

from django.db import models

from customers.models.catalog import Product
from customers.models.people import Customer
from customers.models.stores import Store


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
            # a customer's events of a type in a window; with the product and store beside each
            # entry, a per-product repetition over a range of customers is read from the index
            # alone, not from heap pages scattered by arrival time
            models.Index(
                fields=["customer", "type", "occurred_at"],
                include=["product", "store"],
                name="event_customer_type_time",
            ),
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
            # covers the customer too: who bought a product is read from the index alone
            models.Index(
                fields=["store", "type", "product_external_id", "occurred_at", "event"],
                include=["customer"],
                name="event_item_product_customer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_external_id} in {self.type}"
