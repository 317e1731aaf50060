"""Stores, customers and products for the dynamic-fields tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from customers.models import Category, Customer, Event, Product, Store

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def make_store(slug: str = "juniper", **fields) -> Store:
    values = {
        "brand_name": "Juniper & Co",
        "site_url": "https://shop.example.com",
        "allowed_link_domains": ["shop.example.com", "*.juniper.example"],
        "rewards_url": "https://shop.example.com/rewards",
        "currency": "USD",
        "price_per_segment": Decimal("0.0079"),
        **fields,
    }
    return Store.objects.create(slug=slug, **values)


def make_customer(store: Store, phone: str = "+14155550100", **fields) -> Customer:
    values = {"first_name": "Maya", "city": "Austin", "timezone": "America/Chicago",
              "timezone_source": "given", "sms_consent": Customer.Consent.SUBSCRIBED, **fields}
    return Customer.objects.create(store=store, phone=phone, **values)


def make_product(store: Store, name: str = "Linen Shirt", category: str = "Shirts", **fields) -> Product:
    cat, _ = Category.objects.get_or_create(store=store, external_id=category.lower(),
                                            defaults={"name": category})
    values = {"url": f"https://shop.example.com/p/{name.lower().replace(' ', '-')}", "price": Decimal("48"),
              "stock": 5, "usage_tip": "Wash cold, hang dry.", **fields}
    return Product.objects.create(store=store, external_id=name.lower(), name=name, category=cat, **values)


def order(customer: Customer, product: Product, at: datetime = NOW, key: str = "") -> Event:
    return Event.objects.create(
        store=customer.store, customer=customer, type="order_placed", occurred_at=at, received_at=at,
        product=product, idempotency_key=key or f"order-{customer.pk}-{product.pk}-{at.isoformat()}",
    )
