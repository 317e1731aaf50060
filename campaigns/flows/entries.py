"""Who may enter a flow: the `Entry` every trigger's selector returns, and what selectors share
(trigger filters, the catalogue of products an event names, the context a run keeps).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import (
    FloatField,
    Func,
    Q,
    TextField,
)
from django.db.models.functions import Cast

from campaigns.content.templating import format_money
from campaigns.models import FlowTriggerFilter
from customers.models import Event, Product, Store

CART_FLOW_IDS = ("cart_id", "checkout_id")
MIN_LEARNED_INTERVALS = 5


@dataclass
class Entry:
    customer_id: int
    trigger_key: str
    entered_at: datetime
    context: dict = field(default_factory=dict)
    event_id: int | None = None
    cart_id: str = ""
    checkout_id: str = ""


class Epoch(Func):
    """Seconds since 1970 for a datetime column, on SQLite and PostgreSQL alike."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        )


# --- shared helpers -------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def filter_matches(rule: FlowTriggerFilter, properties: dict) -> bool:
    have = properties.get(rule.property)
    if rule.op == FlowTriggerFilter.Op.PRESENT:
        return have not in (None, "", [], {})
    if rule.op == FlowTriggerFilter.Op.NE:
        return str(have) != rule.value
    if have is None:
        return False
    if rule.op == FlowTriggerFilter.Op.CONTAINS:
        return rule.value.lower() in str(have).lower()
    if rule.op in (FlowTriggerFilter.Op.GTE, FlowTriggerFilter.Op.LTE):
        left, right = _decimal(have), _decimal(rule.value)
        if left is None or right is None:
            return False
        return left >= right if rule.op == FlowTriggerFilter.Op.GTE else left <= right
    if isinstance(have, bool):
        return str(have).lower() == rule.value.lower()
    return str(have) == rule.value


class Catalog:
    """The store's products an event batch mentions, loaded in one query."""

    def __init__(self, store: Store, events: Iterable[Event]) -> None:
        ids, external = set(), set()
        for event in events:
            if event.product_id:
                ids.add(event.product_id)
            external.update(_item_product_ids(event.properties))
            if event.properties.get("product_id") is not None:
                external.add(str(event.properties["product_id"]))
        products = Product.objects.filter(store=store).filter(Q(id__in=ids) | Q(external_id__in=external))
        products = list(products.select_related("category"))
        self.by_id = {p.id: p for p in products}
        self.by_external = {p.external_id: p for p in products}

    def products_of(self, event: Event) -> list[Product]:
        found = [self.by_id[event.product_id]] if event.product_id in self.by_id else []
        refs = [str(event.properties.get("product_id") or ""), *_item_product_ids(event.properties)]
        for ref in refs:
            product = self.by_external.get(ref)
            if product and product not in found:
                found.append(product)
        return found


def _item_product_ids(properties: dict) -> list[str]:
    items = properties.get("items")
    if not isinstance(items, list):
        return []
    return [str(i["product_id"]) for i in items if isinstance(i, dict) and i.get("product_id") is not None]


def product_context(product: Product) -> dict[str, str]:
    return {
        "product_name": product.name,
        "product_link": product.url,
        "category_name": product.category.name if product.category_id else "",
        "product_tip": product.usage_tip,
    }


def event_context(store: Store, event: Event, catalog: Catalog) -> dict[str, str]:
    props = event.properties
    context: dict[str, str] = {}
    if props.get("cart_url") or props.get("checkout_url"):
        context["cart_link"] = str(props.get("cart_url") or props.get("checkout_url"))
    if props.get("checkout_url"):
        context["checkout_link"] = str(props["checkout_url"])
    products = catalog.products_of(event)
    if products:
        context.update(product_context(products[0]))
    elif isinstance(props.get("items"), list) and props["items"] and isinstance(props["items"][0], dict):
        context["product_name"] = str(props["items"][0].get("name") or "")
    if event.type == "reward_balance_changed" and _decimal(props.get("balance")) is not None:
        context["reward_amount"] = format_money(_decimal(props["balance"]), store.currency)
    if store.rewards_url:
        context["redeem_link"] = store.rewards_url
    for key in CART_FLOW_IDS + ("order_id",):
        if props.get(key) not in (None, ""):
            context[key] = str(props[key])
    return context


def _mentions_products(products: Iterable[Product]) -> Q:
    """Events naming one of the products, by foreign key or in their `items` list.

    `items` is a JSON array; a containment lookup is not portable to SQLite, so the JSON text is
    searched for the `"product_id": "<id>"` pair both databases print the same way.
    """
    products = list(products)
    q = Q(product_id__in=[p.id for p in products])
    for p in products:
        q |= Q(properties_text__contains=f'"product_id": "{p.external_id}"')
        if p.external_id.isdigit():
            q |= Q(properties_text__contains=f'"product_id": {p.external_id}')
    return q


def _events_with_text():
    return Event.objects.annotate(properties_text=Cast("properties", TextField()))
