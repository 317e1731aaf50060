from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from campaigns.flows.recipes import RECIPES, recipe_install
from customers.models import Store


class Command(BaseCommand):
    help = "Installs one of the seed's flows for a store, as a draft unless --live."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(RECIPES))
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--live", action="store_true", help="Start it live instead of as a draft")

    def handle(self, *args, **options):
        store = Store.objects.filter(slug=options["store"]).first()
        if store is None:
            raise CommandError(f"--store: no store with slug {options['store']!r}")
        flow = recipe_install(store=store, name=options["name"], live=options["live"])
        self.stdout.write(
            f"Installed “{flow.name}” as {flow.slug} ({flow.status}) for {store.slug}, id {flow.id}"
        )
