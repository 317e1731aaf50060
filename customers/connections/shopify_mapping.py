"""Shopify's resources (webhook bodies and Admin API answers alike) as the app's own ingestion
payloads: customers with their SMS consent, checkouts, orders, deliveries, products and stock.

Each function returns plain payloads for `customers.ingest`; ids become the events' idempotency
keys (`shopify:order:<id>`), so an order seen by a webhook and again by a backfill is one event.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from customers.phones import InvalidPhone, phone_normalize

SOURCE = "shopify"
# Shopify's SMS marketing states and ours; "not_subscribed" and "redacted" change nothing here, so
# a number that subscribed through the app's own form is not unsubscribed by the shop's silence.
CONSENT_STATES = {"subscribed": "subscribed", "pending": "pending", "unsubscribed": "unsubscribed"}


def phone_of(*candidates: Any) -> str:
    """The first of these that is a valid number, in E.164; "" when none is."""
    for value in candidates:
        if isinstance(value, str) and value.strip():
            try:
                return phone_normalize(value)
            except InvalidPhone:
                continue
    return ""


def _address_phone(resource: dict, *names: str) -> list[Any]:
    return [(resource.get(name) or {}).get("phone") for name in names]


def consent_payload(consent: Any) -> dict | None:
    """`sms_marketing_consent` as the ledger's evidence: Shopify as the source, its level and time."""
    if not isinstance(consent, dict) or consent.get("state") not in CONSENT_STATES:
        return None
    level = consent.get("opt_in_level") or "unknown"
    collected = consent.get("consent_collected_from") or "unknown"
    payload = {
        "status": CONSENT_STATES[consent["state"]],
        "source": SOURCE,
        "wording": f"SMS marketing consent recorded by Shopify (opt-in level: {level}; "
        f"collected from: {collected})",
    }
    if consent.get("consent_updated_at"):
        payload["at"] = consent["consent_updated_at"]
    return payload


def customer_payload(customer: dict, *, fallback_phone: str = "") -> dict | None:
    """A Shopify customer as a `customers_upsert` payload; None without an id or a usable number."""
    if not isinstance(customer, dict) or customer.get("id") in (None, ""):
        return None
    consent = customer.get("sms_marketing_consent") or {}
    phone = phone_of(
        customer.get("phone"),
        consent.get("consent_phone") if isinstance(consent, dict) else None,
        *_address_phone(customer, "default_address"),
        fallback_phone,
    )
    payload: dict[str, Any] = {"external_id": str(customer["id"])}
    if phone:
        payload["phone"] = phone
    for ours, theirs in (("first_name", "first_name"), ("last_name", "last_name"), ("email", "email")):
        value = customer.get(theirs)
        if isinstance(value, str) and value.strip():
            payload[ours] = value.strip()[:100]
    address = customer.get("default_address") or {}
    if isinstance(address, dict):
        if address.get("city"):
            payload["city"] = str(address["city"])[:100]
        if address.get("country_code") == "US" and len(str(address.get("province_code") or "")) == 2:
            payload["region"] = str(address["province_code"])
    sms = consent_payload(customer.get("sms_marketing_consent"))
    if sms is not None and phone:
        payload["sms_consent"] = sms
    return payload


def items_payload(line_items: Any) -> list[dict]:
    """Line items that name a product (custom items without one are left out)."""
    items = []
    for line in line_items if isinstance(line_items, list) else []:
        if not isinstance(line, dict) or line.get("product_id") in (None, ""):
            continue
        item = {
            "product_id": str(line["product_id"]),
            "price": money(line.get("price")),
            "quantity": max(1, int(line.get("quantity") or 1)),
        }
        if line.get("title"):
            item["name"] = str(line["title"])[:200]
        items.append(item)
    return items


def money(value: Any) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def _who(resource: dict) -> tuple[dict | None, str]:
    """The buyer of a checkout or order: their customer payload (if any) and their number."""
    phone = phone_of(
        resource.get("phone"),
        (resource.get("customer") or {}).get("phone"),
        *_address_phone(resource, "shipping_address", "billing_address"),
    )
    return customer_payload(resource.get("customer") or {}, fallback_phone=phone), phone


def event_customer(customer: dict | None, phone: str) -> dict | None:
    """How an event names its customer: the shop's id, and the number when there is one."""
    named: dict[str, str] = {}
    if customer is not None:
        named["external_id"] = customer["external_id"]
    if phone:
        named["phone"] = phone
    return named or None


def checkout_payloads(checkout: dict) -> tuple[dict | None, dict | None]:
    """A checkout as (customer, `checkout_started` event); a completed checkout is its order's."""
    url = checkout.get("abandoned_checkout_url")
    if checkout.get("completed_at") or not checkout.get("token") or not url:
        return None, None
    customer, phone = _who(checkout)
    properties: dict[str, Any] = {
        "checkout_id": str(checkout["token"]),
        "checkout_url": str(url),
        "items": items_payload(checkout.get("line_items")),
        "total": money(checkout.get("total_price")),
    }
    if checkout.get("cart_token"):
        properties["cart_id"] = str(checkout["cart_token"])
    named = event_customer(customer, phone)
    if named is None:
        return customer, None
    moment = checkout.get("updated_at") or checkout.get("created_at")
    event = {
        "id": f"shopify:checkout:{checkout['token']}:{moment}",
        "type": "checkout_started",
        "customer": named,
        "properties": properties,
    }
    if moment:
        event["occurred_at"] = moment
    return customer, event


def order_payloads(order: dict) -> tuple[dict | None, dict | None]:
    """An order as (customer, `order_placed` event) with its items, codes and checkout token, so
    the flows of that checkout and cart end."""
    if order.get("id") in (None, "") or order.get("cancelled_at"):
        return None, None
    customer, phone = _who(order)
    codes = [
        c.get("code") for c in order.get("discount_codes") or [] if isinstance(c, dict) and c.get("code")
    ]
    properties: dict[str, Any] = {
        "order_id": str(order["id"]),
        "total": money(order.get("total_price")),
        "items": items_payload(order.get("line_items")),
    }
    if codes:
        properties["discount_code"] = str(codes[0])[:100]
    if order.get("checkout_token"):
        properties["checkout_id"] = str(order["checkout_token"])
    if order.get("cart_token"):
        properties["cart_id"] = str(order["cart_token"])
    named = event_customer(customer, phone)
    if named is None:
        return customer, None
    event = {
        "id": f"shopify:order:{order['id']}",
        "type": "order_placed",
        "customer": named,
        "properties": properties,
    }
    if order.get("created_at"):
        event["occurred_at"] = order["created_at"]
    return customer, event


def delivered_event(fulfillment: dict, customer: dict) -> dict | None:
    """A fulfilment Shopify reports delivered as `order_delivered` of its order's customer."""
    status = fulfillment.get("shipment_status") or fulfillment.get("status")
    if status != "delivered" or fulfillment.get("order_id") in (None, ""):
        return None
    event = {
        "id": f"shopify:delivered:{fulfillment['order_id']}",
        "type": "order_delivered",
        "customer": customer,
        "properties": {"order_id": str(fulfillment["order_id"])},
    }
    if fulfillment.get("updated_at"):
        event["occurred_at"] = fulfillment["updated_at"]
    return event


def product_payload(product: dict, *, site_url: str) -> dict | None:
    """A product with its lowest variant price, its link on the store's site and its type."""
    if product.get("id") in (None, "") or not product.get("title"):
        return None
    variants = [v for v in product.get("variants") or [] if isinstance(v, dict)]
    prices = [money(v.get("price")) for v in variants if v.get("price") not in (None, "")]
    payload: dict[str, Any] = {
        "id": str(product["id"]),
        "name": str(product["title"])[:200],
        "url": f"{site_url.rstrip('/')}/products/{product.get('handle') or product['id']}",
    }
    if prices:
        payload["price"] = min(prices)
    if product.get("product_type"):
        payload["category"] = str(product["product_type"])[:100]
    return payload


def variant_totals(product: dict) -> dict[str, int]:
    """Each tracked variant's inventory item and its quantity across locations."""
    return {
        str(v["inventory_item_id"]): int(v.get("inventory_quantity") or 0)
        for v in product.get("variants") or []
        if isinstance(v, dict)
        and v.get("inventory_item_id") not in (None, "")
        and v.get("inventory_management") not in (None, "")
    }
