"""A generated store's offer test where who an offer moves is known: the uplift test's and bench's data,
and cart recovery's offer step backtested on it, split by the learned "offer-sensitive" and by the rule."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np

from campaigns.flows.backtest import flow_backtest
from campaigns.flows.recipes import recipe_install
from campaigns.models import Experiment, ExperimentExposure, ExperimentVariant, Flow, FlowStep
from customers.ingest.metrics import store_metrics_recompute
from customers.models import Customer, Event, Segment, Store
from customers.predictions.features import snapshot

TEST_DAYS_BEFORE = 50
LAPSED_DAYS = 30
RECENT_CHANCE, BASE_CHANCE, OFFER_LIFT = 0.3, 0.05, 0.4
CART_SHARE = 0.3  # product views in the backtest's 30 days that leave a cart
RULE = {"type": "metric", "metric": "discount_order_share", "op": "gte", "value": 0.5}


def offer_test(store: Store, *, now: datetime) -> Experiment:
    flow = Flow.objects.create(
        store=store, name="Cart", slug="cart", event_type="cart_updated", status="live"
    )
    step = FlowStep.objects.create(flow=flow, position=1, body="Your cart: {{ cart_link }}")
    experiment = Experiment.objects.create(
        store=store,
        name="Offer or not",
        lever="offer",
        flow_step=step,
        goal="orders",
        started_at=now - timedelta(days=TEST_DAYS_BEFORE),
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="No offer", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="15 % off", offer_code="SAVE15")
    return experiment


def placed_with_known_response(store: Store, experiment: Experiment, seed: int = 3) -> None:
    """Lapsed customers (no order for 30+ days) order when offered; recent ones order anyway."""
    rng = np.random.default_rng(seed)
    s = snapshot(store=store, cutoff=experiment.started_at, outcomes=False)
    lapsed = (s.raw["ordered"] > 0) & (s.raw["recency"] >= LAPSED_DAYS)
    recent = (s.raw["ordered"] > 0) & ~lapsed
    offered = rng.random(len(s)) < 0.5
    chance = np.where(recent, RECENT_CHANCE, BASE_CHANCE) + np.where(lapsed & offered, OFFER_LIFT, 0.0)
    ordered = rng.random(len(s)) < chance
    at = [experiment.started_at + timedelta(days=float(d)) for d in rng.uniform(0, 40, len(s))]
    ids = s.customer_ids.tolist()
    ExperimentExposure.objects.bulk_create(
        ExperimentExposure(experiment=experiment, customer_id=pk, arm="B" if o else "A", at=when)
        for pk, o, when in zip(ids, offered.tolist(), at, strict=True)
    )
    Event.objects.bulk_create(
        _event(store, pk, "order_placed", when + timedelta(days=1), f"test-order-{pk}",
               {"order_id": f"t{pk}", "total": 40, **({"discount_code": "SAVE15"} if o else {})})
        for pk, o, when, yes in zip(ids, offered.tolist(), at, ordered.tolist(), strict=True)
        if yes
    )  # fmt: skip


def _event(store: Store, customer_id: int, kind: str, at: datetime, key: str, properties: dict) -> Event:
    return Event(
        store=store, customer_id=customer_id, type=kind, occurred_at=at, received_at=at, idempotency_key=key,
        properties=properties,
    )  # fmt: skip


def carts_left(store: Store, *, now: datetime, seed: int = 5) -> int:
    """Carts left in the 30 days before `now`, one for a share of the product views: the customers who
    browse and buy most leave the most. Every customer is subscribed, their order figures recomputed
    from the events (the code-share rule reads them)."""
    rng = np.random.default_rng(seed)
    views = list(
        Event.objects.filter(
            store=store, type="product_viewed", occurred_at__gte=now - timedelta(days=30), occurred_at__lt=now
        ).values_list("customer_id", "occurred_at")
    )
    picked = [
        view for view, draw in zip(views, rng.random(len(views)).tolist(), strict=True) if draw < CART_SHARE
    ]
    Event.objects.bulk_create(
        (
            _event(store, pk, "cart_updated", at + timedelta(minutes=5), f"test-cart-{n}",
                   {"cart_id": f"c{n}", "cart_url": f"https://bench.example.com/cart/c{n}"})
            for n, (pk, at) in enumerate(picked)
        ),
        batch_size=5_000,
    )  # fmt: skip
    Customer.objects.filter(store=store).update(sms_consent=Customer.Consent.SUBSCRIBED)
    store_metrics_recompute(store=store)
    return len(picked)


def cart_recovery_backtest(store: Store, *, now: datetime) -> dict[str, dict]:
    """Cart recovery replayed over the last 30 days twice: its offer step split by the learned
    "offer-sensitive" (the recipe's) and by the code-share rule. Per split: the codes sent and the
    orders expected from the store's known response (recent buyers order anyway, lapsed ones when
    offered), over the runs that reached the offer step's split."""
    flow = recipe_install(store=store, name="cart_recovery")
    steps = list(flow.steps.order_by("position"))
    split = next(i for i, step in enumerate(steps) if step.kind == FlowStep.Kind.SPLIT)
    rule, _ = Segment.objects.get_or_create(
        store=store,
        slug="code-share",
        defaults={"name": "Code share", "rules": {"type": "group", "match": "all", "children": [RULE]}},
    )
    found = {}
    for name, segment in (("learned", steps[split].segment), ("rule", rule)):
        FlowStep.objects.filter(pk=steps[split].pk).update(segment=segment)
        report = flow_backtest(flow=flow, now=now)
        reached = report.steps[split].reached_by
        coded = set(report.steps[split + 1].delivered_to)
        found[name] = {
            "carts": report.runs,
            "reached": len(reached),
            "codes": len(coded),
            "orders": _orders_expected(store, reached, coded),
        }
    return found


def _orders_expected(store: Store, reached: list[tuple[int, datetime]], coded: set) -> float:
    last_orders = defaultdict(list)
    for pk, at in Event.objects.filter(
        store=store, type="order_placed", customer_id__in={pk for pk, _ in reached}
    ).values_list("customer_id", "occurred_at"):
        last_orders[pk].append(at)
    total = 0.0
    for pk, at in reached:
        before = [o for o in last_orders[pk] if o < at]
        lapsed = bool(before) and at - max(before) >= timedelta(days=LAPSED_DAYS)
        total += RECENT_CHANCE if before and not lapsed else BASE_CHANCE
        total += OFFER_LIFT if lapsed and (pk, at) in coded else 0.0
    return total
