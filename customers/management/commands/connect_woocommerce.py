"""manage.py connect_woocommerce --store SLUG --url https://SITE --key ck_… --secret cs_…"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers.connections.connect import ConnectError, woocommerce_connect
from customers.management.stores import stores_chosen


class Command(BaseCommand):
    help = (
        "Connect a store to a WooCommerce site: check the REST API keys, create the webhooks and start a "
        "backfill; with --webhooks-only, accept webhooks made by hand with --webhook-secret."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The store's slug")
        parser.add_argument(
            "--url", required=True, help="The WooCommerce site, e.g. https://shop.example.com"
        )
        parser.add_argument("--key", default="", help="REST API consumer key (ck_…)")
        parser.add_argument("--secret", default="", help="REST API consumer secret (cs_…)")
        parser.add_argument("--webhook-secret", default="", help="With --webhooks-only: the webhooks' secret")
        parser.add_argument("--webhooks-only", action="store_true", help="No API keys: webhooks only")

    def handle(self, *args, **options):
        store = stores_chosen(options["store"]).get()
        try:
            connection = woocommerce_connect(
                store=store,
                url=options["url"],
                key=options["key"],
                secret=options["secret"],
                webhook_secret=options["webhook_secret"],
                webhooks_only=options["webhooks_only"],
                now=timezone.now(),
            )
        except ConnectError as error:
            raise CommandError(f"--{error.field.replace('_', '-')}: {error}") from error
        self.stdout.write(
            f"{store.slug} is connected to {connection.shop_domain}; webhooks go to "
            f"/webhooks/woocommerce/{store.slug}/"
            + (
                ""
                if connection.webhooks_only
                else f" ({len(connection.webhook_ids)} created, backfill started)"
            )
        )
