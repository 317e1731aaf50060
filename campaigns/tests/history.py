"""A hand-built history of texts, clicks, orders and opt-outs for the report tests."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from campaigns.content.links import link_click
from campaigns.models import Link, Message
from campaigns.tests.flowkit import record
from customers.models import ConsentRecord, Customer

_keys = itertools.count()


def text(customer: Customer, at: datetime, *, status: str = "delivered", **fields) -> Message:
    delivered = at if status == "delivered" else None
    return Message.objects.create(
        store_id=customer.store_id,
        customer=customer,
        to=customer.phone,
        body="Your cart misses you",
        status=status,
        idempotency_key=f"history-{next(_keys)}",
        created_at=at,
        sent_at=at if status in ("sent", "delivered", "undelivered") else None,
        delivered_at=delivered,
        **fields,
    )


def click(message: Message, at: datetime) -> Link:
    link = Link.objects.create(
        store_id=message.store_id,
        customer=message.customer,
        message=message,
        code=f"c{next(_keys)}",
        target_url="https://shop.example.com/cart",
    )
    link_click(link=link, now=at)
    link.refresh_from_db()
    return link


def order(customer: Customer, at: datetime, total: str):
    return record(customer, "order_placed", at, total=Decimal(total).__str__())


def opt_out(customer: Customer, at: datetime) -> ConsentRecord:
    return ConsentRecord.objects.create(
        store_id=customer.store_id, customer=customer, action="opt_out", source="keyword", occurred_at=at
    )
