"""Shopify's Admin API through the official `ShopifyAPI` package: the only code that imports it.

Every call runs inside `admin_api(connection)`, which points the package's (thread-local) session
at the shop, or at `api_base` when one is set, and turns its errors into `ShopApiError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal

import pyactiveresource.connection
import shopify
from django.conf import settings

from customers.connections.models import ShopConnection

API_VERSION = "2024-10"
PAGE_SIZE = 250  # the most a page of the REST Admin API holds
CODES_PER_BATCH = 100  # the most one discount code creation job takes
PAGED = {"customers": shopify.Customer, "products": shopify.Product, "orders": shopify.Order}


class ShopApiError(Exception):
    """The shop refused or could not be reached; `status` is the HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@contextmanager
def admin_api(connection: ShopConnection) -> Iterator[None]:
    resource = shopify.ShopifyResource
    resource.site = f"{connection.base_url}/admin/api/{API_VERSION}"
    resource.version = API_VERSION
    resource.timeout = settings.SHOP_API_TIMEOUT
    resource.headers["X-Shopify-Access-Token"] = connection.access_token
    try:
        yield
    except pyactiveresource.connection.Error as error:
        status = getattr(error, "code", None)
        body = getattr(getattr(error, "response", None), "body", b"") or b""
        detail = body.decode(errors="replace")[:200] if isinstance(body, bytes) else str(body)[:200]
        raise ShopApiError(f"Shopify answered {status or 'nothing'}: {detail or error}", status) from error
    finally:
        resource.clear_session()


def shop_check(connection: ShopConnection) -> dict:
    """The shop the token opens (its name, domain, currency); ShopApiError if the token is refused."""
    with admin_api(connection):
        return shopify.Shop.current().to_dict()


def webhooks_register(connection: ShopConnection, *, address: str, topics: list[str]) -> list[int]:
    """One subscription per topic to `address`; subscriptions already there are kept, not doubled."""
    ids = []
    with admin_api(connection):
        existing = {(w.topic, w.address): w.id for w in shopify.Webhook.find()}
        for topic in topics:
            if (topic, address) in existing:
                ids.append(existing[(topic, address)])
                continue
            webhook = shopify.Webhook.create({"topic": topic, "address": address, "format": "json"})
            if webhook.errors.full_messages():
                raise ShopApiError(f"Shopify refused the {topic} webhook: {webhook.errors.full_messages()}")
            ids.append(webhook.id)
    return ids


def resource_page(
    connection: ShopConnection, kind: str, *, cursor: str, since: datetime
) -> tuple[list[dict], str]:
    """One page of customers, products or orders (since `since`), and the cursor of the next
    page ("" after the last)."""
    with admin_api(connection):
        if cursor:
            page = PAGED[kind].find(from_=cursor)
        elif kind == "orders":
            page = PAGED[kind].find(limit=PAGE_SIZE, status="any", created_at_min=since.isoformat())
        else:
            page = PAGED[kind].find(limit=PAGE_SIZE)
        rows = [r.to_dict() for r in page]
        return rows, getattr(page, "next_page_url", None) or ""


def price_rule_create(
    connection: ShopConnection,
    *,
    title: str,
    value_type: str,
    value: Decimal,
    minimum: Decimal | None,
    starts_at: datetime,
    ends_at: datetime | None,
) -> int:
    """A price rule whose codes are each good for one use: the offer's value, minimum and expiry."""
    attributes = {
        "title": title,
        "target_type": "line_item",
        "target_selection": "all",
        "allocation_method": "across",
        "value_type": value_type,
        "value": str(-abs(value)),
        "customer_selection": "all",
        "usage_limit": 1,
        "once_per_customer": True,
        "starts_at": starts_at.isoformat(),
    }
    if ends_at is not None:
        attributes["ends_at"] = ends_at.isoformat()
    if minimum:
        attributes["prerequisite_subtotal_range"] = {"greater_than_or_equal_to": str(minimum)}
    with admin_api(connection):
        rule = shopify.PriceRule.create(attributes)
        if rule.errors.full_messages() or not rule.id:
            raise ShopApiError(f"Shopify refused the price rule: {rule.errors.full_messages()}")
        return rule.id


def codes_batch_create(connection: ShopConnection, *, price_rule_id: int, codes: list[str]) -> int:
    """Queue the creation of up to 100 codes on the rule; the job's id."""
    with admin_api(connection):
        rule = shopify.PriceRule({"id": price_rule_id})
        job = rule.create_batch([{"code": code} for code in codes])
        return job.id


def codes_batch_result(
    connection: ShopConnection, *, price_rule_id: int, batch_id: int
) -> dict[str, str] | None:
    """The job's codes once it has run: each code and Shopify's error for it ("" if created);
    None while the job is still queued or running."""
    with admin_api(connection):
        rule = shopify.PriceRule({"id": price_rule_id})
        job = rule.find_batch(batch_id)
        if job.status != "completed":
            return None
        site = shopify.ShopifyResource.site
        created = shopify.DiscountCode.find(
            from_=f"{site}/price_rules/{price_rule_id}/batch/{batch_id}/discount_codes.json"
        )
        return {c.to_dict()["code"]: _code_error(c.to_dict().get("errors")) for c in created}


def _code_error(errors: object) -> str:
    if not errors:
        return ""
    if isinstance(errors, dict):
        return "; ".join(
            f"{k} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in errors.items()
        )
    return str(errors)
