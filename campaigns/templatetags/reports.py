from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("admin/reports/dashboard.html", takes_context=True)
def reports_dashboard(context) -> dict:
    from campaigns.admin.reports import dashboard_context

    return dashboard_context(context["request"])


@register.filter
def money(value, currency: str = "USD") -> str:
    """An amount in the store's currency, as every report shows money."""
    from customers.money import money as formatted

    return "–" if value is None or value == "" else formatted(value, currency=currency)
