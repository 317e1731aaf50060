"""The API's bounds: texts that no database can store, sizes, numbers and dates out of range are
a 400 naming the field, and the batch stores nothing."""

from __future__ import annotations

import json

import pytest

from customers.api.auth import api_key_create
from customers.models import Customer, Event, Product
from customers.tests.stores import store_make

pytestmark = pytest.mark.django_db

PHONE = "+13055550123"
LONE = "\ud800"


@pytest.fixture
def key():
    return api_key_create(store=store_make(), name="shop")[1]


@pytest.fixture
def post(client, key):
    def send(path: str, body):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return client.post(f"/api/v1/{path}", data, content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})

    return send


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def cart(**changes) -> dict:
    return {
        "id": "e1",
        "type": "cart_updated",
        "occurred_at": "2026-11-26T10:00:00Z",
        "customer": {"phone": PHONE, "first_name": "Ana"},
        "properties": {
            "cart_id": "cart-9",
            "cart_url": "https://acme.example.com/cart/9",
            "items": [{"product_id": "sku-1", "name": "Tea", "price": 12.5, "quantity": 2}],
        },
        **changes,
    }


def nothing_stored() -> bool:
    return not (Customer.objects.exists() or Event.objects.exists() or Product.objects.exists())


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("events", cart(id=LONE), "id"),
        ("events", cart(type="x" + LONE), "type"),
        ("events", cart(customer={"phone": PHONE, "first_name": "A" + LONE}), "customer.first_name"),
        ("events", {"events": [cart(id="e0"), cart(properties={"note": LONE}, type="note_added")]},
         "events[1].properties.note"),
        ("events", cart(properties={**cart()["properties"], "items": [{"name": LONE}]}),
         "properties.items[0].name"),
        ("events", cart(properties={LONE: 1}, type="note_added"), "properties"),
        ("customers", {"phone": PHONE, "city": LONE}, "city"),
        ("customers", {"phone": PHONE, "attributes": {"size": ["M", LONE]}}, "attributes.size[1]"),
        ("customers", {"customers": [{"phone": PHONE}, {"phone": PHONE, "email": LONE + "@x.com"}]},
         "customers[1].email"),
        ("customers", {"phone": PHONE, "topics": [LONE]}, "topics[0]"),
        ("products", {"id": "sku-1", "name": "Tea" + LONE}, "name"),
        ("products", {"products": [{"id": "sku-1", "category": {"name": LONE}}]},
         "products[0].category.name"),
    ],
)
def test_a_lone_surrogate_in_any_text_is_400_naming_the_field(post, path, body, field):
    response = post(path, body)
    assert (response.status_code, fields(response)) == (400, [field])
    assert nothing_stored()


def test_a_surrogate_escaped_in_the_raw_json_is_400(post):
    raw = json.dumps(cart()).replace('"Ana"', '"An\\udfffa"')
    response = post("events", raw)
    assert (response.status_code, fields(response)) == (400, ["customer.first_name"])
    assert nothing_stored()


def test_a_surrogate_encoded_as_utf8_bytes_in_the_raw_body_is_400(post):
    body = cart(type="note_added", properties={"note": "a" + LONE})
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    response = post("events", raw)
    assert (response.status_code, fields(response)) == (400, ["properties.note"])
    assert nothing_stored()


def test_a_number_too_large_for_a_float_is_400(post):
    raw = json.dumps(cart(type="note_added", properties={"score": 1})).replace('"score": 1', '"score": 1e400')
    response = post("events", raw)
    assert (response.status_code, fields(response)) == (400, ["properties.score"])
    assert nothing_stored()


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("customers", {"phone": PHONE, "first_name": "A" * 101}, "first_name"),
        ("customers", {"phone": PHONE, "birthday": "0001-01-01"}, "birthday"),
        ("customers", {"phone": PHONE, "birthday": "9999-12-31"}, "birthday"),
        ("customers", {"phone": PHONE, "reward_balance": 1e300}, "reward_balance"),
        ("customers", {"phone": PHONE, "reward_points": 10**30}, "reward_points"),
        ("customers", {"phone": PHONE, "attributes": {f"k{i}": i for i in range(201)}}, "attributes"),
        ("customers", {"phone": PHONE, "attributes": {"k" * 101: 1}}, "attributes"),
        ("customers", {"phone": PHONE, "attributes": {"notes": "x" * 70_000}}, "attributes"),
        ("events", cart(occurred_at="2026-11-26T10:00:00+99:00"), "occurred_at"),
        ("events", cart(occurred_at="0001-01-01T00:00:00Z"), "occurred_at"),
        ("events", cart(type="note_added", properties={"blob": "x" * 70_000}), "properties"),
        ("products", {"id": "sku-1", "price": "1e100000000"}, "price"),
        ("products", {"id": "sku-1", "reorder_window_days": 10**9}, "reorder_window_days"),
        ("products", {"id": "sku-1", "stock": 2**63}, "stock"),
    ],
)
def test_values_out_of_range_are_400_naming_the_field(post, path, body, field):
    response = post(path, body)
    assert response.status_code == 400
    assert field in fields(response)
    assert nothing_stored()



@pytest.mark.parametrize("identifier, status", [("c%00", 400), ("c%ED%A0%80", 404)])
def test_a_customer_looked_up_by_an_id_no_database_reads_is_a_4xx(client, key, identifier, status):
    # Django keeps broken UTF-8 in a path percent-encoded, so only NUL reaches the lookup.
    response = client.get(f"/api/v1/customers/{identifier}", headers={"Authorization": f"Bearer {key}"})
    assert (response.status_code, fields(response)) == (status, ["customer"])


ITEMS = [{"product_id": "sku-1", "name": "Tea", "price": 12.5, "quantity": 2}]
ORDER = {"id": "o1", "type": "order_placed", "occurred_at": "2026-11-26T10:00:00Z",
         "customer": {"phone": PHONE},
         "properties": {"order_id": "o-1", "total": 9999999999.999, "items": ITEMS}}
TEA = {"id": "sku-1", "name": "Tea", "url": "https://acme.example.com/t"}


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("events", ORDER, "properties.total"),
        ("events", {**ORDER, "properties": {**ORDER["properties"], "total": "9999999999.999"}},
         "properties.total"),
        ("events", {**ORDER, "properties": {**ORDER["properties"], "total": 1,
                                            "items": [{**ITEMS[0], "price": 1e10 - 0.001}]}},
         "properties.items[0].price"),
        ("customers", {"phone": PHONE, "reward_balance": 9999999999.999}, "reward_balance"),
        ("customers", {"phone": PHONE, "reward_balance": "9999999999.995"}, "reward_balance"),
        ("products", {**TEA, "price": 9999999999.999}, "price"),
    ],
)
def test_an_amount_that_rounds_past_the_column_is_400(post, path, body, field):
    response = post(path, body)
    assert (response.status_code, fields(response)) == (400, [field])
    assert nothing_stored()


def test_the_largest_amount_the_column_holds_is_stored(post):
    assert post("products", {**TEA, "price": "9999999999.994"}).status_code == 200
    assert str(Product.objects.get().price) == "9999999999.99"


@pytest.mark.parametrize(
    "consent, field",
    [
        ({"status": []}, "sms_consent.status"),
        ({"status": {}}, "sms_consent.status"),
        ({"status": ["subscribed"]}, "sms_consent.status"),
        ({"status": "subscribed", "wording": "Yes", "ip_address": True}, "sms_consent.ip_address"),
        ({"status": "subscribed", "wording": "Yes", "ip_address": 1234}, "sms_consent.ip_address"),
        ({"status": "subscribed", "wording": "Yes", "ip_address": ["1.2.3.4"]}, "sms_consent.ip_address"),
        ({"status": "subscribed", "wording": "Yes", "ip_address": "1.2.3.4\x00"}, "sms_consent.ip_address"),
    ],
)
def test_a_consent_field_of_the_wrong_type_is_400(post, consent, field):
    response = post("customers", {"phone": PHONE, "sms_consent": consent})
    assert (response.status_code, fields(response)) == (400, [field])
    assert nothing_stored()
