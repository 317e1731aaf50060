"""A generated store whose customers' true behaviour is known: the predictions' test and bench data.

Each customer joins on some day, orders at their own steady rate (a Poisson process) until the
day they quietly stop, and clicks texts and views products while they are active. The average-gap
rule sees only the orders; a model that also reads recent clicks and views should tell the ones
who stopped from the ones between two orders.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection

from customers.models import Customer, CustomerPrediction, Event, PredictionRun, Store
from customers.tests.stores import NOW, store_make

HISTORY_DAYS = 240
WRITE_EVERY = 200_000
DAY = 86400.0


def _times(rng: np.random.Generator, rate: float, start: float, end: float) -> np.ndarray:
    if end <= start:
        return np.zeros(0)
    return np.sort(rng.uniform(start, end, rng.poisson(rate * (end - start))))


def predicted_store_fill(*, store: Store, customers: int, now: datetime, seed: int = 7) -> int:
    """`customers` customers and their events up to `now`; returns the number of events."""
    rng = np.random.default_rng(seed)
    joined = rng.uniform(0, HISTORY_DAYS - 20, customers)  # days after the history starts
    rate = rng.gamma(2.0, 1 / 50, customers)  # orders a day: a 25-day mean gap
    stopped = joined + rng.exponential(120, customers)  # quietly gone from this day on
    start = now - timedelta(days=HISTORY_DAYS)
    rows: list[tuple] = []
    written = 0
    for customer, j, r, s in zip(_customers_make(store, customers), joined, rate, stopped, strict=True):
        if len(rows) >= WRITE_EVERY:  # a million customers' events are never all in memory at once
            _events_write(store, rows)
            written, rows = written + len(rows), []
        active_until = min(s, HISTORY_DAYS)
        kinds = (
            ("order_placed", _times(rng, r, j, active_until)),
            ("sms_clicked", _times(rng, 1.5 * r + 0.02, j, active_until)),
            ("product_viewed", _times(rng, 3 * r + 0.05, j, active_until)),
        )
        for kind, days in kinds:
            for n, day in enumerate(days.tolist()):
                properties = {}
                if kind == "order_placed":
                    properties = {"order_id": f"{customer.pk}-{n}", "total": round(20 + 1500 * r, 2)}
                    if rng.random() < 0.3:
                        properties["discount_code"] = "SAVE10"
                rows.append(
                    (customer.pk, kind, start + timedelta(days=day), properties, f"{kind}:{customer.pk}:{n}")
                )
    _events_write(store, rows)
    return written + len(rows)


def _customers_make(store: Store, customers: int):
    """The customers, created a chunk at a time as the events are generated."""
    for first in range(0, customers, 50_000):
        yield from Customer.objects.bulk_create(
            [
                Customer(store=store, phone=f"+1555{i:07d}", first_name=f"C{i}", timezone="America/New_York",
                         timezone_source=Customer.TimezoneSource.STORE)
                for i in range(first, min(first + 50_000, customers))
            ],
            batch_size=5_000,
        )  # fmt: skip


def _events_write(store: Store, rows: list[tuple]) -> None:
    """COPY on PostgreSQL (the bench writes millions), batched inserts elsewhere."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(
            [
                Event(
                    store=store,
                    customer_id=c,
                    type=t,
                    occurred_at=at,
                    received_at=at,
                    properties=p,
                    idempotency_key=key,
                )
                for c, t, at, p, key in rows
            ],
            batch_size=5_000,
        )
        return
    columns = "store_id, customer_id, type, occurred_at, received_at, properties, idempotency_key"
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {Event._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for c, t, at, p, key in rows:
            copy.write_row((store.pk, c, t, at, at, json.dumps(p), key))


def scored_store_make() -> Store:
    """Four customers scored by hand (band, chance of an order, predicted value) and one not scored."""
    store = store_make("scored")
    run = PredictionRun.objects.create(store=store, started_at=NOW, finished_at=NOW)
    people = {}
    for name, band, chance, value in (
        ("ann", "high", 0.05, "20"),
        ("bob", "low", 0.80, "900"),
        ("cid", "medium", 0.40, "300"),
        ("dee", "high", 0.10, "50"),
    ):
        customer = Customer.objects.create(
            store=store,
            phone=f"+1555000{len(people):04d}",
            first_name=name,
            timezone="UTC",
            timezone_source="store",
        )
        CustomerPrediction.objects.create(
            customer=customer,
            store=store,
            run=run,
            churn_band=band,
            order_probability=chance,
            predicted_value=Decimal(value),
            scored_at=NOW,
        )
        people[name] = customer
    Customer.objects.create(
        store=store, phone="+15559999999", first_name="new", timezone="UTC", timezone_source="store"
    )
    return store


def order_days_ago(customer: Customer, days_ago: int) -> Event:
    """An order of 40, `days_ago` days before NOW (unsaved)."""
    at = NOW - timedelta(days=days_ago)
    return Event(store=customer.store, customer=customer, type="order_placed", occurred_at=at, received_at=at,
                 properties={"order_id": f"{customer.pk}-{days_ago}", "total": 40},
                 idempotency_key=f"o{customer.pk}-{days_ago}")  # fmt: skip
