"""Connecting a shop: the token checked, the webhooks registered through the shop's API, and a
backfill started; or, with webhooks only, the shop's hand-made webhooks accepted with their key.

The shop's API is called with no transaction open; the connection is stored afterwards.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from customers.connections import process, shopify_client, woo_client
from customers.connections.backfill import backfill_start
from customers.connections.models import ShopConnection
from customers.connections.shopify_client import ShopApiError
from customers.models import Store

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
Platform = ShopConnection.Platform


class ConnectError(ValueError):
    """The connection was refused; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def shopify_domain(value: str) -> str:
    domain = re.sub(r"^https?://", "", value.strip().lower()).strip("/")
    if not SHOP_DOMAIN.match(domain):
        raise ConnectError(
            "shop", "The shop's address is NAME.myshopify.com, e.g. juniper-market.myshopify.com."
        )
    return domain


def webhook_address(connection: ShopConnection) -> str:
    if connection.platform == Platform.SHOPIFY:
        return f"{settings.PUBLIC_BASE_URL}/webhooks/shopify/"
    return f"{settings.PUBLIC_BASE_URL}/webhooks/woocommerce/{connection.store.slug}/"


def _taken(store: Store, platform: str, domain: str) -> None:
    holder = ShopConnection.objects.filter(platform=platform, shop_domain=domain).exclude(store=store).first()
    if holder is not None:
        raise ConnectError("shop", f"{domain} is already connected to the store “{holder.store}”.")


def _register(connection: ShopConnection, client, topics: list[str]) -> dict:
    try:
        shop = client.shop_check(connection)
        connection.webhook_ids = client.webhooks_register(
            connection, address=webhook_address(connection), topics=topics
        )
    except ShopApiError as error:
        field = "token" if error.status in (401, 403) else "shop"
        raise ConnectError(field, f"The shop refused the connection: {error}") from error
    return shop


def _links_allowed(store: Store, hosts: list[str]) -> None:
    """Links into the shop (a checkout's recovery link) are allowed in texts."""
    wanted = [h.split(":")[0] for h in hosts if h and h.split(":")[0] not in store.allowed_link_domains]
    if wanted:
        store.allowed_link_domains = [*store.allowed_link_domains, *dict.fromkeys(wanted)]
        Store.objects.filter(pk=store.pk).update(allowed_link_domains=store.allowed_link_domains)


def _save(connection: ShopConnection, *, now: datetime, backfill: bool, hosts: list[str]) -> ShopConnection:
    fields = {
        f.name: getattr(connection, f.name)
        for f in ShopConnection._meta.concrete_fields
        if f.name not in ("id", "store", "platform")
    }
    try:
        with transaction.atomic():
            saved, _ = ShopConnection.objects.update_or_create(
                store=connection.store, platform=connection.platform, defaults=fields
            )
            _links_allowed(connection.store, [connection.shop_domain, *hosts])
            if backfill:
                backfill_start(connection=saved, now=now)
    except IntegrityError as error:
        raise ConnectError(
            "shop", f"{connection.shop_domain} is already connected to another store."
        ) from error
    return saved


def shopify_connect(
    *,
    store: Store,
    shop: str,
    token: str,
    secret: str,
    now: datetime,
    api_base: str = "",
    webhooks_only: bool = False,
) -> ShopConnection:
    """Connect a Shopify custom app (Admin API token and webhook secret), or only its webhooks."""
    domain = shopify_domain(shop)
    if not secret.strip():
        raise ConnectError("secret", "The webhook secret is required: Shopify signs every webhook with it.")
    if not webhooks_only and not token.strip():
        raise ConnectError("token", "The Admin API access token is required (or connect webhooks only).")
    _taken(store, Platform.SHOPIFY, domain)
    connection = ShopConnection(
        store=store,
        platform=Platform.SHOPIFY,
        shop_domain=domain,
        api_base=api_base.rstrip("/"),
        access_token="" if webhooks_only else token.strip(),
        webhook_secret=secret.strip(),
        webhooks_only=webhooks_only,
        connected_at=now,
        error="",
    )
    shop = {} if webhooks_only else _register(connection, shopify_client, process.SHOPIFY_TOPICS)
    return _save(connection, now=now, backfill=not webhooks_only, hosts=[str(shop.get("domain") or "")])


def woocommerce_connect(
    *,
    store: Store,
    url: str,
    key: str,
    secret: str,
    now: datetime,
    webhook_secret: str = "",
    webhooks_only: bool = False,
) -> ShopConnection:
    """Connect a WooCommerce site by its REST API keys (webhooks created with a new secret), or
    only the webhooks made by hand in WooCommerce with `webhook_secret`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectError("url", "The site's address, e.g. https://shop.example.com.")
    if webhooks_only and not webhook_secret.strip():
        raise ConnectError("webhook_secret", "The secret typed in WooCommerce's webhook form is required.")
    if not webhooks_only and not (key.strip() and secret.strip()):
        raise ConnectError("key", "The REST API consumer key and secret are required (or webhooks only).")
    domain = parts.hostname.lower() + (f":{parts.port}" if parts.port else "")
    _taken(store, Platform.WOOCOMMERCE, domain)
    # Webhooks already registered keep the secret they were made with.
    before = ShopConnection.objects.filter(store=store, platform=Platform.WOOCOMMERCE).first()
    webhook_secret = webhook_secret.strip() or (
        before.webhook_secret if before else secrets.token_urlsafe(32)
    )
    connection = ShopConnection(
        store=store,
        platform=Platform.WOOCOMMERCE,
        shop_domain=domain,
        api_base=url.strip().rstrip("/"),
        access_token="" if webhooks_only else key.strip(),
        api_secret="" if webhooks_only else secret.strip(),
        webhook_secret=webhook_secret,
        webhooks_only=webhooks_only,
        connected_at=now,
        error="",
    )
    if not webhooks_only:
        _register(connection, woo_client, process.WOO_TOPICS)
    return _save(connection, now=now, backfill=not webhooks_only, hosts=[])


def connection_remove(*, connection: ShopConnection) -> None:
    """Forget the connection (its deliveries and backfills with it); the data it brought stays."""
    connection.delete()
