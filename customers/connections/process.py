"""A stored webhook delivery, processed: its topic decides which ingestion call its body becomes.

The delivery's row is marked in the same transaction as what it wrote, and its body is emptied
then (it may carry personal data the app keeps in its own tables from then on).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import groupby

from django.db import transaction

from customers.connections import privacy_topics, shopify_mapping, writes
from customers.connections.models import ShopConnection, WebhookDelivery
from customers.models import Event

logger = logging.getLogger(__name__)
Handler = Callable[[ShopConnection, dict, datetime], str]
Platform = ShopConnection.Platform
Status = WebhookDelivery.Status


def _shopify_customer(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.shopify_customers_write(connection, [body], now).note()


def _shopify_consent(connection: ShopConnection, body: dict, now: datetime) -> str:
    """`customers/marketing_consent_update`: the consent alone, by the customer's id."""
    customer = {
        "id": body.get("customer_id") or body.get("id"),
        "phone": body.get("phone"),
        "sms_marketing_consent": body.get("sms_marketing_consent"),
    }
    return writes.shopify_customers_write(connection, [customer], now).note()


def _shopify_checkout(connection: ShopConnection, body: dict, now: datetime) -> str:
    customer, event = shopify_mapping.checkout_payloads(body)
    return writes.buyers_write(connection.store, [(customer, [event] if event else [])], now).note()


def _shopify_order(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.shopify_orders_write(connection, [body], now).note()


def _shopify_fulfillment(connection: ShopConnection, body: dict, now: datetime) -> str:
    """A delivered fulfilment names its order only: its customer is the order's."""
    order_key = f"shopify:order:{body.get('order_id')}"
    buyer = (
        Event.objects.filter(store=connection.store, idempotency_key=order_key)
        .values_list("customer__external_id", "customer__phone")
        .first()
    )
    if buyer is None:
        return "nothing to record: an order not seen"
    customer = {"phone": buyer[1], **({"external_id": buyer[0]} if buyer[0] else {})}
    event = shopify_mapping.delivered_event(body, customer)
    if event is None:
        return "nothing to record: not delivered yet"
    return writes.buyers_write(connection.store, [(None, [event])], now).note()


def _shopify_product(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.shopify_products_write(connection, [body], now).note()


def _shopify_inventory(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.inventory_level_write(connection, body, now).note()


def _woo_customer(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.woo_customers_write(connection, [body], now).note()


def _woo_order(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.woo_orders_write(connection, [body], now).note()


def _woo_product(connection: ShopConnection, body: dict, now: datetime) -> str:
    return writes.woo_products_write(connection, [body], now).note()


HANDLERS: dict[tuple[str, str], Handler] = {
    (Platform.SHOPIFY, "customers/create"): _shopify_customer,
    (Platform.SHOPIFY, "customers/update"): _shopify_customer,
    (Platform.SHOPIFY, "customers/marketing_consent_update"): _shopify_consent,
    (Platform.SHOPIFY, "checkouts/create"): _shopify_checkout,
    (Platform.SHOPIFY, "checkouts/update"): _shopify_checkout,
    (Platform.SHOPIFY, "orders/create"): _shopify_order,
    (Platform.SHOPIFY, "fulfillments/create"): _shopify_fulfillment,
    (Platform.SHOPIFY, "fulfillments/update"): _shopify_fulfillment,
    (Platform.SHOPIFY, "products/create"): _shopify_product,
    (Platform.SHOPIFY, "products/update"): _shopify_product,
    (Platform.SHOPIFY, "inventory_levels/update"): _shopify_inventory,
    (Platform.SHOPIFY, "customers/data_request"): privacy_topics.shopify_data_request,
    (Platform.SHOPIFY, "customers/redact"): privacy_topics.shopify_customers_redact,
    (Platform.SHOPIFY, "shop/redact"): privacy_topics.shopify_shop_redact,
    **{(Platform.WOOCOMMERCE, f"customer.{a}"): _woo_customer for a in ("created", "updated")},
    **{(Platform.WOOCOMMERCE, f"order.{a}"): _woo_order for a in ("created", "updated")},
    **{(Platform.WOOCOMMERCE, f"product.{a}"): _woo_product for a in ("created", "updated")},
}
# What `connect` subscribes to: every topic above.
SHOPIFY_TOPICS = [topic for platform, topic in HANDLERS if platform == Platform.SHOPIFY]
WOO_TOPICS = [topic for platform, topic in HANDLERS if platform == Platform.WOOCOMMERCE]


def delivery_process(*, delivery_id: int, now: datetime) -> str:
    """Process one received delivery (a second run finds it done and does nothing); its status."""
    delivery = (
        WebhookDelivery.objects.select_related("connection__store")
        .filter(pk=delivery_id, status=Status.RECEIVED)
        .first()
    )
    if delivery is None:
        return ""
    handler = HANDLERS.get((delivery.connection.platform, delivery.topic))
    try:
        with transaction.atomic():
            if handler is None:
                status, note = Status.SKIPPED, f"the topic {delivery.topic} is not used"
            else:
                note = handler(delivery.connection, json.loads(delivery.body), now)
                status = Status.SKIPPED if note.startswith("nothing to record") else Status.PROCESSED
            _finish(delivery, status, note, now)
    except Exception as error:  # a delivery that cannot be processed is marked, never retried blind
        logger.exception("webhook delivery %s (%s) failed", delivery.pk, delivery.topic)
        _finish(delivery, Status.FAILED, f"{type(error).__name__}: {error}", now)
        return Status.FAILED
    return status


# Topics whose write takes a list: the deliveries of one such topic that arrived in a row are
# written together (one ingestion call, one transaction), as a page of the backfill is.
BATCHED: dict[tuple[str, str], Callable[[ShopConnection, list[dict], datetime], writes.Written]] = {
    (Platform.SHOPIFY, "customers/create"): writes.shopify_customers_write,
    (Platform.SHOPIFY, "customers/update"): writes.shopify_customers_write,
    (Platform.SHOPIFY, "orders/create"): writes.shopify_orders_write,
    (Platform.SHOPIFY, "products/create"): writes.shopify_products_write,
    (Platform.SHOPIFY, "products/update"): writes.shopify_products_write,
    **{(Platform.WOOCOMMERCE, f"customer.{a}"): writes.woo_customers_write for a in ("created", "updated")},
    **{(Platform.WOOCOMMERCE, f"order.{a}"): writes.woo_orders_write for a in ("created", "updated")},
    **{(Platform.WOOCOMMERCE, f"product.{a}"): writes.woo_products_write for a in ("created", "updated")},
}


def deliveries_process(*, delivery_ids: list[int], now: datetime) -> dict[str, int]:
    """The deliveries a connection received within one short window, in the order they arrived: those
    of one batchable topic in a row written together, the others (and a batch that fails) each in
    its own transaction; how many ended in each status."""
    deliveries = list(
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status=Status.RECEIVED)
        .select_related("connection__store")
        .order_by("pk")
    )
    statuses: dict[str, int] = {}
    for _, group in groupby(deliveries, key=lambda delivery: (delivery.connection_id, delivery.topic)):
        run = list(group)
        together = _together(run, now) if len(run) > 1 else ""
        for delivery in run:
            status = together or delivery_process(delivery_id=delivery.pk, now=now)
            if status:
                statuses[status] = statuses.get(status, 0) + 1
    return statuses


def _together(run: list[WebhookDelivery], now: datetime) -> str:
    """Write a run of one topic's deliveries in one call; "" (nothing written) when the topic takes
    one body at a time, when a delivery of the run was taken by another worker, or when it fails."""
    connection = run[0].connection
    write = BATCHED.get((connection.platform, run[0].topic))
    if write is None:
        return ""
    ids = [delivery.pk for delivery in run]
    try:
        with transaction.atomic():
            locked = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
                pk__in=ids, status=Status.RECEIVED
            )
            if len(locked) != len(ids):
                return ""
            note = write(connection, [json.loads(delivery.body) for delivery in run], now).note()
            status = Status.SKIPPED if note.startswith("nothing to record") else Status.PROCESSED
            locked.update(
                status=status, note=f"with {len(ids) - 1} more: {note}"[:300], processed_at=now, body=""
            )
    except Exception:  # each delivery alone then, so one that cannot be processed is marked alone
        logger.warning("webhook deliveries %s together failed; one by one", ids, exc_info=True)
        return ""
    return status


# A delivery still received this long after it arrived lost its queued task (a web process stopped
# within its gathering window, or the queue was purged): the sweep processes it.
LEFT_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 1000


def deliveries_left_process(*, now: datetime) -> dict[str, int]:
    """Deliveries left received (their task lost) processed, the oldest first, a batch per run."""
    left = WebhookDelivery.objects.filter(status=Status.RECEIVED, received_at__lt=now - LEFT_AFTER)
    ids = list(left.order_by("received_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    return deliveries_process(delivery_ids=ids, now=now)


def _finish(delivery: WebhookDelivery, status: str, note: str, now: datetime) -> None:
    # A failed delivery keeps its body, so it can be looked at and processed again.
    emptied = {} if status == Status.FAILED else {"body": ""}
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.RECEIVED).update(
        status=status, note=note[:300], processed_at=now, **emptied
    )
