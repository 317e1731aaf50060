from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaigns.flows.recipes import RECIPES, recipe_install, recipe_installed
from customers.models import Store


class Command(BaseCommand):
    help = "Installs one of the seed's flows for a store, as a draft unless --live."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(RECIPES))
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--live", action="store_true", help="Start it live instead of as a draft")
        parser.add_argument(
            "--copy", action="store_true", help="When it is installed already, add a draft copy named apart"
        )

    def handle(self, *args, **options):
        store = Store.objects.filter(slug=options["store"]).first()
        if store is None:
            raise CommandError(f"--store: no store with slug {options['store']!r}")
        installed = recipe_installed(store=store, name=options["name"])
        if installed is not None and not options["copy"]:
            self.stdout.write(
                f"Already installed: “{installed.name}” as {installed.slug} ({installed.status}), id "
                f"{installed.id}. --copy adds a draft copy."
            )
            return
        try:
            flow = recipe_install(store=store, name=options["name"], live=options["live"] and not installed)
        except ValidationError as refused:
            raise CommandError(" ".join(refused.messages)) from refused
        self.stdout.write(
            f"Installed “{flow.name}” as {flow.slug} ({flow.status}) for {store.slug}, id {flow.id}"
        )
