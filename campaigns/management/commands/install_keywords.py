from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.inbound.keywords import store_keywords_install
from customers.management.stores import stores_chosen


class Command(BaseCommand):
    help = "Install the SIZE and SHIPPING auto-reply keywords for a store (existing words are kept)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--store", required=True, help="The store's slug")

    def handle(self, *args, store: str, **options) -> None:
        [found] = stores_chosen(store)
        created = store_keywords_install(store=found)
        self.stdout.write(f"{created} keyword(s) installed for {found.brand_name}.")
