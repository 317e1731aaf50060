"""Benchmark: a broadcast to N customers through the real campaign path, against a plain bulk load.

    python bench/broadcast.py [--customers 100000] [--repeat 1]

Times `campaign_materialize` (segment query, bulk render, guardrails, a commit per batch of 10,000
into the outbox), then deletes exactly the rows it wrote (messages, decisions, links) and loads the same
rows again with COPY (PostgreSQL) or executemany (SQLite): the floor. Goal: ≤ 5 s at 100k.

Uses DATABASE_URL if set, else bench/broadcast.sqlite3 (created and migrated on first run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'bench' / 'broadcast.sqlite3'}")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.conf import Conf  # noqa: E402

from campaigns.broadcasts.materialize import campaign_materialize  # noqa: E402
from campaigns.models import Campaign, GuardrailDecision, Link, Message, MessageTemplate  # noqa: E402
from customers.models import Customer, Segment, Store  # noqa: E402

TEMPLATE = 'Hi {{ first_name|default:"there" }}, new drops at {{ store_name }}. Reply STOP to opt out'
WRITTEN = [Message, GuardrailDecision, Link]


def bench_store(count: int) -> Store:
    store, _ = Store.objects.update_or_create(
        slug="bench-broadcast",
        defaults={
            "brand_name": "Bench Goods",
            "site_url": "https://bench.example.com",
            "messaging_service_sid": "MG" + "d" * 32,
            "send_window_start": clock(0),
            "send_window_end": clock(23, 59, 59, 999999),
        },
    )
    have = store.customers.count()
    if have < count:
        Customer.objects.bulk_create(
            [
                Customer(
                    store=store,
                    phone=f"+1313{i:07d}",
                    first_name="" if i % 5 == 0 else f"Cust{i}",
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
    with transaction.atomic():
        GuardrailDecision.objects.filter(message__store=store).delete()
        Link.objects.filter(store=store).delete()
        Message.objects.filter(store=store).delete()
        Campaign.objects.filter(store=store).delete()


def written_rows(store: Store) -> dict[type, tuple[list[str], list[tuple]]]:
    """Every row the run wrote, as the database stores it (so the floor loads identical values)."""
    messages = Message._meta.db_table
    by_model = {}
    with connection.cursor() as cursor:
        for model in WRITTEN:
            columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            where = (
                f"message_id IN (SELECT id FROM {messages} WHERE store_id = %s)"
                if model is GuardrailDecision
                else "store_id = %s"
            )
            cursor.execute(f"SELECT {names} FROM {model._meta.db_table} WHERE {where}", [store.pk])
            by_model[model] = (columns, cursor.fetchall())
    return by_model


def plain_load(by_model: dict[type, tuple[list[str], list[tuple]]]) -> float:
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for model, (columns, rows) in by_model.items():
            if not rows:
                continue
            table = model._meta.db_table
            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
    return time.perf_counter() - started


def run_once(store: Store, segment: Segment, template: MessageTemplate) -> tuple[int, float, float, str]:
    """One broadcast through the real path, then the floor over exactly the rows it wrote."""
    now = timezone.now()
    campaign = Campaign.objects.create(
        store=store,
        name="Drop",
        slug=f"drop-{time.time_ns()}",
        template=template,
        segment=segment,
        send_at=now,
        status=Campaign.Status.SCHEDULED,
    )
    started = time.perf_counter()
    created = campaign_materialize(campaign_id=campaign.pk, now=now)
    path = time.perf_counter() - started

    rows = written_rows(store)
    with transaction.atomic():
        GuardrailDecision.objects.filter(message__store=store).delete()
        Link.objects.filter(store=store).delete()
        Message.objects.filter(store=store).delete()
    floor = plain_load(rows)
    clear(store)
    counts = ", ".join(f"{len(r)} {m.__name__}" for m, (_, r) in rows.items())
    return created, path, floor, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of path and floor; the median ratio")
    args = parser.parse_args()
    Conf.SYNC = False  # sends are queued for a cluster, as in production; nothing is sent here
    call_command("migrate", verbosity=0)
    store = bench_store(args.customers)
    clear(store)
    segment, _ = Segment.objects.get_or_create(store=store, slug="everyone", defaults={"name": "Everyone"})
    template, _ = MessageTemplate.objects.get_or_create(store=store, name="Drop", defaults={"body": TEMPLATE})

    ratios = []
    for _ in range(args.repeat):
        created, path, floor, counts = run_once(store, segment, template)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{connection.vendor}, {args.customers} customers, {created} texts ({counts}); "
              f"{os.cpu_count()} cores, load average {load}")
        print(f"campaign_materialize (segment, render, outbox)  {path:7.2f} s   goal <= 5 s")
        print(f"plain bulk load of the same rows (floor)        {floor:7.2f} s   ratio {path / floor:5.1f}x")
        ratios.append(path / floor)
    if len(ratios) > 1:
        print(f"median ratio over {len(ratios)} runs: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
