"""Segments on the predictions: churn risk band, chance of an order, rank by predicted value."""

from __future__ import annotations

import pytest

from customers.segments import rules_count, rules_members, segment_errors
from customers.segments.summary import summarize
from customers.tests.predicted_store import scored_store_make
from customers.tests.stores import NOW

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
