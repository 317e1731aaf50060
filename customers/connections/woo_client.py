"""WooCommerce's REST API (wc/v3) through the official `woocommerce` package: the only code that
imports it. Errors become `ShopApiError`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from woocommerce import API

from customers.connections.models import ShopConnection
from customers.connections.shopify_client import ShopApiError

PAGE_SIZE = 100  # the most a page of the REST API holds
CODES_PER_BATCH = 100  # the most one batch request takes


def _api(connection: ShopConnection) -> API:
    return API(
        url=connection.base_url,
        consumer_key=connection.access_token,
        consumer_secret=connection.api_secret,
        version="wc/v3",
        timeout=settings.SHOP_API_TIMEOUT,
    )


def _call(connection: ShopConnection, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
    try:
        response = getattr(_api(connection), method)(endpoint, **kwargs)
    except requests.RequestException as error:
        raise ShopApiError(f"WooCommerce could not be reached: {error}") from error
    if response.status_code >= 400:
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = response.text[:200]
        raise ShopApiError(f"WooCommerce answered {response.status_code}: {message}", response.status_code)
    return response


def shop_check(connection: ShopConnection) -> dict:
    """The store's settings the keys can read; ShopApiError if the keys are refused."""
    answer = _call(connection, "get", "system_status").json()
    return answer.get("settings", {}) if isinstance(answer, dict) else {}


def webhooks_register(connection: ShopConnection, *, address: str, topics: list[str]) -> list[int]:
    existing = {
        (w.get("topic"), w.get("delivery_url")): w.get("id")
        for w in _call(connection, "get", "webhooks", params={"per_page": PAGE_SIZE}).json()
    }
    ids = []
    for topic in topics:
        if (topic, address) in existing:
            ids.append(existing[(topic, address)])
            continue
        created = _call(
            connection,
            "post",
            "webhooks",
            data={
                "name": f"smsmarketing {topic}",
                "topic": topic,
                "delivery_url": address,
                "secret": connection.webhook_secret,
                "status": "active",
            },
        ).json()
        ids.append(created["id"])
    return ids


def resource_page(
    connection: ShopConnection, kind: str, *, cursor: str, since: datetime
) -> tuple[list[dict], str]:
    """One page (numbered from 1) and the next page's number ("" after the last)."""
    page = int(cursor or 1)
    params: dict[str, Any] = {"per_page": PAGE_SIZE, "page": page, "orderby": "id", "order": "asc"}
    if kind == "orders":
        params["after"] = since.strftime("%Y-%m-%dT%H:%M:%S")
    response = _call(connection, "get", kind, params=params)
    pages = int(response.headers.get("X-WP-TotalPages") or page)
    return response.json(), str(page + 1) if page < pages else ""


def coupons_create(
    connection: ShopConnection,
    *,
    codes: list[str],
    value_type: str,
    value: Decimal,
    minimum: Decimal | None,
    ends_at: datetime | None,
) -> dict[str, str]:
    """Single-use coupons in one batch request: each code and the error for it ("" if created)."""
    coupon: dict[str, Any] = {
        "discount_type": "percent" if value_type == "percentage" else "fixed_cart",
        "amount": str(abs(value)),
        "individual_use": True,
        "usage_limit": 1,
        "usage_limit_per_user": 1,
    }
    if minimum:
        coupon["minimum_amount"] = str(minimum)
    if ends_at is not None:
        coupon["date_expires_gmt"] = ends_at.strftime("%Y-%m-%dT%H:%M:%S")
    answer = _call(
        connection, "post", "coupons/batch", data={"create": [{**coupon, "code": code} for code in codes]}
    ).json()
    result = {}
    for code, created in zip(codes, answer.get("create", []), strict=False):
        error = created.get("error") if isinstance(created, dict) else None
        result[code] = (error or {}).get("message", "refused") if error else ""
    for code in codes[len(answer.get("create", [])) :]:
        result[code] = "no answer for this code"
    return result
