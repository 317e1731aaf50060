"""Fuzzed segment endpoints: the builder's preview, and the API's list, members and explanation over
rules stored as they came (as a row saved before a bound existed would be). No answer is a 5xx and
nothing is stored."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from customers.api.auth import api_key_create
from customers.models import Customer, Event, Segment
from customers.tests.hostile import FUZZ, NUMBER, RULES, TEXT
from customers.tests.stores import store_make

BUILDER = "/admin/customers/segment/preview/"


@pytest.fixture
def shop(db, frozen_now):
    store = store_make("shop")
    now = frozen_now
    for n in range(3):
        customer = Customer.objects.create(
            store=store, phone=f"+1415555010{n}", external_id=f"c{n}", city="Austin", order_count=n
        )
        Event.objects.create(
            store=store, customer=customer, type="cart_updated", occurred_at=now - timedelta(hours=n),
            received_at=now, properties={"cart_id": f"k{n}", "items": [{"product_id": "sku-1"}]},
            idempotency_key=f"e{n}",
        )
    other = Segment.objects.create(store=store, name="Austin", slug="austin", rules={
        "type": "group", "children": [{"type": "profile", "field": "city", "op": "eq", "value": "Austin"}],
    })
    fuzzed = Segment.objects.create(store=store, name="Fuzzed", slug="fuzzed", rules={})
    return store, other, fuzzed, api_key_create(store=store, name="fuzz")[1]


def storable(rules) -> bool:
    """What a JSON column can hold on every database: no NaN, no lone surrogate (PostgreSQL refuses
    both; SQLite keeps an escaped surrogate, which only a row written around the schema can carry)."""
    try:
        json.dumps(rules, allow_nan=False, ensure_ascii=False).encode()
    except (ValueError, UnicodeEncodeError):
        return False
    return rules is not None and "\\u0000" not in json.dumps(rules)


def url_quote(text: str) -> str:
    """Percent-encoded, a lone surrogate as the bytes a careless client would send."""
    return quote(text, safe="", errors="surrogatepass")


def segments_stored() -> list[tuple]:
    return list(Segment.objects.order_by("pk").values_list("pk", "name", "rules"))


@FUZZ
@given(rules=RULES, segment=st.none() | st.just("fuzzed") | NUMBER)
def test_the_builder_preview_never_answers_5xx(admin_client, shop, rules, segment):
    store, _, fuzzed, _ = shop
    before = segments_stored()
    body = {"store": store.pk, "rules": rules, "segment": fuzzed.pk if segment == "fuzzed" else segment}
    response = admin_client.post(BUILDER, json.dumps(body), content_type="application/json")
    assert response.status_code < 500
    data = response.json()
    assert data["errors"] or isinstance(data["count"], int)
    event("refused" if data["errors"] else "counted")
    assert segments_stored() == before


@FUZZ
@given(rules=RULES, at=st.none() | TEXT | st.datetimes().map(lambda d: d.isoformat() + "Z"))
def test_stored_rules_never_make_the_segment_api_answer_5xx(client, shop, rules, at):
    store, other, fuzzed, key = shop
    assume(storable(rules))
    Segment.objects.filter(pk=fuzzed.pk).update(rules=rules)
    headers = {"Authorization": f"Bearer {key}"}
    query = "" if at is None else f"?at={url_quote(at)}"

    listed = client.get("/api/v1/segments/", headers=headers)
    assert listed.status_code == 200
    by_id = {s["id"]: s for s in listed.json()["segments"]}
    assert by_id[other.pk]["count"] == 3
    assert by_id[fuzzed.pk]["count"] is not None or by_id[fuzzed.pk]["errors"]
    base = f"/api/v1/segments/{fuzzed.pk}"
    for url in (f"{base}/members?page_size=2", f"{base}/explain/c1{query}"):
        assert client.get(url, headers=headers).status_code < 500


@settings(FUZZ, max_examples=25)
@given(rules=RULES)
def test_stored_rules_never_break_the_segment_admin_pages(admin_client, shop, rules):
    _, _, fuzzed, _ = shop
    assume(storable(rules))
    Segment.objects.filter(pk=fuzzed.pk).update(rules=rules)
    assert admin_client.get("/admin/customers/segment/").status_code == 200
    assert admin_client.get(f"/admin/customers/segment/{fuzzed.pk}/change/").status_code == 200


@FUZZ
@given(page=TEXT, size=TEXT, ident=TEXT.filter(lambda s: s and "/" not in s))
def test_members_and_explain_parameters_never_answer_5xx(client, shop, page, size, ident):
    _, other, _, key = shop
    headers = {"Authorization": f"Bearer {key}"}
    base = f"/api/v1/segments/{other.pk}"
    members = f"{base}/members?page={url_quote(page)}&page_size={url_quote(size)}"
    assert client.get(members, headers=headers).status_code < 500
    assert client.get(f"{base}/explain/{url_quote(ident)}", headers=headers).status_code < 500
