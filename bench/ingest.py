"""Ingestion throughput against raw floors measured in the same run, at batch sizes 1, 10 and 1,000.

    python bench/ingest.py [--events 100000] [--batch 1000] [--customers N] [--history N]
                           [--singles 3000] [--senders 8,50] [--workers N]

The store starts with 500 products and `--history` earlier events (default: as many as the run
sends, loaded with COPY), so inserts meet real indexes, product joins and derived tables. Then:
  1. batches of 1,000: N events through `customers.ingest.events_ingest`, and N other events as
     JSON POSTs to /api/v1/events through gunicorn (the production server), beside the same rows
     loaded with PostgreSQL COPY (a bulk INSERT on SQLite) in alternating slices: >= 5,000 events/s
     and >= 0.2x the floor;
  2. one event per POST, as webhooks bring them, from 8 and from 50 concurrent senders, beside a
     minimal view under the same gunicorn that stores the same row in one statement (the floor,
     bench/floor_app.py), in alternating rounds: >= 0.5x the floor's rate and p95 <= 20 ms at 8
     senders (50 is shown);
  3. ten events per POST from 8 senders, shown beside the same floor's rate per event.
It prints each figure with its verdict (PASS/MISS) and the machine's load. Everything lives in a
throwaway store deleted at the end.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import itertools
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common  # noqa: E402
from senders import senders  # noqa: E402

common.django_setup()

from django.core.serializers.json import DjangoJSONEncoder  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django_q.models import OrmQ  # noqa: E402
from django_q.signing import SignedPackage  # noqa: E402

from customers.api.auth import api_key_create  # noqa: E402
from customers.connections.models import ShopConnection, WebhookDelivery  # noqa: E402
from customers.connections.process import deliveries_process  # noqa: E402
from customers.connections.receive import PROCESS_TASK  # noqa: E402
from customers.connections.signing import body_signature  # noqa: E402
from customers.ingest.customers import customers_upsert  # noqa: E402
from customers.ingest.events import events_ingest  # noqa: E402
from customers.ingest.products import products_upsert  # noqa: E402
from customers.models import Customer, Event, Store  # noqa: E402
from harness.shop_payloads import shopify_customer, shopify_line, shopify_order  # noqa: E402

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
    of the run at 100k events). What the run itself allocates is still collected, as in gunicorn's
    workers, which freeze the loaded app the same way (gunicorn.conf.py)."""
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


BENCH = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(store: Store, workers: int):
    """The project under gunicorn with production's settings (gunicorn.conf.py: threads per worker),
    `workers` processes, no access log, and the floor view beside the API; yields the port."""
    port = free_port()
    env = {**os.environ, "BENCH_FLOOR_STORE": str(store.pk), "LOG_LEVEL": "WARNING"}
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(common.ROOT / "gunicorn.conf.py"),
        "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--access-logfile", os.devnull,
        "--pythonpath", str(BENCH), "--log-level", "warning", "floor_app:application",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=common.ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("gunicorn did not start")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def post_once(port: int, path: str, body: bytes, headers: dict) -> float:
    started = time.perf_counter()
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    client.request("POST", path, body=body, headers=headers)
    response = client.getresponse()
    answer = response.read()
    client.close()
    if response.status >= 300:
        sys.exit(f"{path} answered {response.status}: {answer[:500]!r}")
    return time.perf_counter() - started


def post_batches(port: int, key: str, batch: int):
    """A function that POSTs events in batches, one after another as a store's system would, and
    returns the seconds it took."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def post(events: list[dict]) -> float:
        bodies = [
            json.dumps({"events": events[i : i + batch]}).encode() for i in range(0, len(events), batch)
        ]
        with server_heap():
            started = time.perf_counter()
            for body in bodies:
                post_once(port, "/api/v1/events", body, headers)
            return time.perf_counter() - started

    return post


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
GOAL_SINGLE_RATIO, GOAL_SINGLE_P95_MS, GOAL_SENDERS = 0.5, 20.0, 8
ROUNDS = 10
SINGLE_ROUNDS = 3


def _verdict(rate: float, ratio: float) -> str:
    rate_ok, ratio_ok = rate >= GOAL_RATE, ratio >= GOAL_RATIO
    return f"{common.verdict(rate_ok)} rate, {common.verdict(ratio_ok)} ratio"


def batches_of_1000(store: Store, args, now: datetime, port: int, key: str) -> None:
    events = payloads(args.events, args.customers, now)
    posted = payloads(args.events, args.customers, now, seed=8, prefix="http")
    function = beside_floor(
        lambda part: run_ingest(store, part, args.batch, now),
        events,
        baseline_rows(store, events, now),
        args.batch,
    )
    api = beside_floor(
        post_batches(port, key, args.batch), posted, baseline_rows(store, posted, now), args.batch
    )
    print(f"\nbatches of {args.batch:,}")
    print(f"{'path':<40}{'seconds':>9}{'events/s':>10}{'x floor':>9}  goal: >= {GOAL_RATE:,} ev/s, "
          f">= {GOAL_RATIO}x floor")  # fmt: skip
    for name, (seconds, floor_seconds, label) in (
        ("events_ingest (function)", function),
        ("POST /api/v1/events (gunicorn)", api),
    ):
        rate, floor = args.events / seconds, args.events / floor_seconds
        print(f"{name:<40}{seconds:>9.2f}{rate:>10,.0f}{rate / floor:>9.2f}  {_verdict(rate, rate / floor)}")
        print(f"{'  its floor: ' + label:<40}{floor_seconds:>9.2f}{floor:>10,.0f}{1:>9.2f}  "
              "(the same rows, in slices alternating with the path's)")  # fmt: skip


def small_batches(store: Store, args, now: datetime, port: int, key: str, size: int) -> bool:
    """POSTs of `size` events from each count of senders, beside the floor view storing the same rows
    one POST per event; True when the goal (one event per POST, 8 senders) is met or not judged."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def requests(tag: str, seed: int) -> tuple[list[bytes], dict, int]:
        mine = payloads(args.singles, args.customers, now, seed=seed, prefix=f"{tag}-api")
        if size == 1:
            return [json.dumps(e).encode() for e in mine], headers, len(mine)
        bodies = [json.dumps({"events": mine[i : i + size]}).encode() for i in range(0, len(mine), size)]
        return bodies, headers, len(mine)

    title = f"{size} event{'s' if size > 1 else ''} per POST"
    return beside_floor_view(args, now, port, title, "/api/v1/events", requests, judged=size == 1)


def beside_floor_view(args, now: datetime, port: int, title: str, path: str, requests, judged: bool) -> bool:
    """`requests(tag, seed)` -> (bodies, headers, events) POSTed to `path` from each count of senders,
    in rounds alternating with the floor view storing as many events one POST each; True when the
    goal (8 senders) is met or not judged."""
    passed = True
    threads = os.environ.get("GUNICORN_THREADS", "4")
    print(f"\n{title} (gunicorn, {args.workers} workers x {threads} threads; each sender keeps one "
          f"connection), {SINGLE_ROUNDS} rounds alternating with the floor view")  # fmt: skip
    print(f"{'senders':>8} {'path':<26}{'events/s':>10}{'p50 ms':>8}{'p95 ms':>8}{'x floor':>9}  verdict")
    warm = payloads(40 * args.workers, args.customers, now, seed=99, prefix=f"warm-{title}")
    bodies, headers, _ = requests(f"warm-{title}", 99)
    if isinstance(headers, list):
        headers = headers[: 40 * args.workers]
    senders(port, path, bodies[: 40 * args.workers], headers, args.workers * 2)
    senders(port, "/bench/floor", [json.dumps(e).encode() for e in warm], {}, args.workers * 2)
    for count in args.senders:
        path_s = floor_s = 0.0
        path_lat: list[float] = []
        floor_lat: list[float] = []
        events = 0
        for round_ in range(SINGLE_ROUNDS):
            tag = f"{title}-{count}-{round_}"
            bodies, headers, sent = requests(tag, round_ + 20)
            seconds, latencies = senders(port, path, bodies, headers, count)
            path_s, path_lat, events = path_s + seconds, path_lat + latencies, events + sent
            floors = payloads(sent, args.customers, now, seed=round_ + 20, prefix=f"{tag}-floor")
            seconds, latencies = senders(
                port, "/bench/floor", [json.dumps(e).encode() for e in floors], {}, count
            )
            floor_s, floor_lat = floor_s + seconds, floor_lat + latencies
        rate, floor_rate = events / path_s, events / floor_s
        p50, p95 = (common.percentile(path_lat, q) * 1000 for q in (0.5, 0.95))
        f50, f95 = (common.percentile(floor_lat, q) * 1000 for q in (0.5, 0.95))
        this_judged = judged and count == GOAL_SENDERS
        ok = rate / floor_rate >= GOAL_SINGLE_RATIO and p95 <= GOAL_SINGLE_P95_MS
        shown = common.verdict(ok) if this_judged else "(shown)"
        passed = passed and (ok or not this_judged)
        print(f"{count:>8} {'POST ' + path:<26}{rate:>10,.0f}{p50:>8.1f}{p95:>8.1f}"
              f"{rate / floor_rate:>9.2f}  {shown}")  # fmt: skip
        print(
            f"{count:>8} {'  floor: one INSERT view':<26}{floor_rate:>10,.0f}{f50:>8.1f}{f95:>8.1f}{1:>9.2f}"
        )
    print(f"after: {common.machine()}")
    if judged:
        print(f"goal at {GOAL_SENDERS} senders: >= {GOAL_SINGLE_RATIO}x the floor's events/s and p95 <= "
              f"{GOAL_SINGLE_P95_MS:.0f} ms")  # fmt: skip
    return passed


SHOPIFY_SECRET = "bench-webhook-key"
ORDER_IDS = itertools.count(10_000_000)


def shopify_orders(count: int, customers: int, now: datetime, seed: int) -> list[dict]:
    """`orders/create` bodies in Shopify's shape, each order id once, from customers the shop knows
    by its own ids (numbers beside the API's customers, so the two never claim one number)."""
    rng = random.Random(seed)
    numbers = phones(2 * customers)[customers:]
    line = [shopify_line(632910392, "IPod Nano - 8GB", "199.00")]
    orders = []
    for _ in range(count):
        who = rng.randrange(customers)
        buyer = shopify_customer(30_000_000 + who, numbers[who], now)
        at = now - timedelta(seconds=rng.randrange(86400))
        orders.append(
            shopify_order(next(ORDER_IDS), buyer, at, line, checkout_token=uuid.uuid4().hex)
        )
    return orders


def shopify_webhooks(store: Store, args, now: datetime, port: int) -> bool:
    """Shopify's `orders/create` webhooks one per POST (signed, one delivery id each): the answer
    (verify, store once, queue) beside the same floor view as the API's single events; then the
    queued work of a round's worth of deliveries (mapping and ingestion) as one worker runs the tasks
    the web processes gathered."""
    shop = f"{store.slug}.myshopify.com"
    queued_before = OrmQ.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ShopConnection.objects.create(
        store=store, platform="shopify", shop_domain=shop, webhook_secret=SHOPIFY_SECRET,
        webhooks_only=True, connected_at=now,
    )  # fmt: skip

    def requests(tag: str, seed: int) -> tuple[list[bytes], list[dict], int]:
        bodies, headers = [], []
        for order in shopify_orders(args.singles, args.customers, now, seed):
            raw = json.dumps(order).encode()
            bodies.append(raw)
            headers.append({
                "Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                "X-Shopify-Shop-Domain": shop, "X-Shopify-Hmac-Sha256": body_signature(raw, SHOPIFY_SECRET),
                "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-API-Version": "2024-10",
            })  # fmt: skip
        return bodies, headers, len(bodies)

    passed = beside_floor_view(
        args, now, port, "Shopify webhooks, one order per POST", "/webhooks/shopify/", requests, judged=True
    )
    tasks = []  # the gathered tasks the web processes queued, as a worker takes them
    for task in OrmQ.objects.filter(pk__gt=queued_before).order_by("pk"):
        package = SignedPackage.loads(task.payload)
        if package["func"] == PROCESS_TASK and sum(len(ids) for ids in tasks) < args.singles:
            tasks.append(package["args"][1])
    with server_heap():
        started = time.perf_counter()
        statuses = [deliveries_process(delivery_ids=ids, now=now) for ids in tasks]
        work = time.perf_counter() - started
    done = sum(sum(counts.values()) for counts in statuses)
    failed = sum(counts.get(WebhookDelivery.Status.FAILED, 0) for counts in statuses)
    print(f"{'':>8} {'  its queued work, 1 worker':<26}{done / work:>10,.0f}{'':>25}  (shown: {done:,} "
          f"deliveries in {len(tasks)} tasks, {failed} failed)")  # fmt: skip
    return passed and not failed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--customers", type=int, help="distinct customers (default: events / 10)")
    parser.add_argument("--history", type=int, help="earlier events already stored (default: --events)")
    parser.add_argument("--singles", type=int, default=3000, help="events per round of single POSTs")
    parser.add_argument("--senders", default="8,50", help="concurrent senders of single events")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", "2")),
        help="gunicorn workers (default: production's, WEB_CONCURRENCY or 2)",
    )
    parser.add_argument("--only", choices=["batches", "singles", "shopify"], help="run one part")
    args = parser.parse_args()
    args.customers = args.customers or max(1, args.events // 10)
    args.senders = [int(n) for n in args.senders.split(",")]
    history = args.events if args.history is None else args.history
    if Store._meta.db_table not in connection.introspection.table_names():
        sys.exit("The database has no tables yet: run `python manage.py migrate` first.")
    now = datetime.now(UTC).replace(microsecond=0)
    store = Store.objects.create(
        slug=f"bench-{uuid.uuid4().hex[:8]}", brand_name="Benchmark", site_url="https://shop.example.com"
    )
    queued_before = OrmQ.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        print(
            f"{connection.vendor}: {args.events:,} events per path, {args.customers:,} customers, "
            f"500 products, {history:,} earlier events; {common.machine()}"
        )
        products_make(store, now)
        if history:
            history_load(store, history, args.customers, now, args.batch)
        _, key = api_key_create(store=store, name="benchmark")
        with gunicorn(store, args.workers) as port:
            passed = True
            if args.only in (None, "batches"):
                batches_of_1000(store, args, now, port, key)
            if args.only in (None, "singles"):
                passed = small_batches(store, args, now, port, key, 1) and passed
                small_batches(store, args, now, port, key, 10)
            if args.only in (None, "shopify"):
                passed = shopify_webhooks(store, args, now, port) and passed
        print(f"\n{common.machine()}")
    finally:
        with connection.cursor() as cursor:
            # the derived rows go with their events; deleting through the ORM would load them all
            for model in ("eventitem", "eventlast", "event"):
                cursor.execute(f"DELETE FROM customers_{model} WHERE store_id = %s", [store.pk])
        store.delete()
        OrmQ.objects.filter(pk__gt=queued_before).delete()  # the run's tasks, for a store now gone


if __name__ == "__main__":
    main()
