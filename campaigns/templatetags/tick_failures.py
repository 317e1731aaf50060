"""The admin home's list of flows and campaigns the tick paused after an error."""

from __future__ import annotations

from django import template
from django.db.models import Q

from campaigns.isolation import tick_failures
from customers.admin.scoping import sees_all_stores, stores_for

register = template.Library()


@register.inclusion_tag("admin/campaigns/tick_failures.html", takes_context=True)
def paused_by_errors(context) -> dict[str, object]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"failures": []}
    scope = None if sees_all_stores(user) else Q(store__in=stores_for(user))
    return {"failures": tick_failures(flows=scope, campaigns=scope)}
