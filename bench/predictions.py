#!/usr/bin/env python
"""Train, judge and score a store's predictions at a given size; print time beside a floor and each
model's figures beside the rule it replaces.

    python bench/predictions.py                        # 20,000 customers (~21 events each)
    python bench/predictions.py --customers 1000000    # the 1M customers / 10M+ events goal
    DATABASE_URL=postgres://.../bench python bench/predictions.py

The store is generated with known behaviour (customers/tests/predicted_store.py): each customer
orders at their own rate until the day they quietly stop, and clicks and views while active. The
floor is the feature query alone (one snapshot of every customer, the database's part of a run);
a run reads three snapshots, fits and judges four models and writes every score, so about four
floors is what a run costs at best. The figures are those the model page shows: AUC for the order
and churn models (with calibration), mean absolute error for next order and value, model beside
rule, on the 60 days after the judged snapshot, which no model saw; and for the offer uplift (an
offer test where lapsed customers order when offered, recent ones anyway), the orders an offer added
among the top 30 % by the model's uplift and by the code-share rule, on the later 30 % of placements;
and cart recovery backtested over the last 30 days (carts left by a share of product views), its offer
step split by the learned "offer-sensitive" and by the rule: the codes each sends and the orders the
store's known response gives (recent buyers order anyway, lapsed ones when offered).

Runs on the configured database (DATABASE_URL, else the project's SQLite file), migrated first.
It builds its own store, slug `bench-predictions`, and deletes it afterwards; `--keep` leaves it.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import common

common.django_setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from campaigns.models import Experiment, Flow  # noqa: E402
from campaigns.reports.uplift import store_offer_uplift  # noqa: E402
from campaigns.tests.offer_store import (  # noqa: E402
    cart_recovery_backtest,
    carts_left,
    offer_test,
    placed_with_known_response,
)
from customers.models import Customer, CustomerPrediction, Event, PredictionRun, Store  # noqa: E402
from customers.predictions.features import snapshot  # noqa: E402
from customers.predictions.refresh import store_predictions_refresh  # noqa: E402
from customers.tests.predicted_store import predicted_store_fill  # noqa: E402

SLUG = "bench-predictions"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the bench store for the next run")
    parser.add_argument(
        "--no-backtest",
        action="store_true",
        help="skip the cart recovery backtest (one run a cart, in Python)",
    )
    args = parser.parse_args()

    common.migrate()
    store = Store.objects.filter(slug=SLUG).first()
    if store and Customer.objects.filter(store=store).count() != args.customers:
        drop(store)
        store = None
    if store is None:
        started = time.perf_counter()
        store = Store.objects.create(slug=SLUG, brand_name="Bench", site_url="https://bench.example.com")
        events = predicted_store_fill(store=store, customers=args.customers, now=NOW)
        placed_with_known_response(store, offer_test(store, now=NOW))
        carts = 0 if args.no_backtest else carts_left(store, now=NOW)
        took = time.perf_counter() - started
        print(
            f"generated {args.customers:,} customers, {events:,} events, {carts:,} carts left in {took:.0f} s"
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE customers_event")
    try:
        report(store, backtest_too=not args.no_backtest)
    finally:
        if not args.keep:
            drop(store)


def report(store: Store, *, backtest_too: bool) -> None:
    started = time.perf_counter()
    floor_snapshot = snapshot(store=store, cutoff=NOW)
    floor = time.perf_counter() - started
    started = time.perf_counter()
    # the bench's store is the size asked for: no minimum stands in the way
    with override_settings(PREDICTIONS_MIN_ORDERING_CUSTOMERS=1):
        run = store_predictions_refresh(store=store, now=NOW).run
    took = time.perf_counter() - started
    print(f"\n{len(floor_snapshot):,} customers scored, {run.scored:,} scores written")
    print(f"floor (the feature query, one snapshot): {floor:8.2f} s")
    print(f"run (3 snapshots, 8 fits, judging, scores written): {took:8.2f} s  = {took / floor:.1f} × floor")
    if run.shortfall:
        print(f"models not trained: {run.shortfall}")
        return
    print(f"\n{'score':<12}{'customers':>10}  {'model':>16}  {'rule':>16}  scoring by")
    for kind, verdict in run.evaluation.items():
        model, rule = verdict.get("model", {}), verdict.get("rule", {})
        metric = next(iter(model), "")  # AUC, MAE, or the best hour's share within an hour
        label = {"share_near": "NEAR"}.get(metric, metric.upper())
        figures = [f"{label:>4} {side.get(metric, float('nan')):>11.3f}" for side in (model, rule)]
        by = "model" if verdict["used"] else "rule"
        print(f"{kind:<12}{verdict.get('customers', 0):>10,}  {figures[0]}  {figures[1]}  {by}")
    started = time.perf_counter()
    uplift = store_offer_uplift(store=store, now=NOW)
    took = time.perf_counter() - started
    print(f"\noffer uplift ({uplift['customers']:,} customers placed in the offer test): {took:.2f} s")
    if "model" in uplift:
        model, rule = uplift["model"]["qini_top_30"], uplift["rule"]["qini_top_30"]
        by = "model" if uplift["used"] else "rule"
        print(f"orders added per 100 customers in the top 30 %: model {model:.2f}, rule {rule:.2f}  {by}")
        m, r = uplift["model"], uplift["rule"]
        print(
            f"a code to the offer-sensitive, replayed: model {m['codes']:,} codes → {m['orders']:,.0f} orders"
            f"; rule {r['codes']:,} codes → {r['orders']:,.0f} orders;"
            f" model with the rule's {r['codes']:,} codes → {m['orders_with_the_rules_codes']:,.0f} orders"
        )
        if backtest_too:
            backtest(store)
    else:
        print(uplift["why"])
    for kind in ("order", "churn"):
        bins = run.evaluation[kind].get("calibration", [])
        print(
            f"{kind} calibration (predicted → happened): "
            + ", ".join(f"{b['predicted']:.0%}→{b['observed']:.0%}" for b in bins)
        )


def backtest(store: Store) -> None:
    """Cart recovery over the last 30 days, its offer step split by the learned "offer-sensitive" at
    the configured points and other bars, and by the code-share rule it replaces."""
    started = time.perf_counter()
    found = cart_recovery_backtest(store, now=NOW)
    took = time.perf_counter() - started
    points = settings.PREDICTIONS_OFFER_SENSITIVE_POINTS
    rows = {f"offer uplift {points}+ points (configured)": found["learned"]}
    for other in sorted({5, 10, 30} - {points}):
        with override_settings(PREDICTIONS_OFFER_SENSITIVE_POINTS=other):
            rows[f"offer uplift {other}+ points"] = cart_recovery_backtest(store, now=NOW)["learned"]
    rows["rule: half of orders with a code"] = found["rule"]
    print(
        f"\ncart recovery backtest, last 30 days ({found['rule']['carts']:,} carts,"
        f" {found['rule']['reached']:,} reached the offer split; {took:.1f} s a replay pair)"
    )
    for label, row in rows.items():
        print(f"  {label:<42}{row['codes']:>8,} codes  {row['orders']:>10,.1f} orders (known response)")


def drop(store: Store) -> None:
    """Set-based: the ORM's cascade would load every event's id first."""
    Experiment.objects.filter(store=store).delete()
    Flow.objects.filter(store=store).delete()
    for model in (CustomerPrediction, PredictionRun, Event, Customer):
        model.objects.filter(store=store)._raw_delete(connection.alias)
    store.delete()


if __name__ == "__main__":
    main()
