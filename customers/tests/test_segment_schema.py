"""Bad rule trees are refused with a message at the bad node's path."""

from __future__ import annotations

import pytest

from customers.models import Customer, Segment, Store
from customers.segments import InvalidRules, rules_members, segment_errors, validate
from customers.segments.presets import PRESETS
from customers.segments.summary import summarize


def group(*children, match="all"):
    return {"type": "group", "match": match, "children": list(children)}


def errors(rules) -> list[tuple[str, str]]:
    return [(e.path, e.message) for e in validate(rules)]


def test_every_preset_is_valid():
    assert all(validate(preset.rules) == [] for preset in PRESETS)


@pytest.mark.parametrize(
    ("rules", "path", "message"),
    [
        ("everyone", "", "the top of a rule tree must be a group"),
        ({"type": "profile", "field": "city"}, "value", "is required"),
        (group(match="some"), "match", "must be one of all, any, none"),
        (group({"type": "magic"}), "children[0].type", "unknown type 'magic'"),
        (
            group({"type": "profile", "field": "shoe_size", "op": "eq", "value": 9}),
            "children[0].field",
            "must be a customer field or attributes.<key>",
        ),
        (
            group({"type": "profile", "field": "city", "op": "gt", "value": "A"}),
            "children[0].op",
            "must be one of eq",
        ),
        (
            group({"type": "profile", "field": "order_count", "op": "gte", "value": "3"}),
            "children[0].value",
            "must be a number",
        ),
        (
            group({"type": "profile", "field": "birthday", "op": "before", "value": "soon"}),
            "children[0].value",
            "must be a date",
        ),
        (group({"type": "consent", "status": "maybe"}), "children[0].status", "must be one of none"),
        (
            group({"type": "preference", "kind": "topic", "value": "memes"}),
            "children[0].value",
            "must be one of deals",
        ),
        (
            group({"type": "metric", "metric": "happiness", "op": "gt", "value": 1}),
            "children[0].metric",
            "must be one of order_count",
        ),
        (
            group({"type": "metric", "metric": "total_spent", "op": "between", "value": [50, 10]}),
            "children[0].value",
            "the first number must not exceed the second",
        ),
        (
            group({"type": "rank", "metric": "total_spent", "top_percent": 150}),
            "children[0].top_percent",
            "must be more than 0 and at most 100",
        ),
        (group({"type": "event", "event": "Cart Updated"}), "children[0].event", "lower_snake_case"),
        (
            group({"type": "event", "event": "cart_updated", "count": {"op": "gte", "value": -1}}),
            "children[0].count.value",
            "whole number",
        ),
        (
            group({"type": "event", "event": "cart_updated", "filters": [{"property": "a__b", "value": 1}]}),
            "children[0].filters[0].property",
            "must be a property name",
        ),
        (
            group({"type": "sequence", "event": "checkout_started"}),
            "children[0].then_not",
            "must name the event",
        ),
        (
            group({"type": "repetition", "event": "product_viewed", "at_least": 0}),
            "children[0].at_least",
            "at least 1",
        ),
        (group({"type": "segment", "segment": "vip"}), "children[0].segment", "must be a segment id"),
    ],
)
def test_it_refuses_a_bad_node_naming_its_path(rules, path, message):
    found = errors(rules)
    assert any(p == path and message in m for p, m in found), found


@pytest.mark.django_db
def test_a_single_condition_is_a_tree_of_its_own():
    store = Store.objects.create(slug="s", brand_name="S", site_url="https://s.example.com")
    Customer.objects.create(
        store=store, phone="+14155550100", city="Austin", timezone="UTC", timezone_source="given"
    )
    Customer.objects.create(
        store=store, phone="+14155550101", city="Boston", timezone="UTC", timezone_source="given"
    )
    rules = {"type": "profile", "field": "city", "value": "Austin"}
    assert validate(rules) == []
    assert [c.city for c in rules_members(store, rules, now=None)] == ["Austin"]
    assert summarize(rules) == "Customers who have a city that is “Austin”."


def test_it_points_into_nested_windows():
    rules = group(
        {"type": "consent", "status": "subscribed"},
        group(
            {"type": "event", "event": "cart_updated", "window": {"last": 0, "unit": "hours"}}, match="any"
        ),
        {"type": "event", "event": "sms_clicked", "window": {"last": 3, "unit": "weeks"}},
    )
    assert errors(rules) == [
        ("children[1].children[0].window.last", "must be at least 1"),
        ("children[2].window.unit", "must be one of minutes, hours, days"),
    ]


def test_it_refuses_groups_nested_too_deep():
    rules = group()
    for _ in range(20):
        rules = group(rules)
    assert any("nest at most" in m for _, m in errors(rules))


def test_compiling_a_bad_tree_raises_with_the_errors(db):
    store = Store.objects.create(slug="s", brand_name="S", site_url="https://s.example.com")
    with pytest.raises(InvalidRules) as raised:
        rules_members(store, group({"type": "consent"}), now=None)
    assert raised.value.errors[0].path == "children[0].status"


@pytest.mark.django_db
def test_it_refuses_a_cycle_through_other_segments():
    store = Store.objects.create(slug="s", brand_name="S", site_url="https://s.example.com")
    a = Segment.objects.create(store=store, name="A", slug="a", rules=group())
    b = Segment.objects.create(
        store=store, name="B", slug="b", rules=group({"type": "segment", "segment": a.pk})
    )
    c = Segment.objects.create(
        store=store, name="C", slug="c", rules=group({"type": "segment", "segment": b.pk})
    )

    found = segment_errors(group({"type": "segment", "segment": c.pk}), store=store, segment_id=a.pk)
    itself = segment_errors(group({"type": "segment", "segment": a.pk}), store=store, segment_id=a.pk)
    fine = segment_errors(group({"type": "segment", "segment": c.pk}), store=store, segment_id=None)

    assert [(e.path, e.message) for e in found] == [
        ("children[0].segment", f"refers back to this segment: {c.pk} → {b.pk} → {a.pk}")
    ]
    assert itself[0].message == f"refers back to this segment: {a.pk}"
    assert fine == []


@pytest.mark.django_db
def test_it_refuses_a_segment_of_another_store():
    store = Store.objects.create(slug="s", brand_name="S", site_url="https://s.example.com")
    other = Store.objects.create(slug="o", brand_name="O", site_url="https://o.example.com")
    theirs = Segment.objects.create(store=other, name="T", slug="t", rules=group())
    found = segment_errors(group({"type": "segment", "segment": theirs.pk}), store=store)
    assert [(e.path, e.message) for e in found] == [
        ("children[0].segment", f"no segment {theirs.pk} in this store")
    ]
