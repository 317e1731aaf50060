from __future__ import annotations

from django import template

from customers.admin.scoping import stores_for

register = template.Library()


@register.simple_tag(takes_context=True)
def admin_store_name(context) -> str:
    """The store the signed-in user works on, when there is exactly one."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    names = list(stores_for(request.user).values_list("brand_name", flat=True)[:2])
    return names[0] if len(names) == 1 else ""
