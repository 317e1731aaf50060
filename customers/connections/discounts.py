"""Single-use discount codes created in a connected shop: what campaigns calls, whatever the shop.

Shopify creates codes in a background job on a price rule (the offer's value, minimum and
expiry, each code good for one use); WooCommerce creates coupons in one batch request. Either way
the answer is each code with the shop's error for it ("" when created); a Shopify job still
running is a `pending` reference to ask about again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from customers.connections import shopify_client, woo_client
from customers.connections.models import ShopConnection
from customers.connections.shopify_client import ShopApiError
from customers.models import Store

__all__ = ["CodeSpec", "Issued", "ShopApiError", "code_shop", "codes_check", "codes_create"]


@dataclass(frozen=True)
class CodeSpec:
    title: str
    value_type: str  # "percentage" or "fixed_amount"
    value: Decimal
    minimum: Decimal | None = None
    ends_at: datetime | None = None


@dataclass
class Issued:
    results: dict[str, str] = field(default_factory=dict)  # code → the shop's error, "" if created
    pending: dict[str, str] = field(default_factory=dict)  # code → reference of a job still running


def code_shop(store: Store) -> ShopConnection | None:
    """The store's connection that can create codes (an API connection, not webhooks only)."""
    return (
        ShopConnection.objects.filter(store=store, webhooks_only=False)
        .exclude(access_token="")
        .order_by("pk")
        .first()
    )


def codes_create(*, store: Store, spec: CodeSpec, codes: list[str], now: datetime) -> Issued:
    """Create these codes in the store's shop. Raises ShopApiError when the shop refuses the whole
    request or cannot be reached (the codes are then not created)."""
    connection = code_shop(store)
    if connection is None:
        return Issued(results=dict.fromkeys(codes, "no shop connected that can create codes"))
    if connection.platform == ShopConnection.Platform.WOOCOMMERCE:
        issued = Issued()
        for start in range(0, len(codes), woo_client.CODES_PER_BATCH):
            issued.results.update(
                woo_client.coupons_create(
                    connection,
                    codes=codes[start : start + woo_client.CODES_PER_BATCH],
                    value_type=spec.value_type,
                    value=spec.value,
                    minimum=spec.minimum,
                    ends_at=spec.ends_at,
                )
            )
        return issued
    rule = shopify_client.price_rule_create(
        connection,
        title=spec.title,
        value_type=spec.value_type,
        value=spec.value,
        minimum=spec.minimum,
        starts_at=now - timedelta(minutes=1),
        ends_at=spec.ends_at,
    )
    issued = Issued()
    for start in range(0, len(codes), shopify_client.CODES_PER_BATCH):
        chunk = codes[start : start + shopify_client.CODES_PER_BATCH]
        batch = shopify_client.codes_batch_create(connection, price_rule_id=rule, codes=chunk)
        issued.pending.update(dict.fromkeys(chunk, f"{rule}:{batch}"))
    return codes_check(store=store, pending=issued.pending)


def codes_check(*, store: Store, pending: dict[str, str]) -> Issued:
    """Ask again about codes whose Shopify job was still running."""
    connection = code_shop(store)
    issued = Issued()
    for reference in sorted(set(pending.values())):
        codes = [code for code, ref in pending.items() if ref == reference]
        rule, _, batch = reference.partition(":")
        result = (
            shopify_client.codes_batch_result(connection, price_rule_id=int(rule), batch_id=int(batch))
            if connection is not None
            else dict.fromkeys(codes, "no shop connected that can create codes")
        )
        if result is None:
            issued.pending.update(dict.fromkeys(codes, reference))
            continue
        for code in codes:
            issued.results[code] = result.get(code, "the shop's job did not create this code")
    return issued
