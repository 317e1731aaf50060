"""A generated store's offer test where who an offer moves is known: the uplift test's and bench's data."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from campaigns.models import Experiment, ExperimentExposure, ExperimentVariant, Flow, FlowStep
from customers.models import Event, Store
from customers.predictions.features import snapshot

TEST_DAYS_BEFORE = 50
LAPSED_DAYS = 30


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
    chance = np.where(recent, 0.3, 0.05) + np.where(lapsed & offered, 0.4, 0.0)
    ordered = rng.random(len(s)) < chance
    at = [experiment.started_at + timedelta(days=float(d)) for d in rng.uniform(0, 40, len(s))]
    ids = s.customer_ids.tolist()
    ExperimentExposure.objects.bulk_create(
        ExperimentExposure(experiment=experiment, customer_id=pk, arm="B" if o else "A", at=when)
        for pk, o, when in zip(ids, offered.tolist(), at, strict=True)
    )
    Event.objects.bulk_create(
        Event(
            store=store,
            customer_id=pk,
            type="order_placed",
            occurred_at=when + timedelta(days=1),
            received_at=when + timedelta(days=1),
            idempotency_key=f"test-order-{pk}",
            properties={"order_id": f"t{pk}", "total": 40, **({"discount_code": "SAVE15"} if o else {})},
        )
        for pk, o, when, yes in zip(ids, offered.tolist(), at, ordered.tolist(), strict=True)
        if yes
    )
