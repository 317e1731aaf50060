"""A shop's resources written through the one ingestion path, a page or a single webhook at a time:
customers (with their consent), their checkouts and orders, products and their stock.

A batch goes in whole; only when the shop sent something the app refuses (a malformed email, a
moment in the future) is it written item by item, the refused ones counted and left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q

from customers.connections import shopify_mapping, woo_mapping
from customers.connections.models import ShopConnection, ShopVariant
from customers.ingest.customers import customers_upsert
from customers.ingest.events import events_ingest
from customers.ingest.products import products_upsert
from customers.ingest.schemas import ValidationFailed
from customers.models import Customer, Store


@dataclass
class Written:
    customers: int = 0
    events: int = 0
    products: int = 0
    refused: list[str] = field(default_factory=list)

    def note(self) -> str:
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.customers, "customers"),
                (self.events, "events"),
                (self.products, "products"),
            )
            if n
        ]
        text = ", ".join(parts) or "nothing to record"
        return text + (f"; refused: {'; '.join(self.refused[:3])}" if self.refused else "")


def _tolerant(write: Callable[[list], int], payloads: list, written: Written) -> int:
    """Write the batch; if the app refuses part of it, each item alone, the refused ones noted."""
    if not payloads:
        return 0
    try:
        return write(payloads)
    except ValidationFailed as failed:
        if len(payloads) == 1:
            written.refused.append(_first_error(failed))
            return 0
    return sum(_tolerant(write, [p], written) for p in payloads)


def _first_error(failed: ValidationFailed) -> str:
    errors = getattr(failed, "errors", None) or []
    first = errors[0] if errors else None
    return f"{first.field} {first.message}" if first is not None else str(failed)


def _clean_email(payload: dict) -> dict:
    if "email" in payload:
        try:
            validate_email(payload["email"])
        except ValidationError:
            payload = {k: v for k, v in payload.items() if k != "email"}
    return payload


def _writable(store: Store, customers: list[dict]) -> list[dict]:
    """Customers the app can hold: with a number, or already known by the shop's id. A shop's
    consent older than the customer's own opt-out here (a STOP) is left out: it never subscribes
    them again."""
    existing = Customer.objects.filter(store=store).filter(
        Q(external_id__in=[c["external_id"] for c in customers])
        | Q(phone__in=[c["phone"] for c in customers if "phone" in c])
    )
    rows = existing.values_list("external_id", "phone", "sms_consent", "sms_consent_at")
    known: set[str] = set()
    opted_out: dict[str, datetime | None] = {}
    for external_id, phone, consent, at in rows:
        known.add(external_id)
        if consent == Customer.Consent.UNSUBSCRIBED:
            opted_out[external_id] = opted_out[phone] = at
    kept = []
    for customer in customers:
        if "phone" not in customer and customer["external_id"] not in known:
            continue
        keys = [k for k in (customer["external_id"], customer.get("phone")) if k in opted_out]
        if keys and _stale(customer.get("sms_consent"), opted_out[keys[0]]):
            customer = {k: v for k, v in customer.items() if k != "sms_consent"}
        kept.append(_clean_email(customer))
    return kept


def _stale(consent: dict | None, opted_out_at) -> bool:
    """A subscription (or request) the shop recorded no later than the opt-out the app holds."""
    if not consent or consent.get("status") == Customer.Consent.UNSUBSCRIBED:
        return False
    try:
        at = datetime.fromisoformat(str(consent.get("at")))
    except ValueError:
        return True
    return opted_out_at is None or at.tzinfo is None or at <= opted_out_at


def customers_write(store: Store, customers: list[dict], now: datetime, written: Written) -> None:
    unique = list({c["external_id"]: c for c in customers if c}.values())
    rows = _writable(store, unique)
    written.customers += _tolerant(
        lambda batch: len(customers_upsert(store=store, payloads=batch, now=now).customers), rows, written
    )


def events_write(store: Store, events: list[dict], now: datetime, written: Written) -> None:
    known = set(
        Customer.objects.filter(
            store=store,
            external_id__in=[e["customer"]["external_id"] for e in events if "phone" not in e["customer"]],
        ).values_list("external_id", flat=True)
    )
    rows = [e for e in events if "phone" in e["customer"] or e["customer"].get("external_id") in known]
    written.events += _tolerant(
        lambda batch: events_ingest(store=store, payloads=batch, now=now).accepted, rows, written
    )


def buyers_write(store: Store, pairs: list[tuple[dict | None, list[dict]]], now: datetime) -> Written:
    """Customers first (their profile and consent), then their checkouts, orders and deliveries."""
    written = Written()
    customers_write(store, [c for c, _ in pairs if c], now, written)
    events_write(store, [e for _, events in pairs for e in events], now, written)
    return written


# --- Shopify -----------------------------------------------------------------------------------


def shopify_orders_write(connection: ShopConnection, orders: list[dict], now: datetime) -> Written:
    pairs = []
    for order in orders:
        customer, event = shopify_mapping.order_payloads(order)
        pairs.append((customer, [event] if event else []))
    return buyers_write(connection.store, pairs, now)


def shopify_products_write(connection: ShopConnection, products: list[dict], now: datetime) -> Written:
    """Products with their price, and their stock summed over the variants' inventory items."""
    written = Written()
    payloads = [
        p
        for p in (shopify_mapping.product_payload(r, site_url=connection.store.site_url) for r in products)
        if p
    ]
    totals = {str(r["id"]): shopify_mapping.variant_totals(r) for r in products if r.get("id")}
    _variants_seen(connection, totals)
    stock = product_stock(connection, [p["id"] for p in payloads if totals.get(p["id"])])
    payloads = [{**p, "stock": stock[p["id"]]} if p["id"] in stock else p for p in payloads]
    written.products += _tolerant(
        lambda batch: len(products_upsert(store=connection.store, payloads=batch, now=now).products),
        payloads,
        written,
    )
    return written


def _variants_seen(connection: ShopConnection, totals: dict[str, dict[str, int]]) -> None:
    """Each tracked variant's item, its quantity kept as "total" until a location's level is known."""
    items = {item: (product, qty) for product, by_item in totals.items() for item, qty in by_item.items()}
    existing = {
        v.inventory_item_id: v
        for v in ShopVariant.objects.filter(connection=connection, inventory_item_id__in=list(items))
    }
    ShopVariant.objects.bulk_create(
        [
            ShopVariant(
                connection=connection,
                inventory_item_id=item,
                product_external_id=product,
                levels={"total": qty},
            )
            for item, (product, qty) in items.items()
            if item not in existing
        ],
        ignore_conflicts=True,
    )
    stale = [v for v in existing.values() if set(v.levels) <= {"total"}]
    for variant in stale:
        variant.levels = {"total": items[variant.inventory_item_id][1]}
    ShopVariant.objects.bulk_update(stale, ["levels"])


def product_stock(connection: ShopConnection, product_ids: list[str]) -> dict[str, int]:
    stock: dict[str, int] = {}
    rows = ShopVariant.objects.filter(connection=connection, product_external_id__in=product_ids)
    for product, levels in rows.values_list("product_external_id", "levels"):
        stock[product] = stock.get(product, 0) + sum(int(v or 0) for v in levels.values())
    return stock


def inventory_level_write(connection: ShopConnection, level: dict[str, Any], now: datetime) -> Written:
    """One location's level of one item: its product's stock is the sum of its items' levels."""
    written = Written()
    if level.get("available") is None:
        written.refused.append("the item's inventory is not tracked")
        return written
    variant = ShopVariant.objects.filter(
        connection=connection, inventory_item_id=str(level.get("inventory_item_id"))
    ).first()
    if variant is None:
        written.refused.append("an inventory item of no product seen yet")
        return written
    levels = {} if set(variant.levels) <= {"total"} else dict(variant.levels)
    levels[str(level.get("location_id"))] = int(level["available"])
    ShopVariant.objects.filter(pk=variant.pk).update(levels=levels)
    stock = product_stock(connection, [variant.product_external_id])
    payload = {"id": variant.product_external_id, "stock": stock[variant.product_external_id]}
    written.products += _tolerant(
        lambda batch: len(products_upsert(store=connection.store, payloads=batch, now=now).products),
        [payload],
        written,
    )
    return written


# --- WooCommerce -------------------------------------------------------------------------------


def woo_orders_write(connection: ShopConnection, orders: list[dict], now: datetime) -> Written:
    return buyers_write(connection.store, [woo_mapping.order_payloads(o) for o in orders], now)


def woo_customers_write(connection: ShopConnection, customers: list[dict], now: datetime) -> Written:
    written = Written()
    customers_write(connection.store, [woo_mapping.customer_payload(c) for c in customers], now, written)
    return written


def woo_products_write(connection: ShopConnection, products: list[dict], now: datetime) -> Written:
    written = Written()
    payloads = [p for p in (woo_mapping.product_payload(r) for r in products) if p]
    written.products += _tolerant(
        lambda batch: len(products_upsert(store=connection.store, payloads=batch, now=now).products),
        payloads,
        written,
    )
    return written


def shopify_customers_write(connection: ShopConnection, customers: list[dict], now: datetime) -> Written:
    written = Written()
    customers_write(connection.store, [shopify_mapping.customer_payload(c) for c in customers], now, written)
    return written
