"""Turns a template into one customer's text.

Contract used by flows and broadcasts:
    render_message(*, template_body, customer, snapshot, utm_campaign, utm_content, offer_code="")
        -> Rendered(body, links)
`snapshot` is the flat context a trigger captured (cart_link, product_name, ...); link fields
become tracked short links, returned as PendingLinks for the outbox to store with the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from customers.models import Customer

from .outbox import PendingLink
from .templating import render


@dataclass
class Rendered:
    body: str
    links: list[PendingLink] = field(default_factory=list)


def customer_context(customer: Customer) -> dict[str, object]:
    return {
        "first_name": customer.first_name,
        "city": customer.city,
        "store_name": customer.store.brand_name,
        "loyalty_status": customer.loyalty_status,
        "reward_points": customer.reward_points,
        "reward_amount": customer.reward_balance,
        "preferred_store": customer.preferred_store,
    }


def render_message(
    *,
    template_body: str,
    customer: Customer,
    snapshot: dict[str, object],
    utm_campaign: str,
    utm_content: str,
    offer_code: str = "",
) -> Rendered:
    context = {**customer_context(customer), **snapshot, "offer_code": offer_code}
    return Rendered(body=render(template_body, context))
