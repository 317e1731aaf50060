"""The data of the README's sizes, shared by bench/segments.py and bench/pages.py: a store of N
customers with about ten events each (views, carts, checkouts, orders, clicks, alerts, preferences,
in the mix and ages below), 300 products in 12 categories, the metrics those events imply, the
preset segments, and optionally texts with their links. On PostgreSQL PostgreSQL writes it
(generate_series, 100,000 customers per statement), so 1M customers / 10M events build in minutes;
on SQLite a Python generator writes it. Kept between runs (`--keep`) under the slug `bench-segments`.
"""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError, connection, transaction

from customers.derived import derived_rebuild
from customers.models import (
    Category,
    Customer,
    Event,
    EventItem,
    EventLast,
    Product,
    Store,
)
from customers.segments.presets import presets_install

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
BATCH = 20_000


# --- data ------------------------------------------------------------------------------------------


def generate(customers: int, per_customer: int) -> Store:
    rng = random.Random(7)
    store = catalog()
    products = list(Product.objects.filter(store=store).order_by("pk"))
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
    """The bench store with 300 products in 12 categories, a third of them low-margin."""
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


def bench_store(customers: int, per_customer: int = 10, *, fresh: bool = False) -> Store:
    """The kept store when it has `customers` customers, else a new one generated."""
    import common

    from customers.models import Segment

    store = Store.objects.filter(slug=SLUG).first()
    # the presets are installed last: without them the generation was cut short
    finished = store is not None and Segment.objects.filter(store=store).exclude(preset="").exists()
    if store and (fresh or not finished or Customer.objects.filter(store=store).count() != customers):
        common.store_remove(store)
        store = None
    if store is None:
        started = time.perf_counter()
        make = generate_sql if connection.vendor == "postgresql" else generate
        store = make(customers, per_customer)
        with transaction.atomic():
            derived_rebuild(connection)  # a bulk load may have skipped the triggers
        print(f"generated {customers:,} customers and their events in {time.perf_counter() - started:.0f} s")
    return store


def texts_generate(store: Store, count: int) -> None:
    """`count` texts of the last 30 days (most delivered, some failed or held back by a cap), half from
    a three-step flow and half from a campaign, a tracked link for each and a click on one in twelve,
    for the store's customers in turn; kept with the store."""
    from campaigns.models import Campaign, Flow, FlowStep, MessageTemplate
    from customers.models import Segment

    flow, _ = Flow.objects.get_or_create(
        store=store, slug="bench-cart", defaults={"name": "Cart recovery", "event_type": "cart_updated"}
    )
    steps = [FlowStep.objects.get_or_create(flow=flow, position=p)[0] for p in (1, 2, 3)]
    template = MessageTemplate.objects.get_or_create(store=store, name="Bench drop")[0]
    segment = Segment.objects.filter(store=store).order_by("pk").first()
    campaign, _ = Campaign.objects.get_or_create(
        store=store, slug="bench-drop",
        defaults={"name": "Fall drop", "template": template, "segment": segment, "send_at": NOW,
                  "status": "done"},
    )  # fmt: skip
    if connection.vendor != "postgresql":
        return _texts_python(store, count)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT min(id), count(*) FROM customers_customer WHERE store_id = %s", [store.pk])
        first, customers = cursor.fetchone()
        params = {"store": store.pk, "first": first, "customers": customers, "count": count, "now": NOW,
                  "campaign": campaign.pk, "step": steps[0].pk}  # fmt: skip
        cursor.execute(SQL_TEXTS, params)
        cursor.execute(SQL_LINKS, {"store": store.pk})
    analyze()


SQL_TEXTS = """
INSERT INTO campaigns_message (store_id, customer_id, "to", body, variant, kind, status, reason,
    idempotency_key, provider_sid, error_code, attempts, created_at, sent_at, updated_at, priority,
    confirms_opt_out, encoding, segments, sender, provider_status, error_message, planned_at, delivered_at,
    campaign_id, flow_step_id)
SELECT %(store)s, c.id, c.phone, 'Hi, new drops are in', '', 'marketing',
    CASE WHEN n %% 50 = 0 THEN 'failed' WHEN n %% 25 = 0 THEN 'suppressed' ELSE 'delivered' END,
    CASE WHEN n %% 25 = 0 AND n %% 50 <> 0 THEN 'frequency_cap' ELSE '' END,
    'bench-text-' || n, '', '', 1, %(now)s - (n %% 43200) * interval '1 minute', %(now)s, %(now)s, 50, false,
    'gsm7', 1, '', '', '', %(now)s - (n %% 43200) * interval '1 minute', %(now)s,
    CASE WHEN n %% 2 = 0 THEN %(campaign)s END, CASE WHEN n %% 2 = 1 THEN %(step)s + (n / 2) %% 3 END
FROM generate_series(0, %(count)s - 1) AS n
JOIN customers_customer c ON c.id = %(first)s + (n %% %(customers)s)
"""
SQL_LINKS = """
INSERT INTO campaigns_link (store_id, customer_id, message_id, code, target_url, utm_campaign, utm_content,
    created_at, clicks, first_clicked_at, last_clicked_at)
SELECT store_id, customer_id, id, 'bt' || id, 'https://bench.example.com/', '', '', created_at,
    CASE WHEN id %% 12 = 0 THEN 1 ELSE 0 END, NULL, NULL
FROM campaigns_message WHERE store_id = %(store)s AND idempotency_key LIKE 'bench-text-%%'
"""


def _texts_python(store: Store, count: int) -> None:
    from campaigns.models import Message

    ids = list(Customer.objects.filter(store=store).order_by("pk").values_list("pk", "phone"))
    Message.objects.bulk_create(
        [
            Message(store=store, customer_id=ids[n % len(ids)][0], to=ids[n % len(ids)][1], body="Hi",
                    status="delivered", idempotency_key=f"bench-text-{n}",
                    created_at=NOW - timedelta(minutes=n))
            for n in range(count)
        ],
        batch_size=5000,
    )  # fmt: skip


def texts_count(store: Store) -> int:
    from campaigns.models import Message

    return Message.objects.filter(store=store).count()
