"""Builders for the flow tests: a store, its customers and what they did, written with the ORM."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from campaigns.models import Flow, Message
from customers.models import Category, Customer, Event, Product, ProductChange, Store

_keys = itertools.count()
_phones = itertools.count(100)

# 15:00 UTC is 10:00 in New York: inside every quiet-hours window.
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def make_store(slug: str = "shop") -> Store:
    return Store.objects.create(
        slug=slug,
        brand_name="Shop",
        site_url="https://shop.example.com",
        allowed_link_domains=["shop.example.com"],
        rewards_url="https://shop.example.com/rewards",
    )


def make_customer(store: Store, **fields) -> Customer:
    values = {
        "phone": f"+1415555{next(_phones):04d}",
        "first_name": "Ana",
        "timezone": "America/New_York",
        "timezone_source": "given",
        "sms_consent": Customer.Consent.SUBSCRIBED,
    }
    return Customer.objects.create(store=store, **(values | fields))


def make_product(store: Store, external_id: str, **fields) -> Product:
    category = fields.pop("category", None)
    if isinstance(category, str):
        category, _ = Category.objects.get_or_create(
            store=store, external_id=category, defaults={"name": category}
        )
    values = {"name": f"Product {external_id}", "url": f"https://shop.example.com/p/{external_id}"}
    return Product.objects.create(
        store=store, external_id=external_id, category=category, **(values | fields)
    )


def record(
    customer: Customer, type: str, at: datetime, product: Product | None = None, **properties
) -> Event:
    return Event.objects.create(
        store_id=customer.store_id,
        customer=customer,
        type=type,
        occurred_at=at,
        received_at=at,
        properties=properties,
        product=product,
        idempotency_key=f"test-{next(_keys)}",
    )


def change(product: Product, field: str, old, new, at: datetime) -> ProductChange:
    setattr(product, field, new)
    product.save()
    return ProductChange.objects.create(
        product=product, field=field, old_value=Decimal(str(old)), new_value=Decimal(str(new)), changed_at=at
    )


def texts(flow: Flow, customer: Customer | None = None) -> list[str]:
    qs = Message.objects.filter(flow_run__flow=flow)
    if customer is not None:
        qs = qs.filter(customer=customer)
    return list(qs.order_by("created_at", "flow_step__position").values_list("body", flat=True))
