#!/usr/bin/env python
"""Every staff page (and the API's segment list) as a logged-in superuser loads it through the test
client, at the README's sizes: time per page beside its slowest query.

    python bench/pages.py                                   # 100,000 customers, ~1M events, 100k texts
    python bench/pages.py --customers 1000000 --texts 1000000 --keep   # the 1M / 10M / 1M goal
    DATABASE_URL=postgres://.../bench python bench/pages.py --keep

The data is bench/dataset.py's (the same kept store as bench/segments.py), plus `--texts` texts half
from a flow and half from a campaign, each with a tracked link. Each page is loaded once untimed,
then `--repeat` times (default 5): the p95 of those loads, and the slowest query of the last one.
PASS when the p95 is <= 1 s. Pages whose lists are long say "about N" (an estimate) where counting
every row is not needed; the page's status must be 200.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import common

common.django_setup()

import dataset  # noqa: E402
from django.urls import reverse  # noqa: E402

from campaigns.models import Campaign, Flow  # noqa: E402
from customers.models import Customer, Segment  # noqa: E402

GOAL_MS = 1000.0


def pages(store) -> list[tuple[str, str, str, dict]]:
    """(what a user does, method, URL, request arguments)."""
    customer = Customer.objects.filter(store=store).order_by("pk")[1234:1235].get()
    stored = Segment.objects.get(store=store, preset="category-browsers")
    flow = Flow.objects.get(store=store, slug="bench-cart")
    campaign = Campaign.objects.get(store=store, slug="bench-drop")
    week = urlencode({"occurred_at__gte": (dataset.NOW - timedelta(days=7)).isoformat(),
                      "occurred_at__lt": dataset.NOW.isoformat()})  # fmt: skip
    preview = "/admin/customers/segment/preview/"

    def builder(segment_id: int | None) -> dict:
        body = {"store": store.pk, "segment": segment_id, "rules": stored.rules}
        return {"data": json.dumps(body), "content_type": "application/json"}

    return [
        ("admin home: the dashboard", "get", "/admin/", {}),
        ("admin home: the dashboard, 90 days", "get", "/admin/?days=90", {}),
        ("event list", "get", "/admin/customers/event/", {}),
        ("event list, one store", "get", f"/admin/customers/event/?store={store.pk}", {}),
        ("event list, one type", "get", "/admin/customers/event/?type=checkout_started", {}),
        (
            "event list, a week",
            "get",
            f"/admin/customers/event/?{week}",
            {},
        ),
        ("event list, a customer's (search)", "get", f"/admin/customers/event/?q={customer.first_name}", {}),
        ("text list", "get", "/admin/campaigns/message/", {}),
        ("text list, failed", "get", "/admin/campaigns/message/?status=failed", {}),
        ("text list, held back by a cap", "get", "/admin/campaigns/message/?reason=frequency_cap", {}),
        ("text list, a campaign's", "get", f"/admin/campaigns/message/?campaign={campaign.pk}", {}),
        ("segment list", "get", "/admin/customers/segment/", {}),
        ("API: GET /api/v1/segments/", "get", "/api/v1/segments/", common.api_headers(store)),
        ("builder: edit a stored preset (preview)", "post", preview, builder(stored.pk)),
        ("builder: a new segment like it (preview)", "post", preview, builder(None)),
        ("customer list", "get", "/admin/customers/customer/", {}),
        ("customer search by phone", "get", f"/admin/customers/customer/?q={customer.phone[-7:]}", {}),
        ("customer search by name", "get", f"/admin/customers/customer/?q={customer.first_name}", {}),
        ("customer page", "get", f"/admin/customers/customer/{customer.pk}/change/", {}),
        ("flow report", "get", reverse("admin:reports_flow", args=[flow.pk]), {}),
        ("campaign report", "get", reverse("admin:reports_campaign", args=[campaign.pk]), {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--texts", type=int, help="texts in the store (default: as many as customers)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the data for the next run")
    parser.add_argument("--fresh", action="store_true", help="generate the data again even if it was kept")
    parser.add_argument("--only", default="", help="time only the pages whose name contains this text")
    args = parser.parse_args()
    texts = args.customers if args.texts is None else args.texts
    common.migrate()
    store = dataset.bench_store(args.customers, fresh=args.fresh)
    try:
        have = dataset.texts_count(store)
        if have != texts:
            if have:
                common.store_texts_remove(store)
            dataset.texts_generate(store, texts)
        rollups_settle(store)
        dataset.analyze()
        report(store, args.repeat, texts, args.only)
    finally:
        if not args.keep:
            common.store_remove(store)


def rollups_settle(store) -> None:
    """The reports' rollup and the list health as the tick keeps them (the rollup the first time at
    1M texts: minutes), vacuumed as autovacuum leaves a settled table so its counts are index-only."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import ReportDay, ReportReach
    from campaigns.reports.rollups import report_days_refresh_stores
    from customers.segments.health import list_health_refresh

    started = time.perf_counter()
    days = report_days_refresh_stores(now=timezone.now(), store_ids=[store.pk])
    if days:
        print(f"report days counted: {days} in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    list_health_refresh(now=timezone.now(), store_ids=[store.pk])
    spent = (time.perf_counter() - started) * 1000
    print(f"list health counted in {spent:.0f} ms (kept by the reports stage every 5 minutes)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (ReportDay, ReportReach):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def report(store, repeat: int, texts: int, only: str = "") -> None:
    customers = Customer.objects.filter(store=store).count()
    print(f"{customers:,} customers, ~{customers * 10:,} events, {texts:,} texts; p95 of {repeat} warm loads")
    print(f"\n{'what a user does':46} {'p95 ms':>8} {'slowest query ms':>17}  verdict (<= 1 s)")
    client, misses = common.staff_client(), []
    for name, method, url, kwargs in pages(store):
        if only not in name:
            continue
        seconds, queries, status = common.load_page(client, method, url, repeat, **kwargs)
        p95 = common.percentile(seconds, 0.95) * 1000
        ok = p95 <= GOAL_MS and status == 200
        if not ok:
            misses.append(name)
        note = "" if status == 200 else f" (status {status})"
        print(f"{name:46} {p95:>8.1f} {queries.slowest()[0] * 1000:>17.1f}  {common.verdict(ok)}{note}")
    print(f"\nmisses: {', '.join(misses) or 'none'}")
    print(common.machine())


if __name__ == "__main__":
    main()
