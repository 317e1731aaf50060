"""The template preview's bounds: an amount no price reaches is left as it came (not formatted digit by
digit), and a body, id or text the preview cannot use is a 4xx naming the field."""

from __future__ import annotations

import json
import time

import pytest

from campaigns.content.templating import format_money, render
from campaigns.tests.fields_support import make_customer, make_store
from customers.models import Segment

PREVIEW = "/admin/campaigns/messagetemplate/preview/"
AUDIENCE = "/admin/campaigns/messagetemplate/audience/"


@pytest.fixture
def store(db):
    store = make_store()
    make_customer(store, first_name="")
    return store


def post(client, url: str, payload) -> tuple[int, dict]:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    response = client.post(url, body, content_type="application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    "amount", ["1e100000000", "-1e100000000", "1e999999999999999999", "1e9999999999999999999"]
)
def test_the_money_filter_leaves_an_amount_no_price_reaches_as_it_came(amount):
    started = time.process_time()
    text = render("Total {{ total|money }}", {"total": amount})
    assert time.process_time() - started < 0.5
    assert text.startswith("Total ") and "," not in text


def test_the_money_formatter_is_unchanged_for_prices():
    assert format_money("1234.5", "USD") == "$1,234.50"
    assert format_money(12, "EUR") == "€12"
    assert format_money("999999999999999", "USD") == "$999,999,999,999,999"


def test_the_preview_renders_a_huge_fallback_amount_at_once(admin_client, store):
    started = time.process_time()
    status, data = post(admin_client, PREVIEW, {
        "store": store.pk, "customer": "+14155550100",
        "body": 'Your credit: {{ first_name|default:"1e100000000"|money }}',
    })
    assert time.process_time() - started < 5
    assert status == 200
    assert [s["body"] for s in data["samples"]] == ["Your credit: 1e100000000"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"body": "x" * 20_000}, "body"),
        ({"body": "Hi \ud800"}, "body"),
        ({"body": "Hi", "customer": "+1415\udfff"}, "customer"),
        ({"body": "Hi", "segment": float("inf")}, "segment"),
    ],
)
def test_the_preview_refuses_what_it_cannot_use_naming_the_field(admin_client, store, payload, field):
    status, data = post(admin_client, PREVIEW, {"store": store.pk, **payload})
    assert (status, [e["field"] for e in data["errors"]]) == (400, [field])


@pytest.mark.parametrize("store_id", [10**30, -1, "9" * 5000, None])
def test_the_preview_refuses_a_store_id_out_of_range(admin_client, store, store_id):
    status, data = post(admin_client, PREVIEW, {"store": store_id, "body": "Hi"})
    assert (status, [e["field"] for e in data["errors"]]) == (400, ["store"])


def test_the_preview_refuses_a_body_nested_past_the_parser(admin_client, store):
    status, data = post(admin_client, PREVIEW, "[" * 100_000)
    assert (status, [e["field"] for e in data["errors"]]) == (400, ["body"])


def test_a_segment_whose_stored_rules_cannot_be_evaluated_is_409_naming_it(admin_client, store):
    broken = Segment.objects.create(store=store, name="Broken", slug="broken", rules={
        "type": "group", "children": [{"type": "event", "event": "cart_updated", "window": {"last": 10**30}}],
    })
    for url in (PREVIEW, AUDIENCE):
        status, data = post(admin_client, url, {"store": store.pk, "body": "Hi", "segment": broken.pk})
        assert (status, [e["field"] for e in data["errors"]]) == (409, ["segment"])


@pytest.mark.parametrize("customer", ["²", "١٢", "99999999999999999999999", "+1²"])
def test_a_customer_that_only_looks_like_an_id_finds_no_one(admin_client, store, customer):
    status, body = post(admin_client, PREVIEW, {"store": store.pk, "body": "Hi {{ first_name }}",
                                                "customer": customer})
    assert status == 200
    assert body["samples"] == []


@pytest.mark.parametrize("body", ["Hi {{ first_name|truncate:² }}", 'Hi {{ first_name|truncate:"²" }}'])
def test_a_truncate_length_in_other_digits_is_an_error_on_the_field(admin_client, store, body):
    status, answer = post(admin_client, PREVIEW, {"store": store.pk, "body": body})
    assert status == 200
    assert any("truncate" in check["message"] for check in answer["checks"]), answer
