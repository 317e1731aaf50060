"""What the customer page says about a customer: engagement tier and readable event names."""

from __future__ import annotations

from datetime import datetime

from customers import engagement
from customers.models import Customer

EVENT_NAMES = {
    "product_viewed": "Viewed a product",
    "cart_updated": "Updated the cart",
    "checkout_started": "Started checkout",
    "order_placed": "Placed an order",
    "order_delivered": "Order delivered",
    "back_in_stock_requested": "Asked for a back-in-stock alert",
    "reward_balance_changed": "Reward balance changed",
    "preference_set": "Set preferences",
    "sms_sent": "Got a text",
    "sms_delivered": "Text delivered",
    "sms_clicked": "Clicked a link in a text",
    "sms_opted_out": "Opted out of texts",
}


def event_name(event_type: str) -> str:
    return EVENT_NAMES.get(event_type) or event_type.replace("_", " ").capitalize()


def engagement_tier(customer: Customer, *, now: datetime) -> str:
    """Hot, warm or cold by the last SMS click: the segment builder's and the caps' definition."""
    return engagement.engagement_tier(customer.last_sms_click_at, now=now, store=customer.store)
