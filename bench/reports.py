"""Benchmark: the flow report over a million messages against the bare aggregate SQL, same run.

    python bench/reports.py [--messages 1000000] [--customers 50000]

Builds (with INSERT ... SELECT, no Python loops) a store whose three-step flow sent `--messages`
texts, ~8 % of them clicked, ~2 % followed by a credited order and ~0.5 % by a tied opt-out; then
times `campaigns.reports.flow_tables` (the admin's flow report: per-step funnel and per-variant
table) beside three hand-written GROUP BY statements computing the same per-step figures, and
prints both times and their ratio. Uses DATABASE_URL if set, else bench/reports.sqlite3; the
store is removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

import common  # noqa: E402

common.django_setup(sqlite="reports")

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from campaigns.models import Flow, FlowStep  # noqa: E402
from campaigns.reports.tables import Range, flow_tables  # noqa: E402
from customers.demo import demo_store_delete  # noqa: E402
from customers.models import Store  # noqa: E402

AT = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)
SLUG = "bench-reports"


def run(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def series(limit: int) -> str:
    return f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {int(limit)}) "


def build(messages: int, customers: int) -> tuple[Store, Flow]:
    old = Store.objects.filter(slug=SLUG).first()
    if old:
        demo_store_delete(old)
    store = Store.objects.create(slug=SLUG, brand_name="Bench", site_url="https://bench.example.com")
    flow = Flow.objects.create(
        store=store, name="Cart", slug="cart", event_type="cart_updated", status="live"
    )
    steps = [FlowStep.objects.create(flow=flow, position=p, body=f"Step {p}") for p in (1, 2, 3)]
    s, first_step = store.pk, steps[0].pk
    started = time.perf_counter()
    with transaction.atomic():
        run(
            series(customers) + "INSERT INTO customers_customer (store_id, external_id, phone, first_name, "
            "last_name, email, city, region, language, timezone, timezone_source, sms_consent, topics, "
            "favorite_categories, frequency, loyalty_status, reward_balance, reward_points, preferred_store, "
            "attributes, prefs_token, order_count, total_spent, average_order_value, discount_order_count, "
            "discount_order_share, created_at, updated_at) "
            "SELECT %s, '', '+1555' || (1000000 + i), 'Ana', '', '', '', '', 'en', 'UTC', 'given', "
            "'subscribed', '[]', '[]', '', '', 0, 0, '', '{}', 'b' || i, 0, 0, 0, 0, 0, %s, %s FROM n",
            [s, AT, AT],
        )
        first_customer = Store.objects.get(pk=s).customers.order_by("pk").values_list("pk", flat=True)[0]
        statuses = (
            "CASE WHEN i %% 100 < 2 THEN 'failed' WHEN i %% 100 < 4 THEN 'undelivered' ELSE 'delivered' END"
        )
        run(
            series(messages)
            + 'INSERT INTO campaigns_message (store_id, customer_id, "to", body, flow_step_id, '
            "variant, kind, status, reason, idempotency_key, provider_sid, error_code, attempts, created_at, "
            "sent_at, updated_at, priority, confirms_opt_out, encoding, segments, sender, provider_status, "
            f"error_message, delivered_at) SELECT %s, %s + (i %% %s), '+1555', 'Hi', %s + (i %% 3), '', "
            f"'marketing', {statuses}, '', 'b' || i, '', '', 1, %s, %s, %s, 50, %s, 'gsm7', 1, '', '', '', "
            "CASE WHEN i %% 100 < 4 THEN NULL ELSE %s END FROM n",
            [s, first_customer, customers, first_step, AT, AT, AT, False, AT],
        )
        run(
            "INSERT INTO campaigns_link (store_id, customer_id, message_id, code, target_url, utm_campaign, "
            "utm_content, created_at, clicks, first_clicked_at, last_clicked_at) "
            "SELECT store_id, customer_id, id, 'b' || id, 'https://bench.example.com/', '', '', created_at, "
            "CASE WHEN id %% 12 = 0 THEN 1 ELSE 0 END, NULL, NULL FROM campaigns_message WHERE store_id = %s",
            [s],
        )
        run(
            "INSERT INTO customers_event (store_id, customer_id, type, occurred_at, received_at, properties, "
            "idempotency_key) SELECT store_id, customer_id, 'order_placed', %s, %s, '{\"total\": 40}', "
            "'b' || id FROM campaigns_message WHERE store_id = %s AND id %% 50 = 0",
            [AT + timedelta(hours=2), AT + timedelta(hours=2), s],
        )
        run(
            "INSERT INTO campaigns_attribution (store_id, order_id, message_id, touch, revenue, ordered_at) "
            "SELECT e.store_id, e.id, CAST(substr(e.idempotency_key, 2) AS BIGINT), 'click', 40, "
            "e.occurred_at FROM customers_event e WHERE e.store_id = %s AND e.type = 'order_placed'",
            [s],
        )
        run(
            "INSERT INTO customers_consentrecord (store_id, customer_id, action, source, wording, keyword, "
            "user_agent, occurred_at, recorded_at) SELECT store_id, customer_id, 'opt_out', 'keyword', "
            "'b' || id, 'STOP', '', %s, %s FROM campaigns_message WHERE store_id = %s AND id %% 200 = 7",
            [AT + timedelta(hours=1), AT + timedelta(hours=1), s],
        )
        run(
            "INSERT INTO campaigns_optoutattribution (store_id, record_id, message_id, opted_out_at) "
            "SELECT c.store_id, c.id, CAST(substr(c.wording, 2) AS BIGINT), c.occurred_at "
            "FROM customers_consentrecord c WHERE c.store_id = %s",
            [s],
        )
    run("ANALYZE", [])
    print(f"built {messages:,} messages for {customers:,} customers in {time.perf_counter() - started:.1f} s")
    return store, flow


WHERE = """m.store_id = %(store)s AND s.flow_id = %(flow)s
       AND m.created_at >= %(start)s AND m.created_at < %(end)s"""
JOINS = "JOIN campaigns_message m ON m.id = x.message_id JOIN campaigns_flowstep s ON s.id = m.flow_step_id"
BARE = [
    f"""SELECT m.flow_step_id,
        COUNT(*) FILTER (WHERE m.status IN ('sent', 'delivered', 'undelivered')),
        COUNT(*) FILTER (WHERE m.status = 'delivered'),
        COUNT(*) FILTER (WHERE m.status IN ('failed', 'undelivered')),
        COUNT(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM campaigns_link l WHERE l.message_id = m.id AND l.clicks > 0)),
        COUNT(DISTINCT m.customer_id), SUM(m.segments)
       FROM campaigns_message m JOIN campaigns_flowstep s ON s.id = m.flow_step_id
       WHERE {WHERE} GROUP BY m.flow_step_id""",
    f"""SELECT m.flow_step_id, COUNT(*), SUM(x.revenue) FROM campaigns_attribution x {JOINS}
       WHERE {WHERE} GROUP BY m.flow_step_id""",
    f"""SELECT m.flow_step_id, COUNT(*) FROM campaigns_optoutattribution x {JOINS}
       WHERE {WHERE} GROUP BY m.flow_step_id""",
]


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench store afterwards")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    store, flow = build(args.messages, args.customers)
    rng = Range(start=AT - timedelta(days=1), end=AT + timedelta(days=1), tz=UTC)
    params = {"store": store.pk, "flow": flow.pk, "start": rng.start, "end": rng.end}

    def bare() -> None:
        with connection.cursor() as cursor:
            for sql in BARE:
                cursor.execute(sql, params)
                cursor.fetchall()

    report = timed(lambda: flow_tables(flow, rng))
    plain = timed(bare)
    steps = flow_tables(flow, rng)[0]
    print(f"flow report ({len(steps.rows)} steps, {sum(r[2] for r in steps.rows):,} sent): {report:.2f} s")
    print(f"bare aggregate SQL: {plain:.2f} s")
    print(f"ratio report / bare: {report / plain:.2f}")
    if not args.keep:
        demo_store_delete(store)


if __name__ == "__main__":
    main()
