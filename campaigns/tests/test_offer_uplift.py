"""Offer uplift from the store's offer tests: judged by Qini against the code-share rule, written
through customers' function, on a generated store where who an offer moves is known."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import override_settings

from campaigns.reports.uplift import store_offer_uplift
from campaigns.tests.offer_store import (
    LAPSED_DAYS,
    cart_recovery_backtest,
    carts_left,
    offer_test,
    placed_with_known_response,
)
from customers.models import CustomerPrediction
from customers.predictions.features import snapshot
from customers.predictions.refresh import store_predictions_refresh
from customers.tests.predicted_store import predicted_store_fill
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db


def offer_tested(slug: str):
    """1,500 generated customers, an offer test placing them, and a prediction run."""
    store = store_make(slug)
    predicted_store_fill(store=store, customers=1500, now=NOW)
    placed_with_known_response(store, offer_test(store, now=NOW))
    with override_settings(PREDICTIONS_MIN_ORDERING_CUSTOMERS=200):
        store_predictions_refresh(store=store, now=NOW)
    return store


def test_the_uplift_model_finds_who_an_offer_moves_and_beats_the_rule():
    store = offer_tested("offers")

    verdict = store_offer_uplift(store=store, now=NOW)

    assert verdict["used"], verdict
    assert verdict["model"]["qini_top_30"] > verdict["rule"]["qini_top_30"]
    # "a code to the offer-sensitive" replayed on the judged placements: held to as many codes as
    # the rule sends, the model's pick orders at least as much
    assert verdict["model"]["orders_with_the_rules_codes"] >= verdict["rule"]["orders"]
    s = snapshot(store=store, cutoff=NOW, outcomes=False)
    uplift = dict(CustomerPrediction.objects.filter(store=store).values_list("customer_id", "offer_uplift"))
    got = np.array([uplift[pk] for pk in s.customer_ids.tolist()])
    lapsed = (s.raw["ordered"] > 0) & (s.raw["recency"] >= LAPSED_DAYS)
    recent = (s.raw["ordered"] > 0) & ~lapsed
    assert got[lapsed].mean() > got[recent].mean() + 0.1
    assert store.prediction_runs.latest("started_at").evaluation["uplift"] == verdict


def test_cart_recoverys_offer_step_split_by_the_uplift_sends_fewer_codes_for_more_orders():
    store = offer_tested("offer-backtest")
    store_offer_uplift(store=store, now=NOW)
    assert carts_left(store, now=NOW) > 100

    found = cart_recovery_backtest(store, now=NOW)

    learned, rule = found["learned"], found["rule"]
    assert learned["reached"] == rule["reached"] > 100  # the same runs reach the offer step's split
    assert 0 < learned["codes"] < rule["codes"]
    assert learned["orders"] >= rule["orders"]
    with override_settings(PREDICTIONS_OFFER_SENSITIVE_POINTS=5):  # a lower bar: more codes, more orders
        generous = cart_recovery_backtest(store, now=NOW)["learned"]
    assert generous["codes"] > learned["codes"] and generous["orders"] > learned["orders"]


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
