"""Starter message templates, so a new store can send a broadcast or build a flow at once.

The recipes' first texts (each says how to opt out) plus two broadcasts; added by `bootstrap`
and when a store is created in the admin. A store's own templates of the same name are kept.
"""

from __future__ import annotations

from campaigns.flows.recipes import RECIPES
from campaigns.models import MessageTemplate
from customers.models import Store

BROADCASTS = {
    "New arrivals (broadcast)": (
        "{{ store_name }}: New arrivals just landed, "
        '{{ first_name|default:"friend" }}. Shop them first: {site} Reply STOP to opt out.'
    ),
    "Sale (broadcast)": (
        "{{ store_name }}: Our sale is on - up to 30% off for 48 hours. {site} Reply STOP to opt out."
    ),
}


def starters(store: Store) -> dict[str, str]:
    """Name → body of every starter template for `store`."""
    site = store.site_url.rstrip("/") or ""
    found = {}
    for recipe in RECIPES.values():
        first = next((s for s in recipe.steps if s["kind"] == "send"), None)
        if first is not None:
            found[f"{recipe.title}: first text"] = first["body"]
    for name, body in BROADCASTS.items():
        found[name] = body.replace("{site}", site).replace("  ", " ")
    return found


def starter_templates_install(*, store: Store) -> int:
    """Create the starters the store does not have yet (by name); returns how many were created."""
    existing = set(MessageTemplate.objects.filter(store=store).values_list("name", flat=True))
    missing = [
        MessageTemplate(store=store, name=name, body=body)
        for name, body in starters(store).items()
        if name not in existing
    ]
    MessageTemplate.objects.bulk_create(missing)
    return len(missing)
