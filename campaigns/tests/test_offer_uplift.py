"""Offer uplift from the store's offer tests: judged by Qini against the code-share rule, written
through customers' function, on a generated store where who an offer moves is known."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.test import override_settings

from campaigns.models import Experiment, ExperimentExposure, ExperimentVariant, Flow, FlowStep
from campaigns.reports.uplift import store_offer_uplift
from customers.models import CustomerPrediction, Event
from customers.predictions.features import snapshot
from customers.predictions.refresh import store_predictions_refresh
from customers.tests.predicted_store import predicted_store_fill
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db

STARTED = NOW - timedelta(days=50)
LAPSED_DAYS = 30


def offer_test(store) -> Experiment:
    flow = Flow.objects.create(
        store=store, name="Cart", slug="cart", event_type="cart_updated", status="live"
    )
    step = FlowStep.objects.create(flow=flow, position=1, body="Your cart: {{ cart_link }}")
    experiment = Experiment.objects.create(
        store=store, name="Offer or not", lever="offer", flow_step=step, goal="orders", started_at=STARTED
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="No offer", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="15 % off", offer_code="SAVE15")
    return experiment


def placed_with_known_response(store, experiment, seed: int = 3) -> None:
    """Lapsed customers (no order for 30+ days) order when offered; recent ones order anyway."""
    rng = np.random.default_rng(seed)
    s = snapshot(store=store, cutoff=STARTED, outcomes=False)
    lapsed = (s.raw["ordered"] > 0) & (s.raw["recency"] >= LAPSED_DAYS)
    recent = (s.raw["ordered"] > 0) & ~lapsed
    offered = rng.random(len(s)) < 0.5
    chance = np.where(recent, 0.3, 0.05) + np.where(lapsed & offered, 0.4, 0.0)
    ordered = rng.random(len(s)) < chance
    at = [STARTED + timedelta(days=float(d)) for d in rng.uniform(0, 40, len(s))]
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


def test_the_uplift_model_finds_who_an_offer_moves_and_beats_the_rule():
    store = store_make("offers")
    predicted_store_fill(store=store, customers=1500, now=NOW)
    placed_with_known_response(store, offer_test(store))
    with override_settings(PREDICTIONS_MIN_ORDERING_CUSTOMERS=200):
        store_predictions_refresh(store=store, now=NOW)

    verdict = store_offer_uplift(store=store, now=NOW)

    assert verdict["used"], verdict
    assert verdict["model"]["qini_top_30"] > verdict["rule"]["qini_top_30"]
    s = snapshot(store=store, cutoff=NOW, outcomes=False)
    uplift = dict(CustomerPrediction.objects.filter(store=store).values_list("customer_id", "offer_uplift"))
    got = np.array([uplift[pk] for pk in s.customer_ids.tolist()])
    lapsed = (s.raw["ordered"] > 0) & (s.raw["recency"] >= LAPSED_DAYS)
    recent = (s.raw["ordered"] > 0) & ~lapsed
    assert got[lapsed].mean() > got[recent].mean() + 0.1
    assert store.prediction_runs.latest("started_at").evaluation["uplift"] == verdict


def test_without_offer_tests_the_rule_stays_and_the_run_says_what_is_missing():
    store = store_make("no-offers")
    predicted_store_fill(store=store, customers=30, now=NOW)
    store_predictions_refresh(store=store, now=NOW)

    verdict = store_offer_uplift(store=store, now=NOW)

    assert verdict == {
        "title": "Extra chance of an order an offer buys (offer tests)",
        "customers": 0,
        "used": False,
        "why": "needs 200 customers with and without the offer in the store's offer tests; you have 0 and 0",
    }
    assert not CustomerPrediction.objects.filter(store=store, offer_uplift__isnull=False).exists()
