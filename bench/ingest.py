"""Ingestion throughput against a raw bulk load of the same rows, on the configured database.

    python bench/ingest.py [--events 100000] [--batch 1000] [--customers N] [--history N]

The store starts with 500 products and `--history` earlier events (default: as many as the run
sends, loaded with COPY), so inserts meet real indexes, product joins and derived tables. Then:
  1. N events through `customers.ingest.events_ingest` in batches (validation, customer upsert,
     idempotency, product join, metrics, derived tables, signals);
  2. N other events as JSON POSTs to /api/v1/events with a Bearer API key, over a socket to a
     WSGI server in this process (request parsing, auth, the same service);
  3. the same N rows straight into the events table with PostgreSQL COPY (or a bulk INSERT on
     SQLite): the floor.
It prints each rate, its ratio to the floor and PASS/MISS against the goal (>= 5,000 events/s and
>= 0.2x the floor), with the machine's load. Everything lives in a throwaway store deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: E402

from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from customers.api.auth import api_key_create  # noqa: E402
from customers.ingest.customers import customers_upsert  # noqa: E402
from customers.ingest.events import events_ingest  # noqa: E402
from customers.ingest.products import products_upsert  # noqa: E402
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


def payloads(count: int, customers: int, now: datetime, seed: int = 7, prefix: str = "bench") -> list[dict]:
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
            "order_placed": {"order_id": f"{prefix}-o-{index}", "total": 19.5, "items": [item],
                             **({"discount_code": "SAVE10"} if index % 3 == 0 else {})},
            "sms_clicked": {"url": "https://shop.example.com/"},
        }[kind]  # fmt: skip
        events.append({
            "id": f"{prefix}-{index}", "type": kind,
            "occurred_at": (now - timedelta(seconds=rng.randrange(60 * 86400))).isoformat(),
            "customer": {"external_id": f"bench-c{who}", "phone": numbers[who]}, "properties": properties,
        })  # fmt: skip
    return events


@contextmanager
def server_heap():
    """Collections of the cyclic garbage collector skip the objects that exist before the timed run.

    This process also holds the history and every payload still to be sent (millions of objects),
    which a server's heap does not; each full collection during the run would walk them all (12-17 %
    of the run at 100k events). What the run itself allocates is still collected."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_ingest(store: Store, events: list[dict], batch: int, now: datetime) -> float:
    with server_heap():
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            events_ingest(store=store, payloads=events[start : start + batch], now=now)
        return time.perf_counter() - started


class _Quiet(WSGIRequestHandler):
    # The response goes out in small writes (status and headers, then the body); with Nagle's
    # algorithm each waits for the client's delayed ACK (up to 40 ms a request on Linux), a stall of
    # this test server that production servers (gunicorn, nginx) do not have.
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:
        pass


@contextmanager
def api_server(store: Store, batch: int):
    """A WSGI server on a real socket in this process; yields a function that POSTs events in
    batches as a store's system would (JSON body, Bearer key) and returns the seconds it took."""
    _, key = api_key_create(store=store, name="benchmark")
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(events: list[dict]) -> float:
        bodies = [json.dumps({"events": events[i : i + batch]}) for i in range(0, len(events), batch)]
        with server_heap():
            started = time.perf_counter()
            for body in bodies:
                client = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=300)
                client.request("POST", "/api/v1/events", body=body, headers=headers)
                response = client.getresponse()
                if response.status >= 300:
                    sys.exit(f"API answered {response.status}: {response.read()[:500]!r}")
                response.read()
                client.close()
            return time.perf_counter() - started

    try:
        warm = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=60)
        warm.request("GET", "/api/v1/events", headers=headers)  # loads the URLconf: not timed
        warm.getresponse().read()
        warm.close()
        yield post
    finally:
        server.shutdown()


def beside_floor(run, events: list[dict], rows: list[tuple], batch: int) -> tuple[float, float, str]:
    """(path seconds, floor seconds, floor label): the path and the floor in alternating slices, a
    tenth of the events through the path, then the same tenth's rows by COPY, so that both meet
    the same load on a shared machine (one floor measured once, before or after, swung 1.6x)."""
    size = max(batch, len(events) // ROUNDS // batch * batch)
    path = floor = 0.0
    for start in range(0, len(events), size):
        path += run(events[start : start + size])
        label, seconds = run_baseline(rows[start : start + size], batch)
        floor += seconds
    return path, floor, label


def products_make(store: Store, now: datetime) -> None:
    products_upsert(
        store=store,
        payloads=[
            {"id": f"sku-{i}", "name": f"Product {i}", "url": f"https://shop.example.com/p/{i}",
             "price": 19.5, "stock": 10, "category": ["Skincare", "Home", "Snacks"][i % 3]}
            for i in range(500)
        ],
        now=now,
    )  # fmt: skip


def history_load(store: Store, count: int, customers: int, now: datetime, batch: int) -> None:
    """Earlier events for the same customers, loaded fast so the run meets a table with a past."""
    earlier = payloads(count, customers, now - timedelta(days=60), seed=11, prefix="past")
    people = [{"external_id": f"bench-c{i}", "phone": phone} for i, phone in enumerate(phones(customers))]
    for start in range(0, customers, batch):
        customers_upsert(store=store, payloads=people[start : start + batch], now=now)
    run_baseline(baseline_rows(store, earlier, now, suffix=""), batch, bare=False)


def baseline_rows(store: Store, events: list[dict], now: datetime, suffix: str = "-raw") -> list[tuple]:
    ids = dict(Customer.objects.filter(store=store).values_list("external_id", "pk"))
    encoder = DjangoJSONEncoder()
    return [
        (
            store.pk, ids[e["customer"]["external_id"]], e["type"], datetime.fromisoformat(e["occurred_at"]),
            now, encoder.encode(e["properties"]), None, e["id"] + suffix,
        )
        for e in events
    ]  # fmt: skip


COLUMNS = "store_id, customer_id, type, occurred_at, received_at, properties, product_id, idempotency_key"


def run_baseline(rows: list[tuple], batch: int, *, bare: bool = True) -> tuple[str, float]:
    """The same rows loaded with no checks at all: the floor any ingestion path is measured against.

    `bare` loads them without the triggers that fill the derived tables (the floor is the event
    rows alone; what the triggers cost is part of what ingestion is measured for); switching the
    triggers off and on is not timed. The foreign keys are checked and the load committed."""
    switching = 0.0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if bare:
                switching += _seconds(cursor, f"ALTER TABLE {Event._meta.db_table} DISABLE TRIGGER USER")
            with cursor.cursor.copy(f"COPY {Event._meta.db_table} ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            if bare:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                switching += _seconds(cursor, f"ALTER TABLE {Event._meta.db_table} ENABLE TRIGGER USER")
            label = "PostgreSQL COPY"
        else:
            sql = f"INSERT INTO {Event._meta.db_table} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            for start in range(0, len(rows), batch):
                cursor.executemany(sql, rows[start : start + batch])
            label = f"{connection.vendor} bulk INSERT"
    return label, time.perf_counter() - started - switching


def _seconds(cursor, sql: str) -> float:
    started = time.perf_counter()
    cursor.execute(sql)
    return time.perf_counter() - started


GOAL_RATE, GOAL_RATIO = 5_000, 0.2
ROUNDS = 10


def _verdict(rate: float, ratio: float) -> str:
    rate_ok, ratio_ok = rate >= GOAL_RATE, ratio >= GOAL_RATIO
    return f"{'PASS' if rate_ok else 'MISS'} rate, {'PASS' if ratio_ok else 'MISS'} ratio"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--customers", type=int, help="distinct customers (default: events / 10)")
    parser.add_argument("--history", type=int, help="earlier events already stored (default: --events)")
    args = parser.parse_args()
    customers = args.customers or max(1, args.events // 10)
    history = args.events if args.history is None else args.history
    if Store._meta.db_table not in connection.introspection.table_names():
        sys.exit("The database has no tables yet: run `python manage.py migrate` first.")
    now = datetime.now(UTC).replace(microsecond=0)
    store = Store.objects.create(
        slug=f"bench-{uuid.uuid4().hex[:8]}", brand_name="Benchmark", site_url="https://shop.example.com"
    )
    try:
        print(
            f"{connection.vendor}: {args.events:,} events per path, {customers:,} customers, "
            f"batches of {args.batch}, 500 products, {history:,} earlier events; load {_load()}"
        )
        products_make(store, now)
        if history:
            history_load(store, history, customers, now, args.batch)
        events = payloads(args.events, customers, now)
        posted = payloads(args.events, customers, now, seed=8, prefix="http")
        function = beside_floor(
            lambda part: run_ingest(store, part, args.batch, now),
            events, baseline_rows(store, events, now), args.batch,
        )  # fmt: skip
        with api_server(store, args.batch) as post:
            api = beside_floor(post, posted, baseline_rows(store, posted, now), args.batch)
        print(f"{'path':<40}{'seconds':>9}{'events/s':>10}{'x floor':>9}  goal: >= {GOAL_RATE:,} ev/s, "
              f">= {GOAL_RATIO}x floor")  # fmt: skip
        for name, (seconds, floor_seconds, label) in (
            ("events_ingest (function)", function),
            ("POST /api/v1/events (HTTP)", api),
        ):
            rate, floor = args.events / seconds, args.events / floor_seconds
            verdict = _verdict(rate, rate / floor)
            print(f"{name:<40}{seconds:>9.2f}{rate:>10,.0f}{rate / floor:>9.2f}  {verdict}")
            print(f"{'  its floor: ' + label:<40}{floor_seconds:>9.2f}{floor:>10,.0f}{1:>9.2f}  "
                  "(the same rows, in slices alternating with the path's)")  # fmt: skip
        print(f"load average (1, 5, 15 min) {_load()} on {os.cpu_count()} cores")
    finally:
        with connection.cursor() as cursor:
            # the derived rows go with their events; deleting through the ORM would load them all
            for model in ("eventitem", "eventlast", "event"):
                cursor.execute(f"DELETE FROM customers_{model} WHERE store_id = %s", [store.pk])
        store.delete()


if __name__ == "__main__":
    main()
