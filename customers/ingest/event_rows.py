"""Storing events: one multi-row INSERT per chunk that skips duplicate keys, then announced after commit.

Ingestion, the consent ledger and the app's own events (taps, replies) all store events here."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache

from django.db import connection, transaction

from customers.ingest.batches import CHUNK, chunks, param_limit
from customers.models import Customer, Event, Product, Store
from customers.signals import events_recorded

EVENT_COLUMNS = (
    "store", "customer", "type", "occurred_at", "received_at", "properties", "product", "idempotency_key",
)  # fmt: skip


def events_insert(events: list[Event], product_keys: list[str | None] | None = None) -> list[Event]:
    """Insert, skipping ids already stored (by anyone, even a concurrent request); returns the new rows.

    Each event without a product is joined to the store's product whose id `product_keys` names.
    """
    keys = product_keys or [None] * len(events)
    rows = [
        (
            e.store_id, e.customer_id, e.type, e.occurred_at, e.received_at, e.properties,
            e.product_id, e.idempotency_key, key,
        )
        for e, key in zip(events, keys, strict=True)
    ]  # fmt: skip
    ids = event_rows_insert(rows)
    stored: list[Event] = []
    for event in events:
        if event.idempotency_key in ids:
            event.pk, event.product_id = ids[event.idempotency_key]
            event._state.adding = False
            stored.append(event)
    return stored


def event_rows_insert(rows: list[tuple]) -> dict[str, tuple[int, int | None]]:
    """Insert rows of (store_id, customer_id, type, occurred_at, received_at, properties, product_id,
    idempotency_key, product_key); returns {idempotency_key: (id, product_id)} of those added.

    One statement per batch: ON CONFLICT DO NOTHING RETURNING gives exactly the rows this call added
    (the unique key is the last word on duplicates, so no retry or second lookup is needed).
    """
    insert = _events_insert_json if connection.vendor == "postgresql" else _events_insert_values
    ids: dict[str, tuple[int, int | None]] = {}
    with connection.cursor() as cursor:
        for chunk in chunks(rows, _rows_per_insert()):
            ids.update({key: (pk, product) for pk, key, product in insert(cursor, chunk)})
    return ids


def _rows_per_insert() -> int:
    if connection.vendor == "postgresql":
        return 10_000  # one JSON parameter whatever the size
    return min(CHUNK, param_limit() // (len(EVENT_COLUMNS) + 1))


@cache
def _column_names() -> str:
    return ", ".join(connection.ops.quote_name(Event._meta.get_field(n).column) for n in EVENT_COLUMNS)


def _events_insert_sql(source: str, columns: list[str]) -> str:
    table, products = Event._meta.db_table, Product._meta.db_table
    store, customer, kind, occurred, received, properties, product, key, product_key = columns
    names = _column_names()
    return (
        f"INSERT INTO {table} ({names}) "
        f"SELECT {store}, {customer}, {kind}, {occurred}, {received}, {properties}, "
        f"COALESCE({product}, p.id), {key} FROM {source} "
        f"LEFT JOIN {products} p ON p.store_id = {store} AND p.external_id = {product_key} "
        "WHERE true ON CONFLICT (store_id, idempotency_key) DO NOTHING "
        "RETURNING id, idempotency_key, product_id"
    )


# Each row's values as jsonb read them from one array per row, in the order of `event_rows_insert`.
EVENT_ARRAY = [
    "(r->>0)::bigint", "(r->>1)::bigint", "r->>2", "(r->>3)::timestamptz", "(r->>4)::timestamptz", "r->5",
    "(r->>6)::bigint", "r->>7", "r->>8",
]  # fmt: skip


def _events_insert_json(cursor, rows: list[tuple]) -> list[tuple]:
    """PostgreSQL: the batch as one jsonb parameter of arrays; the standard library's C encoder
    writes it, where a driver's per-value array quoting costs far more, and jsonb hands each
    row's properties over parsed once (json records with keyed fields were twice the text, and
    their properties were parsed twice)."""
    source = "jsonb_array_elements(%s::jsonb) AS r"
    records = [(r[0], r[1], r[2], r[3].isoformat(), r[4].isoformat(), r[5], r[6], r[7], r[8]) for r in rows]
    cursor.execute(_events_insert_sql(source, EVENT_ARRAY), [json.dumps(records)])
    return cursor.fetchall()


def _events_insert_values(cursor, rows: list[tuple]) -> list[tuple]:
    moment = connection.ops.adapt_datetimefield_value
    row = "(" + ", ".join(["%s"] * 9) + ")"
    source = f"(VALUES {', '.join([row] * len(rows))}) AS v"
    params = [
        value
        for r in rows
        for value in (r[0], r[1], r[2], moment(r[3]), moment(r[4]), json.dumps(r[5]), *r[6:])
    ]
    cursor.execute(_events_insert_sql(source, [f"v.column{i}" for i in range(1, 10)]), params)
    return cursor.fetchall()


def event_insert_known(
    row: tuple,
    *,
    external_id: str,
    phone: str,
    store_sql: tuple[str, str, list] | None = None,
    also: Callable[[str], tuple[str, list]] | None = None,
) -> tuple[int, int, int] | None:
    """One event of a customer already stored with this external id and phone (either may be
    empty), in one statement that finds the customer, joins the product and skips a stored key:
    (event id, customer id, store id), or None when no such customer exists or the key was stored
    already (the caller then takes the general path, which tells the two apart).

    `store_sql`, when given, names the store in SQL instead of the row's id: (a WITH clause, an
    expression for the store's id, their parameters), e.g. the store of an API key. `also`, given
    the name of the clause holding the stored row, returns a data-modifying statement and its
    parameters to run in the same statement (PostgreSQL), e.g. the customer's metrics."""
    store, _, kind, occurred, received, properties, _, key, product_key = row
    table, products, customers = Event._meta.db_table, Product._meta.db_table, Customer._meta.db_table
    names = _column_names()
    moment = connection.ops.adapt_datetimefield_value
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    clauses, clause_params, match, params = [], [], ["c.store_id = %s"], [store]
    if store_sql is not None:
        prefix, store_expression, clause_params = store_sql
        clauses, match, params = [prefix.removeprefix("WITH ")], [f"c.store_id = {store_expression}"], []
    for column, value in (("external_id", external_id), ("phone", phone)):
        if value:
            match, params = [*match, f"c.{column} = %s"], [*params, value]
    # an event naming no product (all but views) has none to join: a plan with one table less
    product, joined, product_params = "NULL", "", []
    if product_key is not None:
        product, product_params = "p.id", [product_key]
        joined = f"LEFT JOIN {products} p ON p.store_id = c.store_id AND p.external_id = %s "
    insert = (
        f"INSERT INTO {table} ({names}) SELECT c.store_id, c.id, %s, %s, %s, %s{cast}, {product}, %s "
        f"FROM {customers} c {joined}WHERE {' AND '.join(match)} "
        "ON CONFLICT (store_id, idempotency_key) DO NOTHING RETURNING id, customer_id, store_id"
    )
    values = [
        *clause_params, kind, moment(occurred), moment(received), json.dumps(properties), key,
        *product_params, *params,
    ]  # fmt: skip
    sql = insert
    if clauses or also is not None:
        clauses.append(f"stored AS ({insert})")
        if also is not None:
            statement, also_params = also("stored")
            clauses.append(f"also AS ({statement})")
            values += also_params
        sql = f"WITH {', '.join(clauses)} SELECT id, customer_id, store_id FROM stored"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        stored = cursor.fetchall()
    return stored[0] if len(stored) == 1 else None


def events_announce(store: Store, events: list[Event]) -> None:
    event_ids = [event.pk for event in events]
    if event_ids:
        transaction.on_commit(lambda: events_recorded.send(Event, store=store, event_ids=event_ids))
