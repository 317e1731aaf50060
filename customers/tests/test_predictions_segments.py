"""Segments on the predictions: churn risk band, chance of an order, rank by predicted value."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customers.models import Customer, CustomerPrediction, Event, Segment
from customers.predictions.refresh import store_predictions_refresh
from customers.segments import rules_count, rules_members, segment_errors
from customers.segments.membership import segments_refresh, stored_members
from customers.segments.summary import summarize
from customers.tests.predicted_store import order_days_ago, scored_store_make
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db


def _all(*children) -> dict:
    return {"type": "group", "match": "all", "children": list(children)}


@pytest.fixture
def scored():
    return scored_store_make()


def names(store, rules) -> set[str]:
    return set(rules_members(store, rules, now=NOW).values_list("first_name", flat=True))


def test_churn_risk_high_counts_the_customers_in_that_band(scored):
    rules = _all({"type": "metric", "metric": "churn_risk", "op": "eq", "value": "high"})

    assert rules_count(scored, rules, now=NOW) == 2
    assert names(scored, rules) == {"ann", "dee"}
    assert summarize(rules) == "Customers who have a high churn risk (predicted)."
    not_high = _all({"type": "metric", "metric": "churn_risk", "op": "neq", "value": "high"})
    assert names(scored, not_high) == {"bob", "cid", "new"}


def test_chance_of_an_order_is_in_percent(scored):
    rules = _all({"type": "metric", "metric": "order_probability", "op": "gte", "value": 40})

    assert names(scored, rules) == {"bob", "cid"}
    between = _all({"type": "metric", "metric": "order_probability", "op": "between", "value": [5, 10]})
    assert names(scored, between) == {"ann", "dee"}


def test_rank_by_predicted_value(scored):
    rules = _all({"type": "rank", "metric": "predicted_value", "top_percent": 40})

    assert names(scored, rules) == {"bob", "cid"}  # the top 40 % of five customers
    assert "top 40 % of the store by predicted 12-month value" in summarize(rules)


def test_a_band_that_does_not_exist_is_named_in_the_error(scored):
    rules = _all({"type": "metric", "metric": "churn_risk", "op": "eq", "value": "extreme"})

    [error] = segment_errors(rules, store=scored)
    assert error.path == "children[0].value" and "high" in error.message


def test_offer_sensitive_is_the_uplift_where_the_offer_tests_gave_one_else_the_code_share(scored):
    CustomerPrediction.objects.filter(customer__first_name="ann").update(offer_uplift=0.20)
    CustomerPrediction.objects.filter(customer__first_name="bob").update(offer_uplift=0.01)
    # Bob and the unscored newcomer used a code on every order: the rule would call both sensitive
    Customer.objects.filter(first_name__in=["bob", "new"]).update(
        order_count=2, discount_order_count=2, discount_order_share=1.0
    )
    rules = _all({"type": "metric", "metric": "offer_sensitive", "op": "eq", "value": "yes"})

    assert names(scored, rules) == {"ann", "new"}
    not_sensitive = _all({"type": "metric", "metric": "offer_sensitive", "op": "neq", "value": "yes"})
    assert names(scored, not_sensitive) == {"bob", "cid", "dee"}
    points = _all({"type": "metric", "metric": "offer_uplift", "op": "gte", "value": 5})
    assert names(scored, points) == {"ann"}


def test_a_stored_segment_on_churn_risk_follows_each_prediction_run():
    store = store_make("stored-churn")
    ann = Customer.objects.create(
        store=store, phone="+15550000001", first_name="ann", timezone="UTC", timezone_source="store"
    )
    bob = Customer.objects.create(
        store=store, phone="+15550000002", first_name="bob", timezone="UTC", timezone_source="store"
    )
    # both order every 10 days; Ann last 5 days ago, Bob 50
    Event.objects.bulk_create(
        [order_days_ago(ann, d) for d in (25, 15, 5)] + [order_days_ago(bob, d) for d in (70, 60, 50)]
    )
    segment = Segment.objects.create(
        store=store,
        name="Slipping",
        slug="slipping",
        stored=True,
        rules=_all({"type": "metric", "metric": "churn_risk", "op": "eq", "value": "high"}),
    )
    store_predictions_refresh(store=store, now=NOW)
    segments_refresh(now=NOW)
    assert set(stored_members(segment).values_list("first_name", flat=True)) == {"bob"}

    later = NOW + timedelta(days=30)  # Ann too is now three gaps past her last order
    store_predictions_refresh(store=store, now=later)
    segments_refresh(now=later + timedelta(minutes=1))

    assert set(stored_members(segment).values_list("first_name", flat=True)) == {"ann", "bob"}
