"""Shopify's mandatory privacy topics: a customer's data exported or erased, a shop's data erased,
each through the app's own privacy services, which log what they did."""

from __future__ import annotations

from datetime import datetime

from customers.connections.models import ShopConnection
from customers.connections.shopify_mapping import phone_of
from customers.models import Customer

ACTOR = "shopify"


def _customers(connection: ShopConnection, body: dict) -> list[Customer]:
    """The store's customers the request names, by Shopify's id or by number."""
    named = body.get("customer") or {}
    found = Customer.objects.none()
    if named.get("id") not in (None, ""):
        found |= Customer.objects.filter(store=connection.store, external_id=str(named["id"]))
    phone = phone_of(named.get("phone"))
    if phone:
        found |= Customer.objects.filter(store=connection.store, phone=phone)
    return list(found.distinct())


def shopify_data_request(connection: ShopConnection, body: dict, now: datetime) -> str:
    from customers.privacy import customer_data_export

    customers = _customers(connection, body)
    for customer in customers:
        customer_data_export(customer=customer, actor=ACTOR, now=now)
    request_id = (body.get("data_request") or {}).get("id", "")
    if not customers:
        return f"nothing to record: data request {request_id} names no customer of this store"
    return f"data request {request_id}: {len(customers)} customer(s) exported"


def shopify_customers_redact(connection: ShopConnection, body: dict, now: datetime) -> str:
    from customers.privacy import customers_erase

    ids = [c.pk for c in _customers(connection, body)]
    if not ids:
        return "nothing to record: the redaction names no customer of this store"
    customers_erase(store=connection.store, customer_ids=ids, actor=ACTOR, now=now)
    return f"{len(ids)} customer(s) erased"


def shopify_shop_redact(connection: ShopConnection, body: dict, now: datetime) -> str:
    from customers.privacy import customers_erase

    ids = list(Customer.objects.filter(store=connection.store).values_list("pk", flat=True))
    customers_erase(store=connection.store, customer_ids=ids, actor=ACTOR, now=now)
    return f"shop redacted: {len(ids)} customer(s) erased"
