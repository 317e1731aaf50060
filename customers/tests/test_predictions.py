"""Predictions: trained on a store's past, judged on later data against the rules, scores written in sets."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.test import override_settings

from customers.demo import demo_load
from customers.models import Customer, CustomerPrediction, Event, PredictionRun
from customers.predictions import learn
from customers.predictions.refresh import predictions_due, store_predictions_refresh
from customers.privacy import customer_data_export
from customers.segments import rules_count
from customers.tests.predicted_store import order_days_ago, predicted_store_fill
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def known():
    """A generated store of 600 customers whose true behaviour is known, trained and scored."""
    store = store_make("known")
    predicted_store_fill(store=store, customers=600, now=NOW)
    with override_settings(PREDICTIONS_MIN_ORDERING_CUSTOMERS=200):
        return store_predictions_refresh(store=store, now=NOW)


def test_it_beats_the_rules_on_a_store_whose_behaviour_is_known(known):
    evaluation = known.run.evaluation

    assert known.run.shortfall == ""
    for kind in ("order", "churn"):
        assert evaluation[kind]["used"], evaluation[kind]
        assert evaluation[kind]["model"]["auc"] > evaluation[kind]["rule"]["auc"]
        assert len(evaluation[kind]["calibration"]) == learn.CALIBRATION_BINS
    assert evaluation["order"]["model"]["auc"] > 0.75
    assert set(known.models) == {kind for kind in learn.TASK_BY_KIND if evaluation[kind]["used"]}


def test_the_stored_scores_are_the_models_own_predictions(known):
    current = known.current
    stored = {
        p.customer_id: p for p in CustomerPrediction.objects.filter(store=known.run.store, run=known.run)
    }
    order = learn.predict(learn.TASK_BY_KIND["order"], known.models["order"], current.X)
    churn = learn.predict(learn.TASK_BY_KIND["churn"], known.models["churn"], current.X)

    assert set(stored) == set(current.customer_ids.tolist()) and known.run.scored == len(stored)
    got_order = np.array([stored[pk].order_probability for pk in current.customer_ids.tolist()])
    np.testing.assert_allclose(got_order, order)
    ordered = current.raw["ordered"] > 0
    got_churn = np.array([stored[pk].churn_risk or np.nan for pk in current.customer_ids.tolist()])
    np.testing.assert_allclose(got_churn[ordered], churn[ordered])
    assert all(stored[pk].churn_band == "" for pk in current.customer_ids[~ordered].tolist())
    some = next(p for p in stored.values() if p.churn_band)
    assert len(some.reasons["churn"]) == learn.REASONS and len(some.reasons["order"]) == learn.REASONS


def test_below_the_minimum_it_says_what_is_missing_and_scores_by_the_rules():
    store = store_make("small")
    ann = Customer.objects.create(store=store, phone="+15550000001", timezone="UTC", timezone_source="store")
    bob = Customer.objects.create(store=store, phone="+15550000002", timezone="UTC", timezone_source="store")
    # Ann orders every 10 days, last 5 days ago; Bob every 10 days, last 50 days ago
    Event.objects.bulk_create(
        [order_days_ago(ann, d) for d in (25, 15, 5)] + [order_days_ago(bob, d) for d in (70, 60, 50)]
    )

    run = store_predictions_refresh(store=store, now=NOW).run

    assert run.shortfall == "needs 500 ordering customers; you have 2; needs 180 days of history; you have 70"
    assert not any(v["used"] for v in run.evaluation.values())
    ann_p, bob_p = ann.prediction, bob.prediction
    assert (ann_p.churn_band, bob_p.churn_band) == ("low", "high")
    assert ann_p.order_probability is None and ann_p.churn_risk is None
    assert ann_p.next_order_at == NOW + timedelta(days=5)  # last order + the average gap
    assert bob_p.next_order_at == NOW  # overdue
    assert ann_p.predicted_value > 0
    assert ann_p.reasons["churn"] == [["cycle", 0.5, 0], ["recency", 5.0, 0], ["gap", 10.0, 0]]
    exported = customer_data_export(customer=ann, actor="test", now=NOW)["predictions"]
    assert (exported["churn_band"], exported["next_order_at"]) == ("low", "2026-12-01T15:00:00Z")


def test_each_store_is_retrained_once_a_day():
    store = store_make("daily")

    assert store.pk in predictions_due(now=NOW)
    PredictionRun.objects.create(store=store, started_at=NOW)
    assert store.pk not in predictions_due(now=NOW + timedelta(hours=23))
    assert store.pk in predictions_due(now=NOW + timedelta(days=1))
    assert store.pk in predictions_due(now=NOW - timedelta(hours=1))  # a run from a later `now`


def test_the_demo_store_is_scored_by_the_rules_and_churn_risk_high_counts():
    store = demo_load(now=NOW, customers=120).store

    run = store_predictions_refresh(store=store, now=NOW).run

    assert run.shortfall.startswith("needs 500 ordering customers; you have ")
    high = {
        "type": "group",
        "match": "all",
        "children": [{"type": "metric", "metric": "churn_risk", "op": "eq", "value": "high"}],
    }
    assert rules_count(store, high, now=NOW) > 0
    some = CustomerPrediction.objects.filter(store=store, churn_band="high").first()
    assert [name for name, _, _ in some.reasons["churn"]] == ["cycle", "recency", "gap"]
