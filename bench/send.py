"""Benchmark: one worker sending queued texts through a loopback Twilio server.

    python bench/send.py [--customers 20000] [--send 2000] [--repeat 3] [--concurrency N] [--latency-ms 0]

`--send` texts are stored already queued (one COPY, untimed: creating them is what
bench/broadcast.py measures), then sent with the rate limit off, one worker, in batches of
SMS_SEND_BATCH_SIZE with SMS_SEND_CONCURRENCY provider calls in flight (or `--concurrency`),
printed beside a plain HTTP loop posting the same requests one after another over one kept
connection — goal >= 0.8x the loop. Each round has its own floor, measured before and after it;
PASS/MISS is judged on the median round, since one round on a 2-core machine swings by about 0.1x.
One batch is sent untimed before the rounds, as a worker that has sent before: a process's first
batch loads the provider library's lazily imported modules and compiles its first queries (0.6 s
of CPU, once per worker process, which sends thousands of batches before it is recycled).
Before that the outbox is vacuumed and, where the role may, a checkpoint is taken, so the rounds do
not pay for the writes of the script run before (the plain loop, which never touches the database,
would not).

Uses DATABASE_URL if set, else bench/send.sqlite3 (created and migrated on first run).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from datetime import time as clock
from datetime import timedelta

import common  # noqa: E402

common.django_setup(sqlite="send")

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.conf import Conf  # noqa: E402
from django_q.models import OrmQ  # noqa: E402

from campaigns.content.meter import encoding_and_segments  # noqa: E402
from campaigns.content.templating import render  # noqa: E402
from campaigns.models import GuardrailDecision, Message  # noqa: E402
from campaigns.sending.deliver import messages_send  # noqa: E402
from customers.models import Customer, Store  # noqa: E402
from harness.twilio_server import TwilioServer  # noqa: E402

TEMPLATE = (
    'Hi {{ first_name|default:"there" }}, new drops at {{ store_name }} in {{ city|default:"your city" }}.'
)
ACCOUNT_SID = "AC" + "2" * 32
COLUMNS = [
    "store_id",
    "customer_id",
    "to",
    "body",
    "variant",
    "kind",
    "status",
    "reason",
    "idempotency_key",
    "provider_sid",
    "error_code",
    "attempts",
    "created_at",
    "updated_at",
    "priority",
    "confirms_opt_out",
    "encoding",
    "segments",
    "sender",
    "provider_status",
    "error_message",
    "send_after",
    "planned_at",
    "valid_until",
]


def bench_store(count: int) -> Store:
    store, _ = Store.objects.update_or_create(
        slug="bench-send",
        defaults={
            "brand_name": "Bench Goods",
            "site_url": "https://bench.example.com",
            "messaging_service_sid": "MG" + "c" * 32,
            "send_window_start": clock(0),
            "send_window_end": clock(23, 59, 59, 999999),
            "send_rate_per_second": 0,
        },
    )
    have = store.customers.count()
    if have < count:
        Customer.objects.bulk_create(
            [
                Customer(
                    store=store,
                    phone=f"+1212{i:07d}",
                    first_name=f"Cust{i}",
                    city="Austin",
                    timezone="America/New_York",
                    timezone_source="given",
                    sms_consent="subscribed",
                )
                for i in range(have, count)
            ],
            batch_size=5000,
        )
    return store


def clear(store: Store) -> None:
    messages, decisions = Message._meta.db_table, GuardrailDecision._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {decisions} WHERE message_id IN (SELECT id FROM {messages} WHERE store_id = %s)",
            [store.pk],
        )
        cursor.execute(f"DELETE FROM {messages} WHERE store_id = %s", [store.pk])


def texts_queue(*, store: Store, count: int, now) -> list[Message]:
    """`count` texts as the outbox leaves them once allowed (queued, due now), stored with one COPY
    (PostgreSQL) or executemany (SQLite): creating them is not what this benchmark measures."""
    run = int(time.time())
    rows = []
    customers = store.customers.order_by("id")[:count].only("id", "phone", "first_name", "city")
    for customer in customers:
        fields = {"first_name": customer.first_name, "city": customer.city}
        body = render(TEMPLATE, {"store_name": store.brand_name, **fields})
        encoding, segments = encoding_and_segments(body)
        rows.append(
            (store.pk, customer.pk, customer.phone, body, "", "marketing", "queued", "",
             f"bench-send:{run}:{customer.pk}", "", "", 0, now, now, 20, False, encoding, segments,
             "", "", "", now, now, now + timedelta(hours=48))
        )  # fmt: skip
    table = Message._meta.db_table
    names = ", ".join(connection.ops.quote_name(c) for c in COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    return list(Message.objects.filter(store=store, status=Message.Status.QUEUED).order_by("id"))


def _serve(conn, latency: float) -> None:
    server = TwilioServer(latency=latency).start()
    conn.send(server.url)
    conn.recv()  # until the benchmark is done
    server.stop()


def loopback_process(latency: float = 0.0) -> tuple[str, object, multiprocessing.Process]:
    """The loopback Twilio server in a process of its own (keep-alive), so it does not share the
    benchmark's interpreter lock: the plain loop against it is a real floor."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(theirs, latency), daemon=True)
    process.start()
    return ours.recv(), ours, process


def plain_http_loop(base_url: str, messages: list[Message]) -> float:
    url = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    session = requests.Session()
    session.trust_env = False  # as the gateway does: the environment is not read again per request
    started = time.perf_counter()
    for m in messages:
        session.post(
            url,
            data={
                "To": m.to,
                "Body": m.body,
                "MessagingServiceSid": "MG" + "c" * 32,
                "StatusCallback": "https://sms.example.com/webhooks/twilio/status",
            },
            auth=(ACCOUNT_SID, "token"),
        ).raise_for_status()
    return time.perf_counter() - started


def settle() -> None:
    """Start from a settled database, not in the wake of the script run before this one: no dead
    rows in the outbox, and (where the role may) no checkpoint still writing out that script's pages.
    The plain loop never touches the database, so background writes would be charged to the outbox
    alone."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Message._meta.db_table}")
        try:
            cursor.execute("CHECKPOINT")  # superuser or the pg_checkpoint role (PostgreSQL 15)
        except DatabaseError:
            print("note: this role may not run CHECKPOINT; the rounds may share the disk with one")


def warm_up(store: Store, server_url: str) -> None:
    """Send one batch and run the plain loop over it once, untimed: what a running worker has done."""
    clear(store)
    sample = texts_queue(store=store, count=settings.SMS_SEND_BATCH_SIZE, now=timezone.now())
    plain_http_loop(server_url, sample)
    messages_send(message_ids=[m.pk for m in sample], now=timezone.now())


def one_round(store: Store, count: int, server_url: str) -> float:
    """Queue `count` texts, then the floor, the send and the floor again; prints them, returns the ratio."""
    clear(store)
    sample = texts_queue(store=store, count=count, now=timezone.now())
    # The floor before and after, same texts and server: the load on a shared machine drifts.
    cpu = time.process_time()
    before = plain_http_loop(server_url, sample)
    loop_cpu = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    sent = 0
    for start in range(0, len(sample), settings.SMS_SEND_BATCH_SIZE):
        batch = [m.pk for m in sample[start : start + settings.SMS_SEND_BATCH_SIZE]]
        sent += messages_send(message_ids=batch, now=timezone.now())
    app, app_cpu = time.perf_counter() - started, time.process_time() - cpu
    after = plain_http_loop(server_url, sample)
    recorded = Message.objects.filter(store=store, status=Message.Status.SENT).count()
    loop = (before + after) / 2
    print(
        f"send via outbox, 1 worker   {sent / app:7.0f} msg/s ({sent} in {app:.2f} s,"
        f" {recorded} recorded sent)   goal >= 100"
    )
    print(
        f"plain HTTP loop (baseline)  {len(sample) / loop:7.0f} msg/s (before {len(sample) / before:.0f},"
        f" after {len(sample) / after:.0f})   outbox at {loop / app:4.2f}x of it   goal >= 0.8x"
    )
    # CPU of this process alone (PostgreSQL's and the server's are not in it): steadier than
    # wall time on a shared machine.
    print(
        f"CPU per text in this process: outbox {app_cpu / len(sample) * 1000:.2f} ms,"
        f" plain loop {loop_cpu / len(sample) * 1000:.2f} ms;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return loop / app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--send", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of fresh texts; judged on the median")
    parser.add_argument("--concurrency", type=int, default=None, help="SMS_SEND_CONCURRENCY for this run")
    parser.add_argument("--latency-ms", type=float, default=0, help="how long the server takes per create")
    args = parser.parse_args()
    Conf.SYNC = False  # no send task runs here: the benchmark sends the texts itself below
    call_command("migrate", verbosity=0)
    began = timezone.now()
    store = bench_store(max(args.customers, args.send))
    server_url, control, process = loopback_process(args.latency_ms / 1000)
    settings.SMS_BACKEND, settings.SMS_RATE_LIMIT = "twilio", False
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, "token"
    settings.TWILIO_API_BASE_URL, settings.PUBLIC_BASE_URL = server_url, "https://sms.example.com"
    if args.concurrency is not None:
        settings.SMS_SEND_CONCURRENCY = args.concurrency
    print(
        f"{connection.vendor}, {store.customers.count()} customers, {args.send} queued texts a round,"
        f" batches of {settings.SMS_SEND_BATCH_SIZE}, {settings.SMS_SEND_CONCURRENCY} calls in flight,"
        f" server latency {args.latency_ms:g} ms"
    )
    settle()
    warm_up(store, server_url)
    ratios = [one_round(store, args.send, server_url) for _ in range(args.repeat)]
    ratio = statistics.median(ratios)
    rounds = f"median of {args.repeat} rounds" if args.repeat > 1 else "one round"
    verdict = "PASS" if ratio >= 0.8 else "MISS"
    each = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"{verdict}: outbox at {ratio:4.2f}x the plain loop ({rounds}: {each})   goal >= 0.8x")
    control.send("stop")
    process.join(timeout=5)
    clear(store)
    if Conf.ORM:  # nothing here is for a cluster: drop any task queued meanwhile
        OrmQ.objects.filter(lock__gte=began).delete()


if __name__ == "__main__":
    main()
