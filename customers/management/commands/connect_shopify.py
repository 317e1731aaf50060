"""manage.py connect_shopify --store SLUG --shop NAME.myshopify.com --token TOKEN --secret SECRET"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers.connections.connect import ConnectError, shopify_connect
from customers.management.stores import stores_chosen


class Command(BaseCommand):
    help = (
        "Connect a store to a Shopify custom app: check the Admin API token, register the webhooks and "
        "start a backfill; with --webhooks-only, accept webhooks made by hand in Shopify's admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The store's slug")
        parser.add_argument("--shop", required=True, help="NAME.myshopify.com")
        parser.add_argument("--token", default="", help="The custom app's Admin API access token")
        parser.add_argument("--secret", required=True, help="The key Shopify signs webhooks with")
        parser.add_argument("--api-base", default="", help="Where the Admin API answers (default: the shop)")
        parser.add_argument(
            "--webhooks-only", action="store_true", help="No token: webhooks only, no backfill"
        )

    def handle(self, *args, **options):
        store = stores_chosen(options["store"]).get()
        try:
            connection = shopify_connect(
                store=store,
                shop=options["shop"],
                token=options["token"],
                secret=options["secret"],
                api_base=options["api_base"],
                webhooks_only=options["webhooks_only"],
                now=timezone.now(),
            )
        except ConnectError as error:
            raise CommandError(f"--{error.field}: {error}") from error
        if connection.webhooks_only:
            self.stdout.write(
                f"{store.slug} takes {connection.shop_domain}'s webhooks (signed with the given key)."
            )
        else:
            backfill = connection.backfills.first()
            self.stdout.write(
                f"{store.slug} is connected to {connection.shop_domain}: "
                f"{len(connection.webhook_ids)} webhooks registered, backfill {backfill.status} "
                f"({backfill.customers} customers, "
                f"{backfill.products} products, {backfill.orders} orders so far)."
            )
