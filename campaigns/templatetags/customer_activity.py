"""The customer page's sections about texting: texts sent, replies, flow runs."""

from __future__ import annotations

from django import template

from campaigns.inbound.conversations import FOR_STAFF
from customers.models import Customer

register = template.Library()
SHOWN = 20


@register.inclusion_tag("admin/campaigns/customer_activity.html")
def customer_activity(customer: Customer) -> dict[str, object]:
    texts = customer.messages.select_related("campaign", "flow_run__flow").order_by("-created_at", "-pk")
    replies = customer.inbound_messages.order_by("-received_at", "-pk")
    runs = customer.flow_runs.select_related("flow", "current_step").order_by("-entered_at", "-pk")
    return {
        "customer": customer,
        "texts": texts[:SHOWN],
        "texts_total": texts.count(),
        "replies": replies[:SHOWN],
        "open_replies": replies.filter(handled=False, outcome__in=FOR_STAFF).count(),
        "runs": runs[:SHOWN],
        "shown": SHOWN,
    }
