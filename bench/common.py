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
    for name, value in PRODUCTION.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()
    from django.conf import settings

    if not settings.DEBUG and not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)


# Timed as production runs (DEBUG off: no query log, hashed static files), on plain HTTP on this
# machine as `make serve` is; `DEBUG=true` in the environment times development instead.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-key-never-used-to-sign-anything-real",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "STATIC_ROOT": str(ROOT / "bench" / "staticfiles"),
}


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


TEXT_TABLES = [
    ("campaigns_guardraildecision", "message_id IN (SELECT id FROM campaigns_message WHERE store_id = %s)"),
    ("campaigns_link", "store_id = %s"),
    ("campaigns_attribution", "store_id = %s"),
    ("campaigns_optoutattribution", "store_id = %s"),
    ("campaigns_message", "store_id = %s"),
]


def store_texts_remove(store) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table, where in TEXT_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE {where}", [store.pk])


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
    from campaigns.models import Campaign, Flow

    with transaction.atomic(), connection.cursor() as cursor:
        for table, where in tables:
            cursor.execute(f"DELETE FROM {table} WHERE {where}", [store.pk])
        Campaign.objects.filter(store=store).delete()  # they hold their segments and templates
        Flow.objects.filter(store=store).delete()
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
    if connection.vendor == "postgresql":  # the next store's checks meet no dead rows and fresh statistics
        with connection.cursor() as cursor:
            for table in ("customers_event", "customers_customer", "campaigns_message", "campaigns_link"):
                cursor.execute(f"VACUUM ANALYZE {table}")


# --- pages as staff and stores load them ----------------------------------------------------------


def staff_client():
    """A test client logged in as a superuser (made once, kept)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin",
        defaults={"is_staff": True, "is_superuser": True, "email": "bench@example.com"},
    )
    client = Client()
    client.force_login(user)
    return client


def api_headers(store) -> dict:
    from customers.api.auth import api_key_create

    return {"HTTP_AUTHORIZATION": f"Bearer {api_key_create(store=store, name='bench')[1]}"}


class Queries:
    """Every query run inside the block, with its time: the slowest beside the page's own time."""

    def __init__(self):
        self.seen: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seen.append((time.perf_counter() - started, sql))

    def slowest(self) -> tuple[float, str]:
        return max(self.seen, default=(0.0, ""))


def load_page(client, method: str, url: str, repeat: int, **kwargs) -> tuple[list[float], Queries, int]:
    """`repeat` warm loads after one untimed: each load's seconds, the queries of the last, the
    status of the last."""
    from django.db import connection

    getattr(client, method)(url, **kwargs)
    seconds, queries, status = [], Queries(), 0
    for _ in range(repeat):
        queries = Queries()
        with connection.execute_wrapper(queries):
            started = time.perf_counter()
            response = getattr(client, method)(url, **kwargs)
            seconds.append(time.perf_counter() - started)
        status = response.status_code
    return seconds, queries, status
