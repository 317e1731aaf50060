from __future__ import annotations

from django import template

from customers.admin_scoping import stores_for

from ..conversations import conversations_open_count

register = template.Library()


@register.simple_tag(takes_context=True)
def open_conversations_count(context) -> int:
    """Threads waiting for the staff in the stores the signed-in user may see."""
    return conversations_open_count(stores=stores_for(context["request"].user))
