"""Fuzzed API: hostile events, customers and products, single and batched. No answer is a 5xx, every
error names a field, and a refused request stores nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from customers.api.auth import api_key_create
from customers.ingest.customers import CUSTOMER_KEYS
from customers.ingest.events import EVENT_KEYS
from customers.ingest.products import PRODUCT_KEYS
from customers.models import ConsentRecord, Customer, Event, Product, ProductChange
from customers.tests.hostile import FUZZ, JSON, LONE_SURROGATES, NUMBER, TEXT, VALUE, either
from customers.tests.stores import store_make

PHONE = "+13055550123"
TABLES = (Customer, Event, Product, ProductChange, ConsentRecord)


@pytest.fixture
def post(client, db):
    key = api_key_create(store=store_make(), name="fuzz")[1]

    def send(path: str, body):
        return client.post(f"/api/v1/{path}", json.dumps(body), content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})

    return send


def stored() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in TABLES)


def any_of_keys(keys, **valid) -> st.SearchStrategy:
    """An object with some of `keys`: a valid value where given, else anything; sometimes a stray key."""
    values = {key: either(valid[key]) if key in valid else VALUE for key in sorted(keys)}
    return st.fixed_dictionaries({}, optional={**values, "stray": JSON})


MOMENT = st.sampled_from(["2026-11-26T10:00:00Z", "2026-11-26T10:00:00+99:00", "0001-01-01T00:00:00Z",
                          "9999-12-31T23:59:59+14:00", "2026-11-26"])
EVENT = any_of_keys(
    EVENT_KEYS,
    id=st.text(min_size=1, max_size=8),
    type=st.sampled_from(["cart_updated", "order_placed", "product_viewed", "note_added"]),
    occurred_at=MOMENT,
    customer=any_of_keys({"phone", "external_id", "first_name", "email"}, phone=st.just(PHONE)),
    properties=st.dictionaries(
        st.sampled_from(["cart_id", "cart_url", "items", "total", "order_id", "product_id", "note"]) | TEXT,
        JSON | NUMBER,
        max_size=4,
    ),
)
CUSTOMER = any_of_keys(
    CUSTOMER_KEYS,
    phone=st.just(PHONE),
    birthday=st.sampled_from(["1990-04-21", "0001-01-01", "9999-12-31"]),
    topics=st.lists(st.sampled_from(["deals", "drops"]) | LONE_SURROGATES, max_size=2),
    attributes=st.dictionaries(TEXT, JSON, max_size=3),
    sms_consent=st.fixed_dictionaries({"status": st.sampled_from(["subscribed", "unsubscribed"]) | TEXT},
                                      optional={"at": MOMENT, "source": TEXT}),
)
PRODUCT = any_of_keys(
    PRODUCT_KEYS,
    id=st.text(min_size=1, max_size=8),
    price=NUMBER | st.just("1e100000000"),
    stock=NUMBER,
    url=st.just("https://acme.example.com/p") | TEXT,
    category=TEXT | st.fixed_dictionaries({"name": TEXT}),
)


def check(response, before: tuple[int, ...]) -> None:
    assert response.status_code < 500, response.content
    event(f"{response.status_code}")
    if response.status_code >= 400:
        assert all(e["field"] for e in response.json()["errors"])
        assert stored() == before


@FUZZ
@given(items=st.lists(EVENT, min_size=1, max_size=3), batch=st.booleans())
def test_no_event_input_answers_5xx_or_is_half_stored(post, items, batch):
    before = stored()
    check(post("events", {"events": items} if batch else items[0]), before)


@FUZZ
@given(items=st.lists(CUSTOMER, min_size=1, max_size=3), batch=st.booleans())
def test_no_customer_input_answers_5xx_or_is_half_stored(post, items, batch):
    before = stored()
    check(post("customers", {"customers": items} if batch else items[0]), before)


@FUZZ
@given(items=st.lists(PRODUCT, min_size=1, max_size=3), batch=st.booleans())
def test_no_product_input_answers_5xx_or_is_half_stored(post, items, batch):
    before = stored()
    check(post("products", {"products": items} if batch else items[0]), before)


@FUZZ
@given(body=JSON)
def test_no_body_of_any_shape_answers_5xx(post, body):
    for path in ("events", "customers", "products"):
        before = stored()
        check(post(path, body), before)
