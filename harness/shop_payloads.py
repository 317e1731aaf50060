"""Webhook bodies in the shops' own shapes, and posting them signed the way each shop signs.

Shopify: the example bodies of Shopify's webhook reference (shopify.dev/docs/api/webhooks, API
version 2024-10) for customers/create, checkouts/create, orders/create, products/update,
inventory_levels/update and fulfillments/update, and of its privacy compliance page
(shopify.dev/docs/apps/build/privacy-law-compliance) for the three mandatory topics; the field
names, nesting and value types are Shopify's, the ids, numbers and times are set per test. The
`sms_marketing_consent` object is the Customer resource's (REST Admin API 2024-10).
WooCommerce: the order, customer and product examples of the REST API documentation
(woocommerce.github.io/woocommerce-rest-api-docs, wc/v3), which is what its webhooks deliver.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from customers.connections.signing import body_signature

SHOP = "juniper.myshopify.com"
SHOPIFY_SECRET = "shopify-webhook-signing-key"
WOO_SECRET = "woo-webhook-secret"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def shopify_post(
    client,
    topic: str,
    body: dict,
    *,
    secret: str = SHOPIFY_SECRET,
    webhook_id: str = "",
    shop: str = SHOP,
    signature: str | None = None,
):
    raw = json.dumps(body).encode()
    return client.post(
        "/webhooks/shopify/",
        data=raw,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature if signature is not None else body_signature(raw, secret),
            "X-Shopify-Shop-Domain": shop,
            "X-Shopify-API-Version": "2024-10",
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": "2024-10-01T16:00:00.000Z",
            "X-Shopify-Event-Id": str(uuid.uuid4()),
        },
    )


def woo_post(client, slug: str, topic: str, body: dict, *, secret: str = WOO_SECRET, delivery_id: str = ""):
    raw = json.dumps(body).encode()
    resource, _, event = topic.partition(".")
    return client.post(
        f"/webhooks/woocommerce/{slug}/",
        data=raw,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Source": "https://shop.example.com/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": body_signature(raw, secret),
            "X-WC-Webhook-ID": "31",
            "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
        },
    )


# --- Shopify ------------------------------------------------------------------------------------


def sms_consent(state: str, at: datetime, level: str = "single_opt_in") -> dict:
    return {
        "state": state,
        "opt_in_level": level,
        "consent_updated_at": iso(at),
        "consent_collected_from": "SHOPIFY",
    }


def shopify_customer(
    customer_id: int, phone: str | None, at: datetime, *, consent: dict | None = None, first_name: str = "Bob"
) -> dict:
    return {
        "id": customer_id,
        "email": f"{first_name.lower()}@biller.example",
        "created_at": iso(at),
        "updated_at": iso(at),
        "first_name": first_name,
        "last_name": "Biller",
        "orders_count": 0,
        "state": "disabled",
        "total_spent": "0.00",
        "last_order_id": None,
        "note": "This customer loves ice cream",
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tags": "",
        "last_order_name": None,
        "currency": "USD",
        "phone": phone,
        "addresses": [],
        "tax_exemptions": [],
        "email_marketing_consent": None,
        "sms_marketing_consent": consent,
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
    }


def shopify_line(product_id: int, title: str, price: str, quantity: int = 1) -> dict:
    return {
        "applied_discounts": [],
        "discount_allocations": [],
        "fulfillment_service": "manual",
        "gift_card": False,
        "grams": 100,
        "product_id": product_id,
        "properties": None,
        "quantity": quantity,
        "requires_shipping": True,
        "sku": f"SKU-{product_id}",
        "tax_lines": [],
        "taxable": True,
        "title": title,
        "variant_id": product_id * 10,
        "variant_title": "Default",
        "variant_price": price,
        "vendor": "Juniper",
        "compare_at_price": None,
        "line_price": price,
        "price": price,
    }


def shopify_checkout(
    token: str, customer: dict, at: datetime, lines: list[dict], *, cart_token: str = ""
) -> dict:
    total = sum(float(line["price"]) * line["quantity"] for line in lines)
    return {
        "id": 981820079255243537,
        "token": token,
        "cart_token": cart_token or f"cart-{token}",
        "email": customer.get("email"),
        "gateway": None,
        "buyer_accepts_marketing": False,
        "created_at": iso(at),
        "updated_at": iso(at),
        "landing_site": None,
        "note": None,
        "note_attributes": [],
        "referring_site": None,
        "shipping_lines": [],
        "taxes_included": False,
        "total_weight": 100,
        "currency": "USD",
        "completed_at": None,
        "closed_at": None,
        "user_id": None,
        "location_id": None,
        "source_identifier": None,
        "source_url": None,
        "device_id": None,
        "phone": customer.get("phone"),
        "customer_locale": "en",
        "line_items": lines,
        "name": f"#{token}",
        "source": None,
        # The documented example's host is a placeholder (checkout.local): a shop's own domain here.
        "abandoned_checkout_url": f"https://{SHOP}/548380009/checkouts/{token}/recover?key=example-secret-token",
        "discount_codes": [],
        "tax_lines": [],
        "source_name": "web",
        "presentment_currency": "USD",
        "buyer_accepts_sms": False,
        "sms_marketing_phone": None,
        "total_discounts": "0.00",
        "total_line_items_price": f"{total:.2f}",
        "total_price": f"{total:.2f}",
        "total_tax": "0.00",
        "subtotal_price": f"{total:.2f}",
        "total_duties": None,
        "billing_address": None,
        "shipping_address": None,
        "customer": customer,
    }


def shopify_order(
    order_id: int,
    customer: dict,
    at: datetime,
    lines: list[dict],
    *,
    checkout_token: str | None = None,
    cart_token: str | None = None,
    codes: tuple[str, ...] = (),
) -> dict:
    total = sum(float(line["price"]) * line["quantity"] for line in lines)
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": None,
        "browser_ip": None,
        "buyer_accepts_marketing": True,
        "cancel_reason": None,
        "cancelled_at": None,
        "cart_token": cart_token,
        "checkout_id": None,
        "checkout_token": checkout_token,
        "confirmation_number": None,
        "confirmed": False,
        "contact_email": customer.get("email"),
        "created_at": iso(at),
        "currency": "USD",
        "current_total_price": f"{total:.2f}",
        "customer_locale": "en",
        "discount_codes": [{"code": code, "amount": "10.00", "type": "percentage"} for code in codes],
        "email": customer.get("email"),
        "financial_status": "paid",
        "fulfillment_status": None,
        "name": f"#{order_id}",
        "note": None,
        "order_number": 1234,
        "phone": None,
        "presentment_currency": "USD",
        "processed_at": iso(at),
        "source_name": "web",
        "subtotal_price": f"{total:.2f}",
        "tags": "",
        "test": True,
        "total_discounts": "0.00",
        "total_price": f"{total:.2f}",
        "total_tax": "0.00",
        "updated_at": iso(at),
        "billing_address": None,
        "customer": customer,
        "discount_applications": [],
        "fulfillments": [],
        "line_items": [{"id": order_id + i, **line} for i, line in enumerate(lines)],
        "refunds": [],
        "shipping_address": None,
        "shipping_lines": [],
    }


def shopify_variant(variant_id: int, product_id: int, price: str, quantity: int, item_id: int) -> dict:
    return {
        "admin_graphql_api_id": f"gid://shopify/ProductVariant/{variant_id}",
        "barcode": None,
        "compare_at_price": None,
        "fulfillment_service": "manual",
        "id": variant_id,
        "inventory_management": "shopify",
        "inventory_policy": "deny",
        "position": 1,
        "price": price,
        "product_id": product_id,
        "sku": f"SKU-{variant_id}",
        "taxable": True,
        "title": "Default",
        "option1": "Default",
        "option2": None,
        "option3": None,
        "grams": 200,
        "image_id": None,
        "weight": 200.0,
        "weight_unit": "g",
        "inventory_item_id": item_id,
        "inventory_quantity": quantity,
        "old_inventory_quantity": quantity,
        "requires_shipping": True,
    }


def shopify_product(
    product_id: int, title: str, variants: list[dict], at: datetime, *, product_type: str = "Shirts"
) -> dict:
    return {
        "admin_graphql_api_id": f"gid://shopify/Product/{product_id}",
        "body_html": "An example T-Shirt",
        "created_at": iso(at),
        "handle": title.lower().replace(" ", "-"),
        "id": product_id,
        "product_type": product_type,
        "published_at": iso(at),
        "template_suffix": None,
        "title": title,
        "updated_at": iso(at),
        "vendor": "Acme",
        "status": "active",
        "published_scope": "web",
        "tags": "example, mens, t-shirt",
        "variants": variants,
        "options": [],
        "images": [],
        "image": None,
        "variant_gids": [
            {"admin_graphql_api_id": v["admin_graphql_api_id"], "updated_at": iso(at)} for v in variants
        ],
    }


def shopify_inventory_level(item_id: int, location_id: int, available: int | None, at: datetime) -> dict:
    return {
        "inventory_item_id": item_id,
        "location_id": location_id,
        "available": available,
        "updated_at": iso(at),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}",
    }


def shopify_fulfillment(order_id: int, at: datetime, shipment_status: str | None) -> dict:
    return {
        "id": 123456,
        "order_id": order_id,
        "status": "success",
        "created_at": iso(at),
        "service": None,
        "updated_at": iso(at),
        "tracking_company": "UPS",
        "shipment_status": shipment_status,
        "location_id": None,
        "origin_address": None,
        "email": "jon@example.com",
        "destination": None,
        "line_items": [],
        "tracking_number": "1z827wk74630",
        "tracking_numbers": ["1z827wk74630"],
        "tracking_url": "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630",
        "tracking_urls": ["https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"],
        "receipt": {},
        "name": "#9999.1",
        "admin_graphql_api_id": "gid://shopify/Fulfillment/123456",
    }


# --- WooCommerce ---------------------------------------------------------------------------------


def woo_billing(phone: str, first_name: str = "John") -> dict:
    return {
        "first_name": first_name,
        "last_name": "Doe",
        "company": "",
        "address_1": "969 Market",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
        "email": f"{first_name.lower()}.doe@example.com",
        "phone": phone,
    }


def woo_order(
    order_id: int,
    phone: str,
    at: datetime,
    *,
    status: str = "processing",
    customer_id: int = 0,
    lines: list[tuple[int, str, float, int]] = ((93, "Woo Single #1", 3.0, 2),),
    coupons: tuple[str, ...] = (),
) -> dict:
    items = [
        {
            "id": 315 + i,
            "name": name,
            "product_id": pid,
            "variation_id": 0,
            "quantity": qty,
            "tax_class": "",
            "subtotal": f"{price * qty:.2f}",
            "subtotal_tax": "0.00",
            "total": f"{price * qty:.2f}",
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
            "sku": "",
            "price": price,
        }
        for i, (pid, name, price, qty) in enumerate(lines)
    ]
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id}",
        "created_via": "checkout",
        "version": "8.2.0",
        "status": status,
        "currency": "USD",
        "date_created": stamp,
        "date_created_gmt": stamp,
        "date_modified": stamp,
        "date_modified_gmt": stamp,
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": f"{sum(i['price'] * i['quantity'] for i in items):.2f}",
        "total_tax": "0.00",
        "prices_include_tax": False,
        "customer_id": customer_id,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "customer_note": "",
        "billing": woo_billing(phone),
        "shipping": {"first_name": "John", "last_name": "Doe", "phone": ""},
        "payment_method": "bacs",
        "payment_method_title": "Direct Bank Transfer",
        "transaction_id": "",
        "date_paid": stamp,
        "date_paid_gmt": stamp,
        "date_completed": stamp if status == "completed" else None,
        "date_completed_gmt": stamp if status == "completed" else None,
        "cart_hash": f"hash{order_id}",
        "meta_data": [],
        "line_items": items,
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [
            {"id": 400 + i, "code": code, "discount": "1.00", "discount_tax": "0.00", "meta_data": []}
            for i, code in enumerate(coupons)
        ],
        "refunds": [],
    }


def woo_customer(customer_id: int, phone: str, at: datetime) -> dict:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "id": customer_id,
        "date_created": stamp,
        "date_created_gmt": stamp,
        "date_modified": stamp,
        "date_modified_gmt": stamp,
        "email": "john.doe@example.com",
        "first_name": "John",
        "last_name": "Doe",
        "role": "customer",
        "username": "john.doe",
        "billing": woo_billing(phone),
        "shipping": {"first_name": "John", "last_name": "Doe"},
        "is_paying_customer": False,
        "avatar_url": "",
        "meta_data": [],
    }


def woo_product(product_id: int, name: str, price: str, at: datetime, *, stock: int | None = None) -> dict:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "id": product_id,
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "permalink": f"https://shop.example.com/product/{name.lower().replace(' ', '-')}/",
        "date_created": stamp,
        "date_created_gmt": stamp,
        "date_modified": stamp,
        "date_modified_gmt": stamp,
        "type": "simple",
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "",
        "short_description": "",
        "sku": "",
        "price": price,
        "regular_price": price,
        "sale_price": "",
        "on_sale": False,
        "purchasable": True,
        "total_sales": 0,
        "manage_stock": stock is not None,
        "stock_quantity": stock,
        "stock_status": "instock" if stock is None or stock > 0 else "outofstock",
        "categories": [{"id": 9, "name": "Clothing", "slug": "clothing"}],
        "tags": [],
        "images": [],
        "attributes": [],
        "variations": [],
        "meta_data": [],
    }
