"""Ingestion throughput against a raw bulk load of the same rows, on the configured database.

    python bench/ingest.py [--events 100000] [--batch 1000] [--customers N]

Sends N events through `customers.ingest.events_ingest` in batches (validation, customer upsert,
idempotency, metrics, signals), then loads the same rows straight into the events table with
PostgreSQL COPY (or a bulk INSERT on SQLite), and prints both rates and their ratio. Everything it
creates lives in a throwaway store that is deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")

import django  # noqa: E402

django.setup()

from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from customers.ingest import events_ingest  # noqa: E402
from customers.models import Customer, Event, Store  # noqa: E402

AREA_CODES = ["212", "305", "312", "404", "415", "512", "602", "617", "713", "206", "303", "503"]
TYPES = ["product_viewed"] * 5 + ["cart_updated"] * 2 + ["checkout_started", "order_placed", "sms_clicked"]


def phones(count: int) -> list[str]:
    """Distinct valid North American numbers (exchanges 201-999 in real area codes)."""
    numbers = []
    for index in range(count):
        area = AREA_CODES[index % len(AREA_CODES)]
        rest = index // len(AREA_CODES)
        numbers.append(f"+1{area}{201 + rest // 10000:03d}{rest % 10000:04d}")
    return numbers


def payloads(count: int, customers: int, now: datetime, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    numbers = phones(customers)
    events = []
    for index in range(count):
        who = rng.randrange(customers)
        kind = rng.choice(TYPES)
        product = f"sku-{rng.randrange(500)}"
        item = {"product_id": product, "name": f"Product {product}", "price": 19.5, "quantity": 1}
        properties = {
            "product_viewed": {"product_id": product},
            "cart_updated": {"cart_id": f"cart-{who}", "cart_url": f"https://shop.example.com/cart/{who}",
                             "items": [item]},
            "checkout_started": {"checkout_id": f"co-{who}", "cart_id": f"cart-{who}",
                                 "checkout_url": f"https://shop.example.com/checkout/{who}", "items": [item]},
            "order_placed": {"order_id": f"o-{index}", "total": 19.5, "items": [item],
                             **({"discount_code": "SAVE10"} if index % 3 == 0 else {})},
            "sms_clicked": {"url": "https://shop.example.com/"},
        }[kind]  # fmt: skip
        events.append({
            "id": f"bench-{index}", "type": kind,
            "occurred_at": (now - timedelta(seconds=rng.randrange(60 * 86400))).isoformat(),
            "customer": {"external_id": f"bench-c{who}", "phone": numbers[who]}, "properties": properties,
        })  # fmt: skip
    return events


def run_ingest(store: Store, events: list[dict], batch: int, now: datetime) -> float:
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        events_ingest(store=store, payloads=events[start : start + batch], now=now)
    return time.perf_counter() - started


def baseline_rows(store: Store, events: list[dict], now: datetime) -> list[tuple]:
    ids = dict(Customer.objects.filter(store=store).values_list("external_id", "pk"))
    encoder = DjangoJSONEncoder()
    return [
        (
            store.pk, ids[e["customer"]["external_id"]], e["type"], datetime.fromisoformat(e["occurred_at"]),
            now, encoder.encode(e["properties"]), None, e["id"] + "-raw",
        )
        for e in events
    ]  # fmt: skip


COLUMNS = "store_id, customer_id, type, occurred_at, received_at, properties, product_id, idempotency_key"


def run_baseline(rows: list[tuple], batch: int) -> tuple[str, float]:
    """The same rows loaded with no checks at all: the floor any ingestion path is measured against."""
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {Event._meta.db_table} ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            label = "PostgreSQL COPY"
        else:
            sql = f"INSERT INTO {Event._meta.db_table} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            for start in range(0, len(rows), batch):
                cursor.executemany(sql, rows[start : start + batch])
            label = f"{connection.vendor} bulk INSERT"
    return label, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--customers", type=int, help="distinct customers (default: events / 10)")
    args = parser.parse_args()
    customers = args.customers or max(1, args.events // 10)
    if Store._meta.db_table not in connection.introspection.table_names():
        sys.exit("The database has no tables yet: run `python manage.py migrate` first.")
    now = datetime.now(UTC).replace(microsecond=0)
    store = Store.objects.create(
        slug=f"bench-{uuid.uuid4().hex[:8]}", brand_name="Benchmark", site_url="https://shop.example.com"
    )
    try:
        print(
            f"{connection.vendor}: {args.events:,} events, {customers:,} customers, batches of {args.batch}"
        )
        events = payloads(args.events, customers, now)
        ingest_seconds = run_ingest(store, events, args.batch, now)
        stored = Event.objects.filter(store=store).count()
        label, baseline_seconds = run_baseline(baseline_rows(store, events, now), args.batch)
        ingest_rate, baseline_rate = args.events / ingest_seconds, args.events / baseline_seconds
        print(f"{'path':<28}{'seconds':>10}{'events/s':>12}")
        print(f"{'events_ingest':<28}{ingest_seconds:>10.2f}{ingest_rate:>12,.0f}")
        print(f"{label:<28}{baseline_seconds:>10.2f}{baseline_rate:>12,.0f}")
        print(f"ratio (ingest / {label}): {ingest_rate / baseline_rate:.2f}x")
        print(f"({stored:,} events stored by ingest)")
    finally:
        Event.objects.filter(store=store).delete()
        store.delete()


if __name__ == "__main__":
    main()
