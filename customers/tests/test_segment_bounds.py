"""Hostile and careless segment rules: refused with the path of the bad node, never a 500, and a
rule stored before a bound existed is an error for its own segment only."""

from __future__ import annotations

import json

import pytest

from customers.api.auth import api_key_create
from customers.models import Customer, Segment
from customers.tests.stores import store_make

BUILDER = "/admin/customers/segment/preview/"


def group(*children: dict, match: str = "all") -> dict:
    return {"type": "group", "match": match, "children": list(children)}


def cart(**window) -> dict:
    return {"type": "event", "event": "cart_updated", "window": window}


@pytest.fixture
def store(db):
    store = store_make("shop")
    Customer.objects.create(store=store, phone="+14155550100", external_id="c1", city="Austin")
    return store


@pytest.fixture
def api(client, store):
    key = api_key_create(store=store, name="test")[1]

    def get(url: str):
        return client.get(url, headers={"Authorization": f"Bearer {key}"})

    return get


def builder(client, store, rules) -> tuple[int, dict]:
    body = rules if isinstance(rules, str) else json.dumps({"store": store.pk, "rules": rules})
    response = client.post(BUILDER, body, content_type="application/json")
    return response.status_code, response.json()


def paths(body: dict) -> list[str]:
    return [e["path"] for e in body["errors"]]


CITY = {"type": "profile", "field": "city", "op": "contains", "value": "Aus"}


@pytest.mark.parametrize(
    "rules, path",
    [
        (group(cart(last=10**30)), "children[0].window.last"),
        (group(cart(last=60 * 24 * 36_500 + 1, unit="minutes")), "children[0].window.last"),
        (group(cart(between=[0, 10**12])), "children[0].window.between"),
        (group({**CITY, "value": "x" * 1_000_000}), "children[0].value"),
        (group({**CITY, "op": ["eq"]}), "children[0].op"),
        (group({**CITY, "field": ["city"]}), "children[0].field"),
        (group({**CITY, "value": "Aus\ud800"}), "children[0].value"),
        (group({"type": "metric", "metric": "total_spent", "op": "gte", "value": 1e300}),
         "children[0].value"),
        (group({"type": "metric", "metric": "order_count", "op": "between", "value": [0, 10**20]}),
         "children[0].value[1]"),
        (group({"type": "profile", "field": "birthday", "op": "before", "value": "0001-01-01"}),
         "children[0].value"),
        (group({"type": "profile", "field": "last_order_at", "op": "within_last_days", "value": 10**9}),
         "children[0].value"),
        (group({"type": "rank", "metric": "total_spent", "top_percent": float("nan")}),
         "children[0].top_percent"),
        (group({**cart(last=1), "count": {"op": "gte", "value": 10**15}}), "children[0].count.value"),
        (group({"type": "segment", "segment": 10**30}), "children[0].segment"),
        (group(*[CITY] * 5000), "children"),
    ],
)
def test_the_builder_refuses_out_of_range_rules_naming_the_node(admin_client, store, rules, path):
    status, body = builder(admin_client, store, rules)
    assert status == 200
    assert path in paths(body), body["errors"]
    assert body["count"] is None


def test_the_builder_refuses_nan_and_infinity_sent_as_json(admin_client, store):
    raw = '{"store": %d, "rules": {"type": "group", "children": [{"type": "metric", "metric": ' \
          '"order_count", "op": "gte", "value": %s}]}}'
    for constant in ("NaN", "Infinity", "-Infinity"):
        status, body = builder(admin_client, store, raw % (store.pk, constant))
        assert status == 200
        assert paths(body) == ["children[0].value"]


def test_the_builder_refuses_a_thousand_nested_groups(admin_client, store):
    rules = '{"type": "group", "children": [' * 1000 + json.dumps(CITY) + "]}" * 1000
    status, body = builder(admin_client, store, f'{{"store": {store.pk}, "rules": {rules}}}')
    assert status in (200, 400)
    assert body["errors"] and body.get("count") is None


def test_a_stored_rule_that_cannot_be_evaluated_breaks_only_its_own_segment(api, admin_client, store):
    broken = Segment.objects.create(store=store, name="Broken", slug="broken", rules=group(cart(last=10**30)))
    uses_it = Segment.objects.create(
        store=store, name="Uses it", slug="uses-it", rules=group({"type": "segment", "segment": broken.pk})
    )
    fine = Segment.objects.create(store=store, name="Austin", slug="austin", rules=group(CITY))

    listed = api("/api/v1/segments/")
    assert listed.status_code == 200
    by_name = {s["name"]: s for s in listed.json()["segments"]}
    assert by_name["Austin"]["count"] == 1 and "errors" not in by_name["Austin"]
    assert by_name["Broken"]["count"] is None
    assert by_name["Broken"]["errors"][0]["path"] == "children[0].window.last"
    assert by_name["Uses it"]["count"] is None
    assert f"segment {broken.pk} is broken" in by_name["Uses it"]["errors"][0]["message"]

    members = api(f"/api/v1/segments/{broken.pk}/members")
    assert members.status_code == 409
    assert members.json()["errors"][0]["field"] == "rules.children[0].window.last"
    explained = api(f"/api/v1/segments/{uses_it.pk}/explain/c1")
    assert (explained.status_code, explained.json()["errors"][0]["field"]) == (409, "rules.segment")
    assert api(f"/api/v1/segments/{fine.pk}/members").json()["count"] == 1

    changelist = admin_client.get("/admin/customers/segment/")
    assert changelist.status_code == 200
    assert "Cannot be counted (children[0].window.last: must be at most" in changelist.content.decode()
    assert admin_client.get(f"/admin/customers/segment/{broken.pk}/change/").status_code == 200
    status, body = builder(admin_client, store, broken.rules)
    assert (status, paths(body)) == (200, ["children[0].window.last"])


def test_the_admin_form_refuses_to_store_an_unbounded_window(admin_client, store):
    response = admin_client.post(
        "/admin/customers/segment/add/",
        {"store": store.pk, "name": "Huge", "slug": "huge", "rules": json.dumps(group(cart(last=10**30)))},
    )
    assert response.status_code == 200
    assert "children[0].window.last: must be at most" in response.content.decode()
    assert not Segment.objects.filter(slug="huge").exists()


@pytest.mark.parametrize(
    "at", ["0001-01-01T00:00:00Z", "2026-11-26T10:00:00+99:00", "9999-12-31T23:59:59Z", "2026-11-26T10:00"]
)
def test_explain_refuses_a_moment_out_of_range_naming_at(api, store, at):
    segment = Segment.objects.create(store=store, name="Carts", slug="carts", rules=group(cart(last=30)))
    response = api(f"/api/v1/segments/{segment.pk}/explain/c1?at={at.replace('+', '%2B')}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["at"]


@pytest.mark.parametrize(
    "url, field",
    [
        ("explain/%00", "customer"),
        ("members?page=%C2%B2", "page"),
        ("members?page_size=99999999999999999999", "page_size"),
    ],
)
def test_members_and_explain_refuse_parameters_no_database_reads(api, store, url, field):
    segment = Segment.objects.create(store=store, name="Carts", slug="carts", rules=group(cart(last=30)))
    response = api(f"/api/v1/segments/{segment.pk}/{url}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    "rules, path",
    [
        (group({"type": "metric", "metric": "order_count", "op": "gte", "value": 10**400}),
         "children[0].value"),
        (group({"type": "metric", "metric": "order_count", "op": "between", "value": [0, -(10**400)]}),
         "children[0].value"),
        (group(cart(between=[0, 10**400])), "children[0].window.between"),
        (group({"type": "repetition", "event": "product_viewed", "per": "1" * 20, "at_least": 2}),
         "children[0].per"),
        (group({"type": "event", "event": "cart_updated",
                "filters": [{"property": "items.99999999999999999999.sku", "op": "eq", "value": "x"}]}),
         "children[0].filters[0].property"),
    ],
)
def test_numbers_and_indexes_no_database_reads_are_refused_before_use(admin_client, store, rules, path):
    status, body = builder(admin_client, store, rules)
    assert status == 200
    assert path in paths(body), body["errors"]
    assert body["count"] is None
