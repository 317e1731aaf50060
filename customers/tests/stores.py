"""Small builders shared by the customers tests."""

from __future__ import annotations

from datetime import UTC, datetime

from customers.models import Store

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def store_make(slug: str = "acme", **fields) -> Store:
    fields = {
        "brand_name": slug.title(),
        "site_url": f"https://{slug}.example.com",
        "allowed_link_domains": [f"{slug}.example.com"],
        **fields,
    }
    return Store.objects.create(slug=slug, **fields)


def order(key: str, phone: str, total: float, occurred_at: str, **properties) -> dict:
    return {
        "id": key,
        "type": "order_placed",
        "occurred_at": occurred_at,
        "customer": {"phone": phone},
        "properties": {"order_id": key, "total": total, "items": [], **properties},
    }
