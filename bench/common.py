"""What every benchmark shares: Django set up on DATABASE_URL, the machine's load, PASS/MISS, timing,
throwaway stores removed fast, and the data of the README's sizes (customers with ~10 events each,
texts with their links) written by PostgreSQL itself, kept between runs with --keep.

A script starts with

    import common
    common.django_setup(sqlite="flows")   # DATABASE_URL unset: bench/flows.sqlite3

and imports the project's modules after it.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def django_setup(*, sqlite: str | None = None, log_level: str = "WARNING") -> None:
    """Settings from the environment; with `sqlite` and no DATABASE_URL, a throwaway SQLite file
    under bench/ (else the project's own database)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")
    os.environ.setdefault("LOG_LEVEL", log_level)
    if sqlite:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'bench' / f'{sqlite}.sqlite3'}")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> str:
    return f"load average (1, 5, 15 min) {load()} on {os.cpu_count()} cores"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of them fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def best_of(repeat: int, run: Callable) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def timings(repeat: int, run: Callable) -> list[float]:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return seconds


def median(values: list[float]) -> float:
    return statistics.median(values)


def store_remove(store) -> None:
    """A store with millions of rows, removed in a few statements rather than through the ORM's
    cascade (which loads every row). The event triggers are switched off on PostgreSQL: the whole
    store goes, so no derived row needs correcting one by one."""
    from django.db import connection, transaction

    tables = [
        (
            "campaigns_guardraildecision",
            "message_id IN (SELECT id FROM campaigns_message WHERE store_id = %s)",
        ),
        ("campaigns_link", "store_id = %s"),
        ("campaigns_attribution", "store_id = %s"),
        ("campaigns_optoutattribution", "store_id = %s"),
        ("campaigns_message", "store_id = %s"),
        ("customers_eventitem", "store_id = %s"),
        ("customers_eventlast", "store_id = %s"),
        ("customers_segmenttouch", "store_id = %s"),
        ("customers_segmentmember", "segment_id IN (SELECT id FROM customers_segment WHERE store_id = %s)"),
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for table, where in tables:
            cursor.execute(f"DELETE FROM {table} WHERE {where}", [store.pk])
        pg = connection.vendor == "postgresql"
        if pg:
            cursor.execute("ALTER TABLE customers_event DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE customers_customer DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM customers_event WHERE store_id = %s", [store.pk])
        cursor.execute("DELETE FROM customers_consentrecord WHERE store_id = %s", [store.pk])
        cursor.execute("DELETE FROM customers_segment WHERE store_id = %s", [store.pk])
        cursor.execute("DELETE FROM customers_customer WHERE store_id = %s", [store.pk])
        if pg:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE customers_event ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE customers_customer ENABLE TRIGGER USER")
    store.delete()
