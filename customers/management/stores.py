"""The stores a management command's `--store SLUG` option names."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.db.models import QuerySet

from customers.models import Store


def stores_chosen(slug: str | None) -> QuerySet[Store]:
    """The store with this slug, or every store when none is given; an unknown slug is an error."""
    stores = Store.objects.order_by("slug")
    if slug is None:
        return stores
    stores = stores.filter(slug=slug)
    if not stores.exists():
        raise CommandError(f"No store with slug {slug!r}.")
    return stores
