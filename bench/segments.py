#!/usr/bin/env python
"""Time every preset segment's count beside a hand-written SQL query for the same set.

    python bench/segments.py                       # 100,000 customers, ~10 events each
    python bench/segments.py --customers 1000000   # the 1M customers / 10M events goal
    DATABASE_URL=postgres://.../bench python bench/segments.py

On PostgreSQL the data is generated in SQL (generate_series, one statement per 100,000 customers),
so 1M customers / 10M events build in minutes; on SQLite a Python generator writes it. For each
preset it prints the member count, `count()` on a fresh connection (cold: no cached plans or
catalog) and warm (best of `--repeat`), the first page of 50 members warm, and the hand-written
SQL for the same set (warm), with the ratio warm count / hand-written SQL.

Runs on the configured database (DATABASE_URL, else the project's SQLite file), migrated first.
It builds its own store, slug `bench-segments`, and deletes it afterwards; `--keep` leaves it in
place so the next run with the same `--customers` reuses the data instead of generating it again.
Each number is the best of `--repeat` runs; the two counts must agree or the row says MISMATCH.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402

from customers.derived import derived_rebuild  # noqa: E402
from customers.models import (  # noqa: E402
    Category,
    Customer,
    Event,
    EventItem,
    EventLast,
    Product,
    Segment,
    SegmentMember,
    Store,
)
from customers.segments import members, members_count  # noqa: E402
from customers.segments.membership import segment_refresh, stored_counts, stored_members  # noqa: E402
from customers.segments.presets import presets_install  # noqa: E402

SLUG = "bench-segments"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
EVENT_MIX = [
    ("product_viewed", 50),
    ("cart_updated", 14),
    ("checkout_started", 8),
    ("order_placed", 9),
    ("order_delivered", 6),
    ("sms_clicked", 8),
    ("back_in_stock_requested", 3),
    ("preference_set", 2),
]
# as ingestion stores them: one product on views and alerts, the products of an order in its items
WITH_PRODUCT = {"product_viewed", "cart_updated", "checkout_started", "back_in_stock_requested"}
STORE = "__store__"
BATCH = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events-per-customer", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the bench store for the next run")
    parser.add_argument("--fresh", action="store_true", help="generate the data again even if it was kept")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    store = Store.objects.filter(slug=SLUG).first()
    if store and (args.fresh or Customer.objects.filter(store=store).count() != args.customers):
        drop(store)
        store = None
    if store is None:
        started = time.perf_counter()
        make = generate_sql if connection.vendor == "postgresql" else generate
        store = make(args.customers, args.events_per_customer)
        with transaction.atomic():
            derived_rebuild(connection)  # a bulk load may have skipped the triggers
        print(
            f"generated {args.customers:,} customers and their events"
            f" in {time.perf_counter() - started:.0f} s"
        )
    try:
        analyze()
        report(store, args.repeat)
    finally:
        if not args.keep:
            drop(store)


# --- data ------------------------------------------------------------------------------------------


def generate(customers: int, per_customer: int) -> Store:
    rng = random.Random(7)
    with transaction.atomic():
        store = Store.objects.create(slug=SLUG, brand_name="Bench", site_url="https://bench.example.com")
        categories = Category.objects.bulk_create(
            [Category(store=store, external_id=f"cat{i}", name=f"Category {i}") for i in range(12)]
        )
        products = Product.objects.bulk_create(
            [
                Product(
                    store=store,
                    external_id=f"p{i}",
                    name=f"Product {i}",
                    url=f"https://bench.example.com/p{i}",
                    category=categories[i % len(categories)],
                    margin_class=("low", "medium", "high")[i % 3],
                )
                for i in range(300)
            ]
        )
    product_ids = [p.pk for p in products]
    kinds = [k for k, _ in EVENT_MIX]
    weights = [w for _, w in EVENT_MIX]
    for start in range(0, customers, BATCH):
        size = min(BATCH, customers - start)
        people, histories = [], []
        for n in range(start, start + size):
            history = []
            interests = rng.sample(range(40), 3)
            for _ in range(max(0, int(rng.gauss(per_customer, 3)))):
                kind = rng.choices(kinds, weights)[0]
                ago = timedelta(seconds=int(rng.expovariate(1 / (25 * 86400))))
                product = rng.choice(interests) if kind == "product_viewed" else rng.randrange(len(products))
                history.append((kind, NOW - min(ago, 200 * DAY), product))
            orders = [at for kind, at, _ in history if kind == "order_placed"]
            clicks = [at for kind, at, _ in history if kind == "sms_clicked"]
            spent = round(sum(rng.uniform(15, 180) for _ in orders), 2)
            discounted = sum(1 for _ in orders if rng.random() < 0.35)
            people.append(
                Customer(
                    store=store,
                    external_id=f"b{n}",
                    phone=f"+1{2000000000 + n}",
                    first_name=f"C{n}",
                    timezone="America/New_York",
                    timezone_source="store",
                    sms_consent=rng.choice(["subscribed"] * 8 + ["unsubscribed", "none"]),
                    topics=rng.sample(["deals", "drops", "restocks"], rng.choice([0, 0, 1, 1, 2])),
                    loyalty_status=rng.choice(["", "", "", "silver", "gold"]),
                    attributes={"quiz_answer": "dry"} if rng.random() < 0.1 else {},
                    order_count=len(orders),
                    total_spent=spent,
                    average_order_value=round(spent / len(orders), 2) if orders else 0,
                    discount_order_count=discounted,
                    discount_order_share=discounted / len(orders) if orders else 0,
                    first_order_at=min(orders, default=None),
                    last_order_at=max(orders, default=None),
                    last_sms_click_at=max(clicks, default=None),
                )
            )
            histories.append(history)
        with transaction.atomic():
            Customer.objects.bulk_create(people, batch_size=5000)
            ids = list(
                Customer.objects.filter(store=store, external_id__in=[p.external_id for p in people])
                .order_by("pk")
                .values_list("pk", "external_id")
            )
            by_external = dict((ext, pk) for pk, ext in ids)
            insert_events(store, people, histories, by_external, product_ids)
        print(f"  {start + size:,} customers", end="\r", flush=True)
    presets_install(store=store)
    return store


def catalog() -> Store:
    with transaction.atomic():
        store = Store.objects.create(slug=SLUG, brand_name="Bench", site_url="https://bench.example.com")
        categories = Category.objects.bulk_create(
            [Category(store=store, external_id=f"cat{i}", name=f"Category {i}") for i in range(12)]
        )
        Product.objects.bulk_create(
            [
                Product(
                    store=store,
                    external_id=f"p{i}",
                    name=f"Product {i}",
                    url=f"https://bench.example.com/p{i}",
                    category=categories[i % len(categories)],
                    margin_class=("low", "medium", "high")[i % 3],
                )
                for i in range(300)
            ]
        )
    return store


SQL_CUSTOMERS = """
INSERT INTO customers_customer (store_id, external_id, phone, first_name, last_name, email, city, region,
    language, timezone, timezone_source, birthday, sms_consent, topics, favorite_categories, frequency,
    loyalty_status, reward_balance, reward_points, preferred_store, attributes, prefs_token, order_count,
    total_spent, average_order_value, discount_order_count, discount_order_share, created_at, updated_at)
SELECT %(store)s, 'b' || n, '+1' || (2000000000 + n), 'C' || n, '', '', '', '', 'en', 'America/New_York',
    'store', NULL, (ARRAY['subscribed','subscribed','subscribed','subscribed','subscribed','subscribed',
    'subscribed','subscribed','unsubscribed','none'])[1 + n %% 10],
    (ARRAY['[]', '[]', '["deals"]', '["drops"]', '["deals","restocks"]', '["restocks"]'])
        [1 + (n / 10) %% 6]::jsonb,
    '[]'::jsonb, '', (ARRAY['','','','silver','gold'])[1 + (n / 3) %% 5], 0, 0, '',
    CASE WHEN n %% 10 = 3 THEN '{"quiz_answer": "dry"}' ELSE '{}' END::jsonb,
    'bench-' || %(store)s || '-' || n, 0, 0, 0, 0, 0, %(now)s, %(now)s
FROM generate_series(%(start)s, %(stop)s - 1) AS n
"""
# Per customer about `per` events: a type drawn by EVENT_MIX's weights, an age drawn from an
# exponential of mean 25 days (capped at 200), views among three favourite products, orders with
# a total, items and sometimes a discount code.
SQL_EVENTS = """
INSERT INTO customers_event (store_id, customer_id, type, occurred_at, received_at, properties,
    product_id, idempotency_key)
SELECT %(store)s, c.id, x.type, x.at, x.at,
    jsonb_build_object('cart_id', c.id || '-' || (g.i / 4)) || CASE WHEN x.type = 'order_placed' THEN
        jsonb_build_object('total', round((15 + x.r2 * 165)::numeric, 2),
            'items', jsonb_build_array(jsonb_build_object('product_id', 'p' || x.product, 'quantity', 1)))
        || CASE WHEN x.r2 < 0.35 THEN '{"discount_code": "SAVE10"}'::jsonb ELSE '{}'::jsonb END
    ELSE '{}'::jsonb END,
    CASE WHEN x.type IN ('product_viewed', 'cart_updated', 'checkout_started', 'back_in_stock_requested')
        THEN pr.id END,
    c.id || '-' || g.i
FROM customers_customer c
CROSS JOIN LATERAL generate_series(
    1, greatest(0, round(%(per)s + (random() - 0.5) * 6 + 0 * c.id)::int)) AS g(i)
CROSS JOIN LATERAL (
    SELECT w.type, w.r2, %(now)s - least(interval '200 days', -ln(1 - w.r3) * interval '25 days') AS at,
        CASE WHEN w.type = 'product_viewed' THEN (c.id * 7 + floor(w.r2 * 3)::int * 13) %% 40
            ELSE floor(w.r2 * 300)::int END AS product
    FROM (SELECT CASE
        WHEN r < 0.50 THEN 'product_viewed' WHEN r < 0.64 THEN 'cart_updated'
        WHEN r < 0.72 THEN 'checkout_started' WHEN r < 0.81 THEN 'order_placed'
        WHEN r < 0.87 THEN 'order_delivered' WHEN r < 0.95 THEN 'sms_clicked'
        WHEN r < 0.98 THEN 'back_in_stock_requested' ELSE 'preference_set' END AS type, r2, r3
        FROM (SELECT random() + 0 * g.i AS r, random() + 0 * g.i AS r2, random() + 0 * g.i AS r3) AS d) AS w
) AS x
LEFT JOIN customers_product pr ON pr.store_id = %(store)s AND pr.external_id = 'p' || x.product
WHERE c.store_id = %(store)s AND c.id BETWEEN %(low)s AND %(high)s
"""
SQL_METRICS = """
UPDATE customers_customer c SET order_count = a.n, total_spent = a.total,
    average_order_value = round(a.total / a.n, 2), discount_order_count = a.d,
    discount_order_share = a.d::float / a.n, first_order_at = a.first, last_order_at = a.last
FROM (SELECT customer_id, count(*) AS n, sum((properties ->> 'total')::numeric) AS total,
        count(*) FILTER (WHERE properties ? 'discount_code') AS d, min(occurred_at) AS first,
        max(occurred_at) AS last
    FROM customers_event WHERE store_id = %(store)s AND type = 'order_placed' GROUP BY customer_id) a
WHERE c.id = a.customer_id;
UPDATE customers_customer c SET last_sms_click_at = a.last
FROM (SELECT customer_id, max(occurred_at) AS last FROM customers_event
    WHERE store_id = %(store)s AND type = 'sms_clicked' GROUP BY customer_id) a
WHERE c.id = a.customer_id;
"""
SQL_STEP = 100_000


def generate_sql(customers: int, per_customer: int) -> Store:
    """The same shape of data as `generate`, written by PostgreSQL itself."""
    store = catalog()
    params = {"store": store.pk, "now": NOW, "per": per_customer}
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.7)")
        for start in range(0, customers, SQL_STEP):
            stop = min(customers, start + SQL_STEP)
            with transaction.atomic():
                cursor.execute(SQL_CUSTOMERS, {**params, "start": start, "stop": stop})
                cursor.execute(
                    "SELECT min(id), max(id) FROM customers_customer WHERE store_id = %s AND external_id "
                    "IN (%s, %s)",
                    [store.pk, f"b{start}", f"b{stop - 1}"],
                )
                low, high = cursor.fetchone()
                cursor.execute(SQL_EVENTS, {**params, "low": low, "high": high})
            print(f"  {stop:,} customers", end="\r", flush=True)
        with transaction.atomic():
            cursor.execute(SQL_METRICS, params)
    presets_install(store=store)
    return store


def insert_events(store: Store, people, histories, by_external, product_ids: list[int]) -> None:
    columns = [
        "store_id",
        "customer_id",
        "type",
        "occurred_at",
        "received_at",
        "properties",
        "product_id",
        "idempotency_key",
    ]
    rows = []
    for person, history in zip(people, histories, strict=True):
        customer_id = by_external[person.external_id]
        for index, (kind, at, product) in enumerate(history):
            properties = {"cart_id": f"{customer_id}-{index // 4}"}
            if kind == "order_placed":
                properties["items"] = [{"product_id": f"p{product}", "quantity": 1}]
            rows.append(
                (
                    store.pk,
                    customer_id,
                    kind,
                    at,
                    at,
                    json.dumps(properties),
                    product_ids[product] if kind in WITH_PRODUCT else None,
                    f"{customer_id}-{index}",
                )
            )
    table = Event._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            skip_foreign_key_triggers(cursor)
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            adapt = connection.ops.adapt_datetimefield_value
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
                [(r[0], r[1], r[2], adapt(r[3]), adapt(r[4]), r[5], r[6], r[7]) for r in rows],
            )


def skip_foreign_key_triggers(cursor) -> None:
    """Generated rows are consistent by construction: skip the per-row foreign-key triggers, as a
    bulk load does. Needs a superuser; without one the checks simply run. Lasts for the transaction."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        pass


def analyze() -> None:
    """Fresh statistics, and on PostgreSQL a visibility map so counts can be index-only, as autovacuum
    leaves a table that has settled."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in (Customer, Event, EventLast, EventItem):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        else:
            cursor.execute("ANALYZE")


def drop(store: Store) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("customers_eventitem", "customers_eventlast"):
            cursor.execute(f"DELETE FROM {table} WHERE store_id = %s", [store.pk])
        if connection.vendor == "postgresql":
            # the store goes whole: no per-pair correction of the derived tables needed
            cursor.execute(f"ALTER TABLE {Event._meta.db_table} DISABLE TRIGGER USER")
        cursor.execute(f"DELETE FROM {Event._meta.db_table} WHERE store_id = %s", [store.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {Event._meta.db_table} ENABLE TRIGGER USER")
        cursor.execute(
            f"DELETE FROM {SegmentMember._meta.db_table} WHERE segment_id IN "
            f"(SELECT id FROM {Segment._meta.db_table} WHERE store_id = %s)",
            [store.pk],
        )
        cursor.execute(f"DELETE FROM {Segment._meta.db_table} WHERE store_id = %s", [store.pk])
        cursor.execute(f"DELETE FROM {Customer._meta.db_table} WHERE store_id = %s", [store.pk])
        store.delete()


# --- the comparison --------------------------------------------------------------------------------


def hand_written(key: str, vendor: str) -> tuple[str, list]:
    """The query a person would write for the preset's set, and its parameters."""
    e, c, p = Event._meta.db_table, Customer._meta.db_table, Product._meta.db_table
    t = connection.ops.adapt_datetimefield_value

    def recent(kind: str, span: timedelta) -> tuple[str, list]:
        return (
            f"SELECT COUNT(DISTINCT customer_id) FROM {e} WHERE store_id = %s AND type = '{kind}' "
            "AND occurred_at >= %s AND occurred_at <= %s",
            [t(NOW - span), t(NOW)],
        )

    def top(metric: str) -> tuple[str, list]:
        return (
            f"SELECT COUNT(*) FROM (SELECT RANK() OVER (ORDER BY {metric} DESC) AS r FROM {c} "
            f"WHERE store_id = %s AND {metric} > 0) ranked "
            f"WHERE r * 100 <= (SELECT COUNT(*) FROM {c} WHERE store_id = %s) * 10.0",
            [STORE],
        )

    def topic(value: str) -> tuple[str, list]:
        if vendor == "postgresql":
            return f"SELECT COUNT(*) FROM {c} WHERE store_id = %s AND topics @> %s::jsonb", [
                json.dumps([value])
            ]
        return (
            f"SELECT COUNT(*) FROM {c} WHERE store_id = %s "
            "AND EXISTS (SELECT 1 FROM json_each(topics) WHERE value = %s)",
            [value],
        )

    def repeated(group_by: str, span: timedelta) -> tuple[str, list]:
        return (
            f"SELECT COUNT(DISTINCT customer_id) FROM (SELECT ev.customer_id FROM {e} ev "
            f"JOIN {p} pr ON pr.id = ev.product_id WHERE ev.store_id = %s AND ev.type = 'product_viewed' "
            f"AND ev.occurred_at >= %s AND ev.occurred_at <= %s GROUP BY ev.customer_id, {group_by} "
            "HAVING COUNT(*) >= 3) t",
            [t(NOW - span), t(NOW)],
        )

    if vendor == "postgresql":
        items, item_product = (
            "jsonb_array_elements(ev.properties -> 'items') AS item",
            "item ->> 'product_id'",
        )
    else:
        items, item_product = (
            "json_each(ev.properties, '$.items') AS item",
            "json_extract(item.value, '$.product_id')",
        )
    if vendor == "postgresql":
        has_quiz = "(attributes ? 'quiz_goal' OR attributes ? 'quiz_answer')"
    else:
        has_quiz = (
            "(json_type(attributes, '$.quiz_goal') IS NOT NULL "
            "OR json_type(attributes, '$.quiz_answer') IS NOT NULL)"
        )
    queries = {
        "added-to-cart-24h": recent("cart_updated", DAY),
        "checkout-not-completed": (
            f"SELECT COUNT(DISTINCT s.customer_id) FROM {e} s WHERE s.store_id = %s "
            "AND s.type = 'checkout_started' AND s.occurred_at >= %s AND s.occurred_at <= %s "
            f"AND NOT EXISTS (SELECT 1 FROM {e} o WHERE o.customer_id = s.customer_id "
            "AND o.type = 'order_placed' AND o.occurred_at > s.occurred_at AND o.occurred_at <= %s)",
            [t(NOW - 7 * DAY), t(NOW), t(NOW)],
        ),
        "viewed-same-product-repeatedly": repeated("ev.product_id", 7 * DAY),
        "clicked-sms-30d": recent("sms_clicked", 30 * DAY),
        "back-in-stock-requested": recent("back_in_stock_requested", 90 * DAY),
        "vip-top-ltv": top("total_spent"),
        "high-aov": top("average_order_value"),
        "low-margin-buyers": (
            f"SELECT COUNT(DISTINCT ev.customer_id) FROM {e} ev CROSS JOIN {items} JOIN {p} pr "
            f"ON pr.store_id = %s AND pr.external_id = {item_product} "
            "WHERE ev.store_id = %s AND ev.type = 'order_placed' AND pr.margin_class = 'low' "
            "AND ev.occurred_at >= %s AND ev.occurred_at <= %s",
            [STORE, t(NOW - 365 * DAY), t(NOW)],
        ),
        "frequent-repeat-buyers": (f"SELECT COUNT(*) FROM {c} WHERE store_id = %s AND order_count >= 3", []),
        "prefers-deals": topic("deals"),
        "prefers-drops": topic("drops"),
        "prefers-restocks": topic("restocks"),
        "category-browsers": repeated("pr.category_id", 30 * DAY),
        "quiz-or-onboarding-answer": (
            f"SELECT COUNT(*) FROM {c} cu WHERE cu.store_id = %s AND ({has_quiz} "
            f"OR EXISTS (SELECT 1 FROM {e} ev WHERE ev.customer_id = cu.id "
            "AND ev.type = 'preference_set' AND ev.occurred_at <= %s))",
            [t(NOW)],
        ),
        "loyalty-members": (f"SELECT COUNT(*) FROM {c} WHERE store_id = %s AND loyalty_status <> ''", []),
        "engagement-hot": (
            f"SELECT COUNT(*) FROM {c} WHERE store_id = %s AND last_sms_click_at >= %s",
            [t(NOW - 14 * DAY)],
        ),
        "engagement-warm": (
            f"SELECT COUNT(*) FROM {c} WHERE store_id = %s "
            "AND last_sms_click_at >= %s AND last_sms_click_at < %s",
            [t(NOW - 60 * DAY), t(NOW - 14 * DAY)],
        ),
        "engagement-cold": (
            f"SELECT COUNT(*) FROM {c} WHERE store_id = %s "
            "AND (last_sms_click_at < %s OR last_sms_click_at IS NULL)",
            [t(NOW - 60 * DAY)],
        ),
        "offer-sensitive": (
            f"SELECT COUNT(*) FROM {c} WHERE store_id = %s "
            "AND order_count >= 1 AND discount_order_share >= 0.5",
            [],
        ),
    }
    return queries[key]


GOAL_MS, GOAL_RATIO = 1000.0, 1.5


def best_of(repeat: int, run) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def cold(run) -> float:
    """One run on a fresh connection: no cached plans or catalog entries (the connection is not timed)."""
    connection.close()
    connection.ensure_connection()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def report(store: Store, repeat: int) -> None:
    customers = Customer.objects.filter(store=store).count()
    events = Event.objects.filter(store=store).count()
    print(f"{connection.vendor}: {customers:,} customers, {events:,} events; warm = best of {repeat} runs")
    print(
        "live: count as the admin and the API count it (members_count); floor: the hand-written SQL"
        " for the same set; PASS = warm count <= 1 s and <= 1.5x the floor, or, for a stored preset,"
        " its count and first page read from the membership rows <= 1 s\n"
    )
    print(
        f"{'preset':32} {'members':>9} {'cold ms':>8} {'warm ms':>8} {'page ms':>8}"
        f" {'floor ms':>8} {'ratio':>6} {'refresh ms':>10} {'read ms':>8} {'page ms':>8}  verdict"
    )
    worst, misses = 0.0, []
    for segment in Segment.objects.filter(store=store).exclude(preset="").order_by("pk"):
        sql, params = hand_written(segment.preset, connection.vendor)
        params = [store.pk] + [store.pk if value == STORE else value for value in params]

        def raw(sql=sql, params=params) -> int:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()[0]

        def count(segment=segment) -> int:
            return members_count(segment, now=NOW)

        def page(segment=segment) -> list:
            return list(members(segment, now=NOW).order_by("pk").values_list("pk", flat=True)[:50])

        cold_time = cold(count)
        orm_time, orm_count = best_of(repeat, count)
        page_time, _ = best_of(repeat, page)
        sql_time, sql_count = best_of(repeat, raw)
        ratio = orm_time / sql_time if sql_time else float("inf")
        stored = ""
        if segment.stored:
            refresh_time, read_time, stored_page_time, stored_count = stored_figures(segment, repeat)
            stored = f" {refresh_time * 1000:>10.1f} {read_time * 1000:>8.1f} {stored_page_time * 1000:>8.1f}"
            passed = max(read_time, stored_page_time) * 1000 <= GOAL_MS and stored_count == orm_count
        else:
            stored = f" {'':>10} {'':>8} {'':>8}"
            passed = orm_time * 1000 <= GOAL_MS and ratio <= GOAL_RATIO
            worst = max(worst, ratio)
        verdict = "PASS" if passed else "MISS"
        if not passed:
            misses.append(segment.preset)
        flag = "" if orm_count == sql_count else f"  MISMATCH (SQL {sql_count:,})"
        print(
            f"{segment.preset:32} {orm_count:>9,} {cold_time * 1000:>8.1f} {orm_time * 1000:>8.1f}"
            f" {page_time * 1000:>8.1f} {sql_time * 1000:>8.1f} {ratio:>6.2f}{stored}  {verdict}{flag}"
        )
    print(f"\nworst ratio warm count / hand-written SQL among live presets: {worst:.2f}")
    print(f"misses: {', '.join(misses) or 'none'}")


def stored_figures(segment: Segment, repeat: int) -> tuple[float, float, float, int]:
    """A stored preset: one refresh at NOW (forced, as the data may have been refreshed by an earlier
    run), then its count as of that refresh and its first page from the rows, warm."""
    Segment.objects.filter(pk=segment.pk).update(refreshed_at=None)
    started = time.perf_counter()
    segment_refresh(segment=segment, now=NOW)
    refresh_time = time.perf_counter() - started

    def read() -> int:  # as the admin list and the API read it: the segment row, then its count
        return stored_counts([Segment.objects.get(pk=segment.pk)])[segment.pk]

    read_time, stored_count = best_of(repeat, read)
    page_time, _ = best_of(
        repeat, lambda: list(stored_members(segment).order_by("pk").values_list("pk", flat=True)[:50])
    )
    return refresh_time, read_time, page_time, stored_count


if __name__ == "__main__":
    main()
