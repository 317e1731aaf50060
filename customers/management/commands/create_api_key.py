from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from customers.api.auth import api_key_create
from customers.models import Store


class Command(BaseCommand):
    help = "Create an API key for a store and print it (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="the store's slug, e.g. demo")
        parser.add_argument("--name", default="API key", help="a label to recognise the key by")
        parser.add_argument("--quiet", action="store_true", help="print only the key, for scripts")

    def handle(self, *args, store: str, name: str, quiet: bool, **options) -> None:
        found = Store.objects.filter(slug=store).first()
        if found is None:
            raise CommandError(f"There is no store with slug {store!r}.")
        api_key, raw = api_key_create(store=found, name=name)
        if quiet:
            self.stdout.write(raw)
            return
        self.stdout.write(f"API key {api_key.name!r} for {found.slug}: {raw}")
        self.stdout.write("Keep it now: only its hash is stored, it cannot be shown again.")
