"""Building blocks the segment compiler shares between profile and event conditions: column, list and
JSON conditions, event and product filters within a window, and the SQL of events of products."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import NotSupportedError
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Expression,
    F,
    Func,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTransform

from customers.models import Event, EventItem, Product


def column_condition(field: str, op: str, value: Any, *, nullable: bool, numeric: bool = False) -> Q:
    if op == "is_set":
        return Q(**{f"{field}__isnull": False}) if numeric or nullable else ~Q(**{field: ""})
    if op == "is_not_set":
        return Q(**{f"{field}__isnull": True}) if numeric or nullable else Q(**{field: ""})
    if op == "between":
        return Q(**{f"{field}__gte": value[0], f"{field}__lte": value[1]})
    lookup, negate = {
        "eq": ("exact", False),
        "neq": ("exact", True),
        "contains": ("icontains", False),
        "not_contains": ("icontains", True),
        "starts_with": ("istartswith", False),
        "in": ("in", False),
        "not_in": ("in", True),
        "gt": ("gt", False),
        "gte": ("gte", False),
        "lt": ("lt", False),
        "lte": ("lte", False),
    }[op]
    q = Q(**{f"{field}__{lookup}": value})
    return ~q if negate else q


def offer_sensitive_q() -> Q:
    """An offer lifts them by PREDICTIONS_OFFER_SENSITIVE_POINTS or more, where the store's offer tests
    gave them an uplift (customers/predictions/); elsewhere the rule: half or more of their orders
    used a code."""
    points = settings.PREDICTIONS_OFFER_SENSITIVE_POINTS / 100
    learned = Q(prediction__offer_uplift__gte=points)
    rule = Q(prediction__offer_uplift__isnull=True, discount_order_share__gte=0.5)
    return learned | rule


def list_condition(field: str, op: str, value: Any) -> Q:
    """A JSON list of texts: topics are fixed lower-case names; categories are compared without case."""
    if op in ("is_empty", "is_not_empty"):
        q = Q(**{field: []})
        return q if op == "is_empty" else ~q
    q = Q(ListHas(field, value, ignore_case=field != "topics"))
    return ~q if op == "has_not" else q


class ListHas(Func):
    """True when the JSON list in `field` holds `value`; `ignore_case` for free-text lists."""

    output_field = BooleanField()

    def __init__(self, field: str, value: str, *, ignore_case: bool):
        super().__init__(F(field), Value(value))
        self.value = value
        self.ignore_case = ignore_case

    def _parts(self, compiler):
        column, column_params = compiler.compile(self.source_expressions[0])
        value, value_params = compiler.compile(self.source_expressions[1])
        return column, column_params, value, value_params

    def as_sqlite(self, compiler, connection, **extra):
        column, column_params, value, value_params = self._parts(compiler)
        test = f"lower(e.value) = lower({value})" if self.ignore_case else f"e.value = {value}"
        return f"EXISTS (SELECT 1 FROM json_each({column}) AS e WHERE {test})", [
            *column_params,
            *value_params,
        ]

    def as_postgresql(self, compiler, connection, **extra):
        column, column_params, value, value_params = self._parts(compiler)
        if not self.ignore_case:
            # containment can use a GIN index and needs no unnesting
            return f"{column} @> %s::jsonb", [*column_params, json.dumps([self.value])]
        elements = f"CASE WHEN jsonb_typeof({column}) = 'array' THEN {column} ELSE '[]'::jsonb END"
        sql = (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements_text({elements}) AS e "
            f"WHERE lower(e) = lower({value}))"
        )
        return sql, [*column_params, *column_params, *value_params]

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("segments read JSON lists on SQLite and PostgreSQL only")


def json_path(column: str, dotted: str) -> KeyTransform:
    expression: Any = column
    for key in dotted.split("."):
        expression = KeyTransform(key, expression)
    return expression


def outer_name(dotted: str) -> str:
    return "properties__" + "__".join(dotted.split("."))


def lookup(lhs: KeyTransform, name: str, rhs: Any):
    return lhs.get_lookup(name)(lhs, rhs)


def json_condition(column: str, dotted: str, op: str, value: Any) -> Q:
    """A JSON property: missing keys never match, except for `neq` and `not_exists`."""
    path = column + "__" + "__".join(dotted.split("."))
    present = Q(**{f"{path}__isnull": False})
    if op == "exists":
        return present
    if op == "not_exists":
        return ~present
    if op == "neq":
        return ~(present & Q(**{f"{path}__exact": value}))
    lookup = {"eq": "exact", "contains": "icontains", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}[op]
    return present & Q(**{f"{path}__{lookup}": value})


@dataclass(frozen=True)
class Scope:
    """Which events a filter looks at: a store, a type and a time range."""

    store_id: int
    event_type: str
    since: datetime | None
    until: datetime


def event_filters(filters: list[dict], *, scope: Scope) -> Q:
    q = Q()
    for item in filters:
        q &= event_filter(item["property"], item.get("op", "eq"), item.get("value"), scope=scope)
    return q


PRODUCT_COLUMNS = {
    "product": ["external_id"],
    "category": ["category__external_id", "category__name"],
    "margin_class": ["margin_class"],
}


def event_filter(prop: str, op: str, value: Any, *, scope: Scope) -> Q:
    """`product`, `category` and `margin_class` match the event's product or any product among its
    `items` (orders, carts); anything else is one of its properties."""
    if prop in PRODUCT_COLUMNS:
        return product_filter(prop, op, value, scope=scope)
    return json_condition("properties", prop, op, value)


def product_filter(prop: str, op: str, value: Any, *, scope: Scope) -> Q:
    present = Q(**{"product__category__isnull" if prop == "category" else "product__isnull": False})
    if op == "exists":
        return present
    if op == "not_exists":
        return ~present
    if op == "neq":
        return ~product_filter(prop, "eq", value, scope=scope)
    return Q(pk__in=EventsOfProducts(scope, products_matching(prop, op, value, scope=scope)))


PRODUCT_LOOKUPS = {
    "eq": "iexact", "contains": "icontains", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte",
}  # fmt: skip


def products_matching(prop: str, op: str, value: Any, *, scope: Scope) -> QuerySet[Product]:
    q = Q()
    for column in PRODUCT_COLUMNS[prop]:
        q |= Q(**{f"{column}__{PRODUCT_LOOKUPS[op]}": value})
    return Product.objects.filter(store_id=scope.store_id).filter(q)


def by_product_alone(filters: list[dict]) -> bool:
    """One filter, on the product's own columns, that some product must match."""
    return (
        len(filters) == 1
        and filters[0]["property"] in PRODUCT_COLUMNS
        and filters[0].get("op", "eq") in PRODUCT_LOOKUPS
    )


class EventsOfProducts(Expression):
    """Ids of the scope's events about one of `products`: as the event's own product, or listed in
    its `properties.items` by `product_id` (read from the event-item table, not unnested per event).
    """

    output_field = BigIntegerField()

    def __init__(self, scope: Scope, products: QuerySet):
        super().__init__()
        self.scope = scope
        self.ids = Subquery(products.values("pk"))
        self.external_ids = Subquery(products.values("external_id"))

    def get_source_expressions(self):
        return [self.ids, self.external_ids]

    def set_source_expressions(self, exprs):
        self.ids, self.external_ids = exprs

    def _own_product(self, compiler, connection) -> tuple[str, list]:
        ids, ids_params = compiler.compile(self.ids)
        scope, scope_params = self._scope(connection)
        return (
            f"SELECT ev.id FROM {Event._meta.db_table} ev WHERE {scope} AND ev.product_id IN {ids}",
            [*scope_params, *ids_params],
        )

    def _scope(self, connection) -> tuple[str, list]:
        adapt = connection.ops.adapt_datetimefield_value
        sql, params = (
            "ev.store_id = %s AND ev.type = %s AND ev.occurred_at <= %s",
            [
                self.scope.store_id,
                self.scope.event_type,
                adapt(self.scope.until),
            ],
        )
        if self.scope.since is not None:
            sql, params = sql + " AND ev.occurred_at >= %s", [*params, adapt(self.scope.since)]
        return sql, params

    def as_sql(self, compiler, connection, **extra):
        own, own_params = self._own_product(compiler, connection)
        products, product_params = compiler.compile(self.external_ids)
        scope, scope_params = self._scope(connection)
        sql = (
            f"({own} UNION ALL "
            f"SELECT ev.event_id FROM {EventItem._meta.db_table} ev "
            f"WHERE {scope} AND ev.product_external_id IN {products})"
        )
        return sql, [*own_params, *scope_params, *product_params]
