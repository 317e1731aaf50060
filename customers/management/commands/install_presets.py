"""Give a store (or every store) its editable copies of the preset segments."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from customers.models import Store
from customers.segments.presets import presets_install


class Command(BaseCommand):
    help = "Install the preset segments for one store (--store SLUG) or for every store."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="the store's slug; every store when left out")

    def handle(self, *args, store: str | None = None, **options):
        stores = Store.objects.order_by("slug")
        if store:
            stores = stores.filter(slug=store)
            if not stores.exists():
                raise CommandError(f"No store with slug {store!r}.")
        for each in stores:
            created = presets_install(store=each)
            self.stdout.write(f"{each.slug}: {len(created)} preset segment(s) installed")
