"""The compiler: each condition type against known customers, and SQL == a pure-Python reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Category, Customer, Event, Product, Segment, Store
from customers.segments import members, rules_count, rules_members
from customers.segments.compiler import Only
from customers.segments.explain import explain

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def group(*children: dict, match: str = "all") -> dict:
    return {"type": "group", "match": match, "children": list(children)}


@pytest.fixture
def shop(db):
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    skin = Category.objects.create(store=store, external_id="skin", name="Skincare")
    serum = Product.objects.create(
        store=store,
        external_id="serum",
        name="Serum",
        url="https://shop.example.com/serum",
        category=skin,
        margin_class="low",
    )
    mug = Product.objects.create(
        store=store, external_id="mug", name="Mug", url="https://shop.example.com/mug"
    )
    people = {
        name: Customer.objects.create(
            store=store,
            phone=f"+1415555010{i}",
            first_name=name,
            timezone="UTC",
            timezone_source="given",
            **fields,
        )
        for i, (name, fields) in enumerate(
            {
                "ana": {
                    "topics": ["deals", "drops"],
                    "total_spent": 300,
                    "city": "Austin",
                    "attributes": {"quiz_answer": "oily", "score": 7},
                    "sms_consent": "subscribed",
                },
                "ben": {
                    "topics": ["restocks"],
                    "total_spent": 50,
                    "city": "Boston",
                    "loyalty_status": "gold",
                },
                "cy": {"topics": [], "total_spent": 0, "attributes": {"score": 2}},
            }.items()
        )
    }
    shop = type("Shop", (), {"store": store, "serum": serum, "mug": mug, **people})
    shop.keys = iter(range(10_000))
    return shop


def event(shop, customer, kind, ago, product=None, **properties):
    return Event.objects.create(
        store=shop.store,
        customer=customer,
        type=kind,
        occurred_at=NOW - ago,
        received_at=NOW,
        properties=properties,
        product=product,
        idempotency_key=f"k{next(shop.keys)}",
    )


def names(shop, rules) -> list[str]:
    return sorted(c.first_name for c in rules_members(shop.store, rules, now=NOW))


def test_it_keeps_the_contract_conditions_working(shop):
    assert names(shop, group({"type": "profile", "field": "city", "op": "eq", "value": "Austin"})) == ["ana"]
    assert names(shop, group({"type": "consent", "status": "subscribed"})) == ["ana"]
    rule = {"type": "metric", "metric": "discount_order_share", "op": "gte", "value": 0.5}
    Customer.objects.filter(pk=shop.ben.pk).update(discount_order_share=0.5)
    assert names(shop, group(rule)) == ["ben"]


def test_it_reads_list_preferences_and_json_attributes(shop):
    assert names(shop, group({"type": "preference", "kind": "topic", "value": "deals"})) == ["ana"]
    assert names(shop, group({"type": "preference", "value": "deals", "op": "has_not"})) == ["ben", "cy"]
    assert names(shop, group({"type": "profile", "field": "topics", "op": "is_empty"})) == ["cy"]
    Customer.objects.filter(pk=shop.ben.pk).update(favorite_categories=["Skincare", "Café"])
    category = {"type": "preference", "kind": "category"}
    assert names(shop, group({**category, "value": "skincare"})) == ["ben"]
    assert names(shop, group({**category, "value": "Café"})) == ["ben"]
    assert names(shop, group({**category, "value": "Caf", "op": "has_not"})) == ["ana", "ben", "cy"]
    quiz = {"type": "profile", "field": "attributes.quiz_answer"}
    assert names(shop, group({**quiz, "op": "eq", "value": "oily"})) == ["ana"]
    assert names(shop, group({**quiz, "op": "neq", "value": "oily"})) == ["ben", "cy"]
    assert names(shop, group({**quiz, "op": "contains", "value": "IL"})) == ["ana"]
    assert names(shop, group({"type": "profile", "field": "attributes.score", "op": "gt", "value": 4})) == [
        "ana"
    ]
    assert names(shop, group({"type": "loyalty", "op": "is_set"})) == ["ben"]


def test_it_ranks_the_top_percent_of_the_store_by_ltv(shop):
    top = {"type": "rank", "metric": "total_spent"}
    assert names(shop, group({**top, "top_percent": 34})) == ["ana"]
    assert names(shop, group({**top, "top_percent": 67})) == ["ana", "ben"]
    # nobody with zero spent is "top", however large the percentage
    assert names(shop, group({**top, "top_percent": 100})) == ["ana", "ben"]


def test_a_rank_keeps_ties_at_its_threshold_together_and_needs_a_whole_customer(shop):
    top = {"type": "rank", "metric": "total_spent"}
    Customer.objects.filter(pk=shop.ben.pk).update(total_spent=300)
    # ben ties ana for first: both ranked 1, so both are within the top third
    assert names(shop, group({**top, "top_percent": 34})) == ["ana", "ben"]
    # a share of the store smaller than one customer holds nobody
    assert names(shop, group({**top, "top_percent": 1})) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spent=st.lists(st.sampled_from([0, 5, 10, 10, 20, 35]), min_size=1, max_size=12),
    percent=st.sampled_from([1, 10, 25, 33.3, 50, 99, 100]),
)
def test_a_rank_matches_rank_over_the_whole_store(shop, spent, percent):
    with transaction.atomic():
        store = Store.objects.create(slug="ranks", brand_name="R", site_url="https://r.example.com")
        for i, value in enumerate(spent):
            Customer.objects.create(store=store, phone=f"+1415555020{i:02d}", total_spent=value)
        everyone = list(Customer.objects.filter(store=store).values_list("pk", "total_spent"))

        def within(value):
            rank = 1 + sum(other > value for _, other in everyone)
            return value > 0 and rank * 100 <= len(everyone) * percent

        expected = {pk for pk, value in everyone if within(value)}
        tree = group({"type": "rank", "metric": "total_spent", "top_percent": percent})
        assert set(rules_members(store, tree, now=NOW).values_list("pk", flat=True)) == expected
        assert rules_count(store, tree, now=NOW) == len(expected)
        transaction.set_rollback(True)


def test_a_tree_evaluated_for_some_customers_finds_exactly_the_members_among_them(shop):
    event(shop, shop.ana, "sms_clicked", timedelta(days=2))
    event(shop, shop.cy, "sms_clicked", timedelta(days=3))
    clicked = {"type": "event", "event": "sms_clicked", "window": {"last": 30, "unit": "days"}}
    austin = {"type": "profile", "field": "city", "op": "eq", "value": "Austin"}
    some = (shop.ana.pk, shop.ben.pk)
    for tree in (
        group(clicked),
        group(clicked, austin),
        group(clicked, {"type": "consent", "status": "subscribed"}, match="any"),
        group(clicked, match="none"),
        group({**clicked, "count": {"op": "zero"}}),
    ):
        segment = Segment(store=shop.store, rules=tree)
        everyone = set(members(segment, now=NOW).values_list("pk", flat=True))
        among = set(members(segment, now=NOW, only=Only(ids=some)).values_list("pk", flat=True))
        assert among == everyone & set(some), tree


def test_it_finds_a_checkout_with_no_order_after_it_for_the_same_cart(shop):
    event(shop, shop.ana, "checkout_started", timedelta(hours=3), cart_id="x")
    event(shop, shop.ana, "order_placed", timedelta(hours=2), cart_id="y")
    event(shop, shop.ben, "checkout_started", timedelta(hours=3), cart_id="x")
    event(shop, shop.ben, "order_placed", timedelta(hours=2), cart_id="x")
    event(shop, shop.cy, "order_placed", timedelta(hours=4), cart_id="z")
    event(shop, shop.cy, "checkout_started", timedelta(hours=3), cart_id="z")
    rule = {"type": "sequence", "event": "checkout_started", "then_not": {"event": "order_placed"}}
    assert names(shop, group(rule)) == ["cy"]
    assert names(shop, group({**rule, "same": "cart_id"})) == ["ana", "cy"]


def test_it_counts_events_and_repeats_on_the_same_product(shop):
    for hours in (1, 2, 3):
        event(shop, shop.cy, "product_viewed", timedelta(hours=hours), product=shop.serum)
    event(shop, shop.ana, "product_viewed", timedelta(hours=1), product=shop.serum)
    event(shop, shop.ana, "product_viewed", timedelta(hours=2), product=shop.mug)
    event(shop, shop.ana, "product_viewed", timedelta(days=9), product=shop.serum)
    repeat = {"type": "repetition", "event": "product_viewed", "per": "product", "at_least": 3}
    assert names(shop, group({**repeat, "window": {"last": 7, "unit": "days"}})) == ["cy"]
    assert names(shop, group({**repeat, "at_least": 2})) == ["ana", "cy"]
    viewed = {"type": "event", "event": "product_viewed"}
    assert names(shop, group({**viewed, "count": {"op": "gte", "value": 3}})) == ["ana", "cy"]
    assert names(shop, group({**viewed, "count": {"op": "lte", "value": 2}})) == ["ben"]
    assert names(shop, group({**viewed, "count": {"op": "eq", "value": 3}})) == ["ana", "cy"]
    assert names(shop, group({**viewed, "count": {"op": "zero"}})) == ["ben"]
    low = [{"property": "margin_class", "op": "eq", "value": "low"}]
    assert names(shop, group({**viewed, "filters": low, "window": {"last": 1, "unit": "days"}})) == [
        "ana",
        "cy",
    ]
    by_category = [{"property": "category", "op": "eq", "value": "skincare"}]
    assert names(shop, group({**viewed, "filters": by_category, "count": {"op": "gte", "value": 2}})) == [
        "ana",
        "cy",
    ]
    mug = [{"property": "product", "op": "eq", "value": "mug"}]
    assert names(shop, group({**viewed, "filters": mug})) == ["ana"]


def test_it_matches_products_listed_in_an_orders_items(shop):
    Product.objects.create(
        store=shop.store, external_id="42", name="Gift card", url="https://shop.example.com/g"
    )
    event(
        shop,
        shop.ana,
        "order_placed",
        timedelta(days=1),
        items=[{"product_id": "serum"}, {"product_id": "mug"}],
    )
    event(shop, shop.ben, "order_placed", timedelta(days=1), items=[{"product_id": 42}])
    event(shop, shop.cy, "order_placed", timedelta(days=1), items="not a list")
    ordered = {"type": "event", "event": "order_placed"}

    def where(prop, value, op="eq"):
        return group({**ordered, "filters": [{"property": prop, "op": op, "value": value}]})

    assert names(shop, where("margin_class", "low")) == ["ana"]
    assert names(shop, where("category", "Skincare")) == ["ana"]
    assert names(shop, where("product", "42")) == ["ben"]
    assert names(shop, where("product", "mug", op="neq")) == ["ben", "cy"]


def test_it_reads_windows_between_days_ago(shop):
    event(shop, shop.ana, "sms_clicked", timedelta(days=20))
    event(shop, shop.ben, "sms_clicked", timedelta(days=61))
    event(shop, shop.cy, "sms_clicked", timedelta(days=3))
    rule = {"type": "event", "event": "sms_clicked", "window": {"between": [15, 60], "unit": "days"}}
    assert names(shop, group(rule)) == ["ana"]


def test_it_nests_groups_and_negates_none(shop):
    tree = group(
        group(
            {"type": "profile", "field": "city", "op": "eq", "value": "Austin"},
            {"type": "loyalty", "op": "eq", "value": "gold"},
            match="any",
        ),
        group({"type": "consent", "status": "subscribed"}, match="none"),
    )
    assert names(shop, tree) == ["ben"]
    assert names(shop, group()) == ["ana", "ben", "cy"]


def test_it_includes_another_segments_members(shop):
    gold = Segment.objects.create(
        store=shop.store,
        name="Gold",
        slug="gold",
        rules=group({"type": "loyalty", "op": "eq", "value": "gold"}),
    )
    assert names(shop, group({"type": "segment", "segment": gold.pk})) == ["ben"]
    assert names(shop, group({"type": "segment", "segment": gold.pk, "op": "not_in"})) == ["ana", "cy"]


def test_it_is_one_query_after_the_stores_size_for_a_rank(shop):
    tree = group(
        {"type": "rank", "metric": "total_spent", "top_percent": 50},
        {"type": "sequence", "event": "checkout_started", "then_not": {"event": "order_placed"}},
        {"type": "repetition", "event": "product_viewed", "at_least": 2},
        match="any",
    )
    segment = Segment.objects.create(store=shop.store, name="Mixed", slug="mixed", rules=tree)
    with CaptureQueriesContext(connection) as queries:
        list(members(segment, now=NOW))
    assert len(queries) == 2
    assert "COUNT" in queries[0]["sql"].upper()
    without_rank = {**tree, "children": tree["children"][1:]}
    with CaptureQueriesContext(connection) as queries:
        list(members(Segment(store=shop.store, rules=without_rank), now=NOW))
    assert len(queries) == 1


def test_it_explains_which_conditions_matched(shop):
    event(shop, shop.ana, "cart_updated", timedelta(hours=2))
    tree = group(
        {"type": "event", "event": "cart_updated", "window": {"last": 24, "unit": "hours"}},
        group(
            {"type": "event", "event": "order_placed", "count": {"op": "gte", "value": 1}},
            {"type": "rank", "metric": "total_spent", "top_percent": 34},
            {"type": "repetition", "event": "product_viewed", "at_least": 2},
            match="any",
        ),
    )
    result = explain(shop.ana, tree, store=shop.store, now=NOW)
    assert result["matched"] is True
    cart, either = result["children"]
    assert (cart["path"], cart["matched"], cart["description"]) == (
        "children[0]",
        True,
        "added to cart in the last 24 hours",
    )
    assert [(c["path"], c["matched"]) for c in either["children"]] == [
        ("children[1].children[0]", False),
        ("children[1].children[1]", True),
        ("children[1].children[2]", False),
    ]
    assert explain(shop.ben, tree, store=shop.store, now=NOW)["matched"] is False


# --- property test: SQL against a small reference evaluator ---------------------------------------

AGES = [
    timedelta(minutes=30),
    timedelta(hours=5),
    timedelta(hours=23),
    timedelta(hours=25),
    timedelta(days=3),
    timedelta(days=10),
    timedelta(days=40),
    timedelta(days=70),
]
EVENT_TYPES = ["cart_updated", "checkout_started", "order_placed", "product_viewed"]

customers_st = st.lists(
    st.fixed_dictionaries(
        {
            "sms_consent": st.sampled_from(["none", "subscribed", "unsubscribed"]),
            "topics": st.lists(st.sampled_from(["deals", "drops", "restocks"]), unique=True, max_size=2),
            "loyalty_status": st.sampled_from(["", "gold", "silver"]),
            "city": st.sampled_from(["", "Austin", "Boston"]),
            "order_count": st.integers(0, 4),
            "total_spent": st.sampled_from([0, 10, 50, 50, 120]),
            "last_order_at": st.none() | st.sampled_from(AGES),
            "last_sms_click_at": st.none() | st.sampled_from(AGES),
            "attributes": st.fixed_dictionaries(
                {}, optional={"quiz": st.sampled_from(["oily", "dry"]), "score": st.integers(0, 9)}
            ),
            "events": st.lists(
                st.tuples(
                    st.sampled_from(EVENT_TYPES),
                    st.sampled_from(AGES),
                    st.sampled_from([None, 0, 1]),
                    st.sampled_from(["a", "b"]),
                    st.sampled_from([(), (), (0,), (1,), (0, 1)]),
                ),
                max_size=5,
            ),
        }
    ),
    min_size=1,
    max_size=7,
)

window_st = st.none() | st.sampled_from(
    [
        {"last": 24, "unit": "hours"},
        {"last": 7, "unit": "days"},
        {"between": [2, 30], "unit": "days"},
        {"last": 90, "unit": "minutes"},
    ]
)
filters_st = st.sampled_from(
    [
        [],
        [{"property": "cart_id", "op": "eq", "value": "a"}],
        [{"property": "cart_id", "op": "neq", "value": "a"}],
        [{"property": "product", "op": "eq", "value": "p0"}],
        [{"property": "product", "op": "neq", "value": "p1"}],
        [{"property": "category", "op": "eq", "value": "Cat"}],
        [{"property": "product", "op": "not_exists"}],
    ]
)
condition_st = st.one_of(
    st.builds(
        lambda s, op: {"type": "consent", "status": s, "op": op},
        st.sampled_from(["none", "subscribed"]),
        st.sampled_from(["is", "is_not"]),
    ),
    st.builds(
        lambda v, op: {"type": "preference", "kind": "topic", "value": v, "op": op},
        st.sampled_from(["deals", "drops"]),
        st.sampled_from(["has", "has_not"]),
    ),
    st.sampled_from([{"type": "loyalty", "op": "eq", "value": "gold"}, {"type": "loyalty", "op": "is_set"}]),
    st.builds(
        lambda op, v: {"type": "profile", "field": "city", "op": op, "value": v},
        st.sampled_from(["eq", "neq", "contains"]),
        st.sampled_from(["Austin", "bos"]),
    ),
    st.builds(
        lambda op, v: {"type": "profile", "field": "attributes.quiz", "op": op, "value": v},
        st.sampled_from(["eq", "neq", "exists", "not_exists"]),
        st.just("oily"),
    ),
    st.builds(
        lambda op, v: {"type": "profile", "field": "attributes.score", "op": op, "value": v},
        st.sampled_from(["gt", "lte"]),
        st.integers(0, 9),
    ),
    st.builds(
        lambda m, op, v: {"type": "metric", "metric": m, "op": op, "value": v},
        st.sampled_from(["order_count", "total_spent"]),
        st.sampled_from(["gte", "lt", "eq", "neq"]),
        st.sampled_from([0, 1, 2, 50]),
    ),
    st.builds(
        lambda op, v: {"type": "metric", "metric": "days_since_last_order", "op": op, "value": v},
        st.sampled_from(["gt", "lte"]),
        st.sampled_from([1, 7, 30]),
    ),
    st.builds(
        lambda t: {"type": "metric", "metric": "engagement_tier", "op": "eq", "value": t},
        st.sampled_from(["hot", "warm", "cold"]),
    ),
    st.builds(
        lambda p: {"type": "rank", "metric": "total_spent", "top_percent": p}, st.sampled_from([10, 30, 50])
    ),
    st.builds(
        lambda e, w, f, c: {"type": "event", "event": e, "window": w, "filters": f, "count": c},
        st.sampled_from(EVENT_TYPES),
        window_st,
        filters_st,
        st.sampled_from(
            [
                {"op": "gte", "value": 1},
                {"op": "gte", "value": 2},
                {"op": "lte", "value": 1},
                {"op": "eq", "value": 1},
                {"op": "zero"},
            ]
        ),
    ),
    st.builds(
        lambda e, f, w, same: {
            "type": "sequence",
            "event": e,
            "window": w,
            "then_not": {"event": f},
            "same": same,
        },
        st.sampled_from(["cart_updated", "checkout_started"]),
        st.sampled_from(["order_placed", "cart_updated"]),
        window_st,
        st.sampled_from([None, "cart_id"]),
    ),
    st.builds(
        lambda w, n, per: {
            "type": "repetition",
            "event": "product_viewed",
            "per": per,
            "at_least": n,
            "window": w,
        },
        window_st,
        st.integers(1, 3),
        st.sampled_from(["product", "category", "cart_id"]),
    ),
)
tree_st = st.recursive(
    condition_st,
    lambda inner: st.builds(
        lambda m, ch: group(*ch, match=m),
        st.sampled_from(["all", "any", "none"]),
        st.lists(inner, max_size=3),
    ),
    max_leaves=6,
).map(lambda node: node if node["type"] == "group" else group(node))


def _strip_none(node):
    if isinstance(node, dict):
        return {k: _strip_none(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_strip_none(v) for v in node]
    return node


class Reference:
    """The rules read literally, one customer at a time, in Python."""

    def __init__(self, people, products):
        self.people = people
        self.products = products

    def matches(self, node, person) -> bool:
        return getattr(self, node["type"])(node, person)

    def group(self, node, person):
        results = [self.matches(child, person) for child in node.get("children", [])]
        if not results:
            return True
        match = node.get("match", "all")
        return all(results) if match == "all" else any(results) if match == "any" else not any(results)

    def consent(self, node, person):
        return (person["sms_consent"] == node["status"]) != (node.get("op") == "is_not")

    def preference(self, node, person):
        return (node["value"] in person["topics"]) != (node.get("op") == "has_not")

    def loyalty(self, node, person):
        if node["op"] == "is_set":
            return person["loyalty_status"] != ""
        return person["loyalty_status"] == node["value"]

    def profile(self, node, person):
        op, value = node["op"], node.get("value")
        if node["field"] == "city":
            city = person["city"]
            return {"eq": city == value, "neq": city != value, "contains": value.lower() in city.lower()}[op]
        key = node["field"].split(".", 1)[1]
        present = key in person["attributes"]
        actual = person["attributes"].get(key)
        return {
            "eq": present and actual == value,
            "neq": not (present and actual == value),
            "exists": present,
            "not_exists": not present,
            "gt": present and actual > value,
            "lte": present and actual <= value,
        }[op]

    def metric(self, node, person):
        metric, op, value = node["metric"], node["op"], node["value"]
        if metric == "engagement_tier":
            click = person["last_sms_click_at"]
            tier = (
                "cold"
                if click is None or click < NOW - timedelta(days=60)
                else "hot"
                if click >= NOW - timedelta(days=14)
                else "warm"
            )
            return tier == value
        if metric == "days_since_last_order":
            last = person["last_order_at"]
            if last is None:
                return False
            return last < NOW - timedelta(days=value) if op == "gt" else last >= NOW - timedelta(days=value)
        actual = person[metric]
        return {"gte": actual >= value, "lt": actual < value, "eq": actual == value, "neq": actual != value}[
            op
        ]

    def rank(self, node, person):
        value = person["total_spent"]
        if value <= 0:
            return False
        position = 1 + sum(1 for other in self.people if other["total_spent"] > value)
        return position * 100 <= len(self.people) * node["top_percent"]

    def in_window(self, at, window):
        if window is None:
            return at <= NOW
        unit = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}[
            window["unit"]
        ]
        if "last" in window:
            return NOW - window["last"] * unit <= at <= NOW
        near, far = window["between"]
        return NOW - far * unit <= at <= NOW - near * unit

    def passes(self, ev, filters):
        for item in filters:
            prop, op = item["property"], item["op"]
            own = [self.products[ev["product"]]] if ev["product"] is not None else []
            listed = own + [self.products[i] for i in ev["items"]]
            if prop == "cart_id":
                ok = (ev["cart_id"] == item["value"]) == (op == "eq")
            elif op == "not_exists":
                ok = not own
            elif prop == "product":
                ok = any(p["external_id"] == item["value"] for p in listed) == (op == "eq")
            else:
                ok = any(
                    p["category"] and item["value"].lower() in (p["category"].lower(), "c1") for p in listed
                )
            if not ok:
                return False
        return True

    def matching(self, node, person):
        return [
            ev
            for ev in person["events"]
            if ev["type"] == node["event"]
            and self.in_window(ev["at"], node.get("window"))
            and self.passes(ev, node.get("filters", []))
        ]

    def event(self, node, person):
        n = len(self.matching(node, person))
        count = node["count"]
        return {
            "gte": lambda: n >= count["value"],
            "lte": lambda: n <= count["value"],
            "eq": lambda: n == count["value"],
            "zero": lambda: n == 0,
        }[count["op"]]()

    def sequence(self, node, person):
        follow = node["then_not"]["event"]
        for first in self.matching(node, person):
            later = [
                ev
                for ev in person["events"]
                if ev["type"] == follow
                and first["at"] < ev["at"] <= NOW
                and (not node.get("same") or ev["cart_id"] == first["cart_id"])
            ]
            if not later:
                return True
        return False

    def repetition(self, node, person):
        counts: dict = {}
        for ev in self.matching(node, person):
            if node["per"] == "product":
                key = ev["product"]
            elif node["per"] == "category":
                key = self.products[ev["product"]]["category"] if ev["product"] is not None else None
            else:
                key = ev["cart_id"]
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
        return any(c >= node["at_least"] for c in counts.values())


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=customers_st, tree=tree_st)
def test_sql_agrees_with_the_reference_evaluator(people, tree):
    tree = _strip_none(tree)
    with transaction.atomic():
        store = Store.objects.create(slug="prop", brand_name="Prop", site_url="https://p.example.com")
        category = Category.objects.create(store=store, external_id="c1", name="Cat")
        products = [
            {"external_id": "p0", "category": "Cat"},
            {"external_id": "p1", "category": None},
        ]
        rows = [
            Product.objects.create(
                store=store,
                external_id=p["external_id"],
                name=p["external_id"],
                url="https://p.example.com/x",
                category=category if p["category"] else None,
            )
            for p in products
        ]
        for index, person in enumerate(people):
            person["last_order_at"] = NOW - person["last_order_at"] if person["last_order_at"] else None
            person["last_sms_click_at"] = (
                NOW - person["last_sms_click_at"] if person["last_sms_click_at"] else None
            )
            person["row"] = Customer.objects.create(
                store=store,
                phone=f"+1415555{index:04d}",
                timezone="UTC",
                timezone_source="given",
                **{k: v for k, v in person.items() if k not in ("events", "row")},
            )
            person["total_spent"] = Decimal(person["total_spent"])
            person["events"] = [
                {"type": kind, "at": NOW - age, "product": product, "cart_id": cart, "items": items}
                for kind, age, product, cart, items in person["events"]
            ]
        Event.objects.bulk_create(
            [
                Event(
                    store=store,
                    customer=person["row"],
                    type=ev["type"],
                    occurred_at=ev["at"],
                    received_at=NOW,
                    product=rows[ev["product"]] if ev["product"] is not None else None,
                    properties={
                        "cart_id": ev["cart_id"],
                        "items": [{"product_id": products[i]["external_id"]} for i in ev["items"]],
                    },
                    idempotency_key=f"{i}-{j}",
                )
                for i, person in enumerate(people)
                for j, ev in enumerate(person["events"])
            ]
        )
        reference = Reference(people, products)
        expected = sorted(p["row"].pk for p in people if reference.matches(tree, p))
        actual = sorted(rules_members(store, tree, now=NOW).values_list("pk", flat=True))
        counted = rules_count(store, tree, now=NOW)
        transaction.set_rollback(True)
    assert actual == expected, tree
    assert counted == len(expected), tree
