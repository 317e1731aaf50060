#!/usr/bin/env python
"""Time every preset segment as staff and stores meet it, beside a hand-written SQL query for the
same set; show stored presets kept fresh within a minute of an event.

    python bench/segments.py                       # 100,000 customers, ~10 events each
    python bench/segments.py --customers 1000000   # the 1M customers / 10M events goal
    DATABASE_URL=postgres://.../bench python bench/segments.py --keep

The data (bench/dataset.py) is kept with --keep and reused by the next run of the same size (and by
bench/pages.py). For each preset it prints the member count, `members_count` on a fresh connection
(cold) and warm (best of `--repeat`), the first page of 50 members, the hand-written SQL for the same
set (warm) and the ratio, the builder's preview of the preset (count and change against the saved
rules, as staff editing it see them) and, for a stored preset, its full rebuild (the reference) and
its count and first page read from the rows. Then the segment list in the admin and
`GET /api/v1/segments/` as loaded (warm, p95 of --repeat), and the freshness check: a batch of
events arrives, the minute's refresh runs, and every stored preset's count must equal its live
count. The two grouping presets' rebuild is timed over a tenth of the customers and over all of
them: ten times the customers must cost no more than about ten times the time.

PASS/MISS per line; any MISMATCH (two counts of one set that differ) fails the run (exit 1).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import timedelta

import common

common.django_setup(log_level="WARNING")

import dataset  # noqa: E402
from dataset import DAY, NOW  # noqa: E402
from django.db import connection  # noqa: E402

from customers.admin.segments import preview as builder_preview  # noqa: E402
from customers.ingest.events import events_ingest  # noqa: E402
from customers.models import Customer, Event, Product, Segment  # noqa: E402
from customers.segments import members, members_count  # noqa: E402
from customers.segments.membership import (  # noqa: E402
    _rebuild,
    id_ranges,
    segment_refresh,
    segments_refresh,
    stored_members,
)

STORE = "__store__"
GOAL_MS, GOAL_RATIO, GOAL_FRESH_S, GOAL_GROWTH = 1000.0, 1.5, 60.0, 13.0
GROUPING = ("viewed-same-product-repeatedly", "category-browsers")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events-per-customer", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the bench store for the next run")
    parser.add_argument("--fresh", action="store_true", help="generate the data again even if it was kept")
    parser.add_argument(
        "--only", help="these presets only, comma-separated (the lists, freshness and growth are skipped)"
    )
    args = parser.parse_args()
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    common.migrate()
    store = dataset.bench_store(args.customers, args.events_per_customer, fresh=args.fresh)
    try:
        dataset.analyze()
        failed = report(store, args.repeat, only)
        if only is None:
            failed = lists(store, args.repeat) or failed
            failed = freshness(store) or failed
            failed = growth(store, args.repeat) or failed
        print(f"\n{common.machine()}")
    finally:
        if not args.keep:
            common.store_remove(store)
    if failed:
        sys.exit("MISMATCH: two counts of one set differ (see above)")


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


def cold(run) -> float:
    """One run on a fresh connection: no cached plans or catalog entries (the connection is not timed)."""
    connection.close()
    connection.ensure_connection()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def preview(client, segment: Segment, repeat: int) -> tuple[float, dict]:
    """The builder's preview of the saved rules as staff editing the preset load it (p95 of `repeat`
    loads; the view counts at the wall clock's now), and what it shows at the data's NOW (compared)."""
    body = json.dumps({"store": segment.store_id, "segment": segment.pk, "rules": segment.rules})
    seconds, _, _ = common.load_page(client, "post", "/admin/customers/segment/preview/", repeat, data=body,
                                     content_type="application/json")  # fmt: skip
    shown = builder_preview(store=segment.store, rules=segment.rules, segment=segment, now=NOW)
    return common.percentile(seconds, 0.95), shown


def report(store, repeat: int, only: list[str] | None = None) -> bool:
    """The presets' table; True when two counts of one set differed."""
    customers = Customer.objects.filter(store=store).count()
    events = Event.objects.filter(store=store).count()
    print(f"{connection.vendor}: {customers:,} customers, {events:,} events; warm = best of {repeat} runs")
    print(
        "count: members_count, as 'count now' and sends count; floor: the hand-written SQL for the same set;"
        " preview: the builder's count and change, p95 of warm loads (\"~\" an estimate);"
        " rebuild: a stored preset's full refresh (the reference);"
        " read/page: its count and first page from its rows."
        " PASS = count (or, stored,"
        " read and page) <= 1 s and <= 1.5x the floor, and preview <= 1 s\n"
    )
    print(
        f"{'preset':32} {'members':>9} {'cold ms':>8} {'warm ms':>8} {'page ms':>8} {'floor ms':>8}"
        f" {'ratio':>6}"
        f" {'preview ms':>10} {'rebuild ms':>10} {'read ms':>8} {'page ms':>8}  verdict"
    )
    client = common.staff_client()
    mismatch, misses = False, []
    for segment in (
        Segment.objects.filter(store=store).exclude(preset="").select_related("store").order_by("pk")
    ):
        if only is not None and segment.preset not in only:
            continue
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
        orm_time, orm_count = common.best_of(repeat, count)
        page_time, _ = common.best_of(repeat, page)
        sql_time, sql_count = common.best_of(repeat, raw)
        ratio = orm_time / sql_time if sql_time else float("inf")
        preview_time, shown = preview(client, segment, repeat)
        estimated = shown.get("estimate") is not None
        flags = []
        if orm_count != sql_count:
            flags.append(f"MISMATCH (SQL {sql_count:,})")
        if not estimated and shown.get("count") != orm_count:
            flags.append(f"MISMATCH (preview {shown.get('count')})")
        if estimated and abs(shown["count"] - orm_count) > 3 * max(shown["estimate"]["margin"], 1):
            flags.append(f"MISMATCH (estimate {shown['count']:,} ± {shown['estimate']['margin']:,})")
        if segment.stored:
            rebuild_time, read_time, stored_page_time, stored_count = stored_figures(segment, repeat)
            stored = f" {rebuild_time * 1000:>10.1f} {read_time * 1000:>8.1f} {stored_page_time * 1000:>8.1f}"
            passed = max(read_time, stored_page_time) * 1000 <= GOAL_MS
            if stored_count != orm_count:
                flags.append(f"MISMATCH (rows {stored_count:,})")
        else:
            stored = f" {'':>10} {'':>8} {'':>8}"
            passed = orm_time * 1000 <= GOAL_MS and ratio <= GOAL_RATIO
        passed = passed and preview_time * 1000 <= GOAL_MS and not flags
        mismatch = mismatch or bool(flags)
        if not passed:
            misses.append(segment.preset)
        mark = "~" if estimated else " "
        print(
            f"{segment.preset:32} {orm_count:>9,} {cold_time * 1000:>8.1f} {orm_time * 1000:>8.1f}"
            f" {page_time * 1000:>8.1f} {sql_time * 1000:>8.1f} {ratio:>6.2f}"
            f" {mark}{preview_time * 1000:>9.1f}"
            f"{stored}  {common.verdict(passed)} {' '.join(flags)}"
        )
    print(f"\nmisses: {', '.join(misses) or 'none'}")
    return mismatch


def stored_figures(segment: Segment, repeat: int) -> tuple[float, float, float, int]:
    """A stored preset: one full rebuild at NOW (forced, as the data may have been refreshed by an
    earlier run), then its count as the list reads it and its first page from the rows, warm."""
    Segment.objects.filter(pk=segment.pk).update(refreshed_at=None)
    started = time.perf_counter()
    segment_refresh(segment=segment, now=NOW)
    rebuild_time = time.perf_counter() - started

    def read() -> int:  # as the admin list and the API read it: the segment row and its counts
        return Segment.objects.get(pk=segment.pk).counted_members

    read_time, stored_count = common.best_of(repeat, read)
    page_time, _ = common.best_of(
        repeat, lambda: list(stored_members(segment).order_by("pk").values_list("pk", flat=True)[:50])
    )
    return rebuild_time, read_time, page_time, stored_count


def lists(store, repeat: int) -> bool:
    """The segment list in the admin and in the API, as loaded."""
    client = common.staff_client()
    print(f"\n{'page':44} {'p95 ms':>8} {'slowest query ms':>17}  verdict (<= 1 s)")
    for name, url, kwargs in (
        ("admin: segment list", "/admin/customers/segment/", {}),
        ("API: GET /api/v1/segments/", "/api/v1/segments/", common.api_headers(store)),
    ):
        seconds, queries, status = common.load_page(client, "get", url, max(3, repeat), **kwargs)
        p95 = common.percentile(seconds, 0.95) * 1000
        print(f"{name:44} {p95:>8.1f} {queries.slowest()[0] * 1000:>17.1f}  {common.verdict(p95 <= GOAL_MS)}"
              f"{'' if status == 200 else f' (status {status})'}")  # fmt: skip
    return False


def freshness(store) -> bool:
    """Events arrive; the minute's refresh runs; every stored preset's count equals its live count."""
    segments_refresh(now=NOW)  # up to NOW first (a rebuild where the rules or data changed)
    rng = random.Random(5)
    people = list(Customer.objects.filter(store=store).values_list("external_id", flat=True)[:20_000])
    products = list(Product.objects.filter(store=store).values_list("external_id", flat=True))
    arrived = NOW + timedelta(seconds=30)
    batch = []
    for n in range(1000):
        external_id = rng.choice(people)
        kind = rng.choice(["product_viewed", "product_viewed", "checkout_started", "order_placed"])
        product = rng.choice(products)
        item = {"product_id": product, "price": 20, "quantity": 1}
        properties = {
            "product_viewed": {"product_id": product},
            "checkout_started": {"checkout_id": f"f{n}", "checkout_url": "https://bench.example.com/k",
                                 "items": [item]},
            "order_placed": {"order_id": f"fresh-{n}", "total": 20, "items": [item]},
        }[kind]  # fmt: skip
        batch.append({"id": f"fresh-{NOW.timestamp()}-{n}", "type": kind, "occurred_at": arrived.isoformat(),
                      "customer": {"external_id": external_id},
                      "properties": properties})  # fmt: skip
    events_ingest(store=store, payloads=batch, now=arrived)
    minute = NOW + timedelta(minutes=1)
    started = time.perf_counter()
    report = segments_refresh(now=minute)
    seconds = time.perf_counter() - started
    print(f"\nfreshness: 1,000 events at NOW + 30 s, then the minute's refresh at NOW + 1 min took "
          f"{seconds:.2f} s (rebuilt: {len(report.rebuilt)} of {len(report.refreshed)}) "
          f"{common.verdict(seconds <= GOAL_FRESH_S)} (<= {GOAL_FRESH_S:.0f} s: done within the minute)"
          )  # fmt: skip
    mismatch = False
    for segment in Segment.objects.filter(store=store, stored=True).select_related("store").order_by("pk"):
        live = members_count(segment, now=minute)
        same = segment.counted_members == live and segment.counted_at == minute
        mismatch = mismatch or not same
        print(f"  {segment.preset:32} rows {segment.counted_members:>9,} live {live:>9,}  "
              f"{'PASS' if same else 'MISMATCH'}")  # fmt: skip
    return mismatch


def growth(store, repeat: int) -> bool:
    """The grouping presets' rebuild over a tenth of the customers, and over all of them: the same code
    both times (ranges of ids found, then evaluated and written a range at a time), taken in turns,
    best of `repeat` each, so a burst of load on a shared machine does not land on one side only."""
    print("\ngrowth of the grouping presets' rebuild: a tenth of the customers against all of them")
    ranges = id_ranges(store.pk, max(1, Customer.objects.filter(store=store).count() // 10))
    low, high = ranges[0]
    for segment in Segment.objects.filter(store=store, preset__in=GROUPING).select_related("store"):
        tenths, wholes = [], []
        for _ in range(max(1, repeat)):
            tenths.append(common.best_of(1, lambda s=segment: _rebuild(s, NOW, low=low, high=high))[0])
            wholes.append(common.best_of(1, lambda s=segment: _rebuild(s, NOW))[0])
        tenth, whole = min(tenths), min(wholes)
        ratio = whole / tenth if tenth else float("inf")
        print(f"  {segment.preset:32} tenth {tenth * 1000:>9.1f} ms  all {whole * 1000:>9.1f} ms  "
              f"x{ratio:.1f} for x10 customers  {common.verdict(ratio <= GOAL_GROWTH)}")  # fmt: skip
    return False


if __name__ == "__main__":
    main()
