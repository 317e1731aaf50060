"""WooCommerce's resources (webhook bodies and REST API answers alike) as the app's own ingestion
payloads. WooCommerce keeps no SMS consent of its own: customers come in without any, and consent
is asked for through the app's forms and keywords."""

from __future__ import annotations

from typing import Any

from customers.connections.shopify_mapping import money, phone_of

# An order counts as placed once paid or accepted for payment; "pending" is a checkout not paid yet.
PLACED = {"processing", "on-hold", "completed"}


def _moment(resource: dict, name: str) -> str | None:
    """WooCommerce gives `date_created_gmt` without an offset: it is UTC."""
    value = resource.get(f"{name}_gmt")
    return f"{value}+00:00" if isinstance(value, str) and value else None


def customer_payload(customer: dict) -> dict | None:
    if customer.get("id") in (None, "", 0):
        return None
    billing = customer.get("billing") or {}
    payload: dict[str, Any] = {"external_id": str(customer["id"])}
    phone = phone_of(billing.get("phone"), (customer.get("shipping") or {}).get("phone"))
    if phone:
        payload["phone"] = phone
    for name in ("first_name", "last_name", "email"):
        value = customer.get(name) or billing.get(name)
        if isinstance(value, str) and value.strip():
            payload[name] = value.strip()[:100]
    if billing.get("city"):
        payload["city"] = str(billing["city"])[:100]
    if billing.get("country") == "US" and len(str(billing.get("state") or "")) == 2:
        payload["region"] = str(billing["state"])
    return payload


def _buyer(order: dict) -> tuple[dict | None, dict | None]:
    billing = order.get("billing") or {}
    phone = phone_of(billing.get("phone"), (order.get("shipping") or {}).get("phone"))
    customer = None
    if order.get("customer_id") not in (None, "", 0):
        customer = {"id": order["customer_id"], "billing": billing}
        customer = customer_payload(customer)
    named = {"phone": phone} if phone else {}
    if customer is not None:
        named["external_id"] = customer["external_id"]
    return customer, named or None


def items_payload(line_items: Any) -> list[dict]:
    items = []
    for line in line_items if isinstance(line_items, list) else []:
        if not isinstance(line, dict) or line.get("product_id") in (None, "", 0):
            continue
        item = {
            "product_id": str(line["product_id"]),
            "price": money(line.get("price")),
            "quantity": max(1, int(line.get("quantity") or 1)),
        }
        if line.get("name"):
            item["name"] = str(line["name"])[:200]
        items.append(item)
    return items


def order_payloads(order: dict) -> tuple[dict | None, list[dict]]:
    """(customer, events): `order_placed` once paid, `order_delivered` once completed."""
    if order.get("id") in (None, "") or order.get("status") not in PLACED:
        return None, []
    customer, named = _buyer(order)
    if named is None:
        return customer, []
    codes = [c.get("code") for c in order.get("coupon_lines") or [] if isinstance(c, dict) and c.get("code")]
    properties: dict[str, Any] = {
        "order_id": str(order["id"]),
        "total": money(order.get("total")),
        "items": items_payload(order.get("line_items")),
    }
    if codes:
        properties["discount_code"] = str(codes[0])[:100]
    if order.get("cart_hash"):
        properties["cart_id"] = str(order["cart_hash"])
    placed = {
        "id": f"woocommerce:order:{order['id']}",
        "type": "order_placed",
        "customer": named,
        "properties": properties,
    }
    if _moment(order, "date_created"):
        placed["occurred_at"] = _moment(order, "date_created")
    events = [placed]
    if order.get("status") == "completed":
        delivered = {
            "id": f"woocommerce:delivered:{order['id']}",
            "type": "order_delivered",
            "customer": named,
            "properties": {"order_id": str(order["id"])},
        }
        if _moment(order, "date_completed"):
            delivered["occurred_at"] = _moment(order, "date_completed")
        events.append(delivered)
    return customer, events


def product_payload(product: dict) -> dict | None:
    if product.get("id") in (None, "") or not product.get("name") or not product.get("permalink"):
        return None
    payload: dict[str, Any] = {
        "id": str(product["id"]),
        "name": str(product["name"])[:200],
        "url": str(product["permalink"]),
    }
    if product.get("price") not in (None, ""):
        payload["price"] = money(product["price"])
    if product.get("manage_stock") and product.get("stock_quantity") is not None:
        payload["stock"] = int(product["stock_quantity"])
    elif product.get("stock_status") in ("instock", "outofstock"):
        # Stock not counted: in stock is one, so a product coming back is still a change from 0.
        payload["stock"] = 1 if product["stock_status"] == "instock" else 0
    categories = [c for c in product.get("categories") or [] if isinstance(c, dict) and c.get("name")]
    if categories:
        payload["category"] = {
            "id": str(categories[0].get("id") or categories[0]["name"]),
            "name": str(categories[0]["name"])[:100],
        }
    return payload
