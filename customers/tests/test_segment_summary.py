"""Rule trees read back as plain English."""

from __future__ import annotations

import pytest

from customers.segments.presets import PRESETS
from customers.segments.summary import summarize


def group(*children, match="all"):
    return {"type": "group", "match": match, "children": list(children)}


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        (group(), "Everyone in the store."),
        (
            group(
                {
                    "type": "sequence",
                    "event": "checkout_started",
                    "window": {"last": 24, "unit": "hours"},
                    "then_not": {"event": "order_placed"},
                }
            ),
            "Customers who started checkout in the last 24 hours and have not placed an order since.",
        ),
        (
            group(
                {"type": "event", "event": "sms_clicked", "window": {"between": [15, 60], "unit": "days"}},
                {"type": "consent", "status": "subscribed"},
            ),
            "Customers who clicked an SMS link between 15 and 60 days ago and are subscribed to SMS.",
        ),
        (
            group(
                {"type": "rank", "metric": "total_spent", "top_percent": 10},
                group(
                    {"type": "preference", "value": "deals"}, {"type": "loyalty", "op": "is_set"}, match="any"
                ),
            ),
            "Customers who are in the top 10 % of the store by lifetime value and "
            "(chose the topic “deals” or have a loyalty status).",
        ),
        (
            group(
                {"type": "event", "event": "order_placed", "count": {"op": "zero"}, "window": {"last": 30}}
            ),
            "Customers who have not placed an order in the last 30 days.",
        ),
        (
            group({"type": "repetition", "event": "product_viewed", "at_least": 3, "window": {"last": 7}}),
            "Customers who viewed the same product at least 3 times in the last 7 days.",
        ),
        (
            group({"type": "metric", "metric": "discount_order_share", "op": "gte", "value": 0.5}),
            "Customers who have a share of orders with a discount that is at least 50 %.",
        ),
        (
            group({"type": "segment", "segment": 4, "op": "not_in"}, match="none"),
            "Customers who do none of: are not in “VIP”.",
        ),
        (
            group(
                group({"type": "event", "event": "order_placed"}, match="none"),
                {"type": "profile", "field": "city", "op": "eq", "value": "Miami"},
                match="any",
            ),
            "Customers who (do none of: placed an order) or have a city that is “Miami”.",
        ),
        (
            group(
                {"type": "profile", "field": "city", "op": "eq", "value": "Miami"},
                group({"type": "event", "event": "order_placed"}, {"type": "loyalty", "op": "is_set"},
                      match="none"),
            ),
            "Customers who have a city that is “Miami” and "
            "(do none of: placed an order; have a loyalty status).",
        ),
    ],
)
def test_it_reads_a_tree_in_plain_english(rules, text):
    assert summarize(rules, segment_names={4: "VIP"}) == text


def test_every_preset_reads_as_a_sentence():
    for preset in PRESETS:
        text = summarize(preset.rules)
        assert text.startswith("Customers who ") and text.endswith(".") and "incomplete" not in text


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (
            {"type": "metric", "metric": "order_count", "op": "gte", "value": 2},
            "Customers who have an order count that is at least 2.",
        ),
        (
            {"type": "profile", "field": "attributes.quiz_goal", "op": "exists"},
            "Customers who have an attribute quiz_goal.",
        ),
    ],
)
def test_the_article_fits_the_word(condition, text):
    assert summarize(group(condition)) == text
