"""Give a store (or every store) its editable copies of the preset segments."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from customers.management.stores import stores_chosen
from customers.segments.presets import presets_install


class Command(BaseCommand):
    help = "Install the preset segments for one store (--store SLUG) or for every store."

    def add_arguments(self, parser):
        parser.add_argument("--store", help="the store's slug; every store when left out")

    def handle(self, *args, store: str | None = None, **options):
        for each in stores_chosen(store):
            created = presets_install(store=each)
            self.stdout.write(f"{each.slug}: {len(created)} preset segment(s) installed")
