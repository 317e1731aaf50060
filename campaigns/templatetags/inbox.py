from __future__ import annotations

from django import template

from campaigns.inbound.conversations import conversations_open_count
from customers.admin.scoping import stores_for

register = template.Library()


@register.simple_tag(takes_context=True)
def open_conversations_count(context) -> int:
    """Threads waiting for the staff in the stores the signed-in user may see."""
    return conversations_open_count(stores=stores_for(context["request"].user))
