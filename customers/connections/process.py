"""A stored webhook delivery, processed: its topic decides which ingestion call its body becomes.

The delivery's row is marked in the same transaction as what it wrote, and its body is emptied
then (it may carry personal data the app keeps in its own tables from then on).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

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


def _finish(delivery: WebhookDelivery, status: str, note: str, now: datetime) -> None:
    # A failed delivery keeps its body, so it can be looked at and processed again.
    emptied = {} if status == Status.FAILED else {"body": ""}
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.RECEIVED).update(
        status=status, note=note[:300], processed_at=now, **emptied
    )
