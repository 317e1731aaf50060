from __future__ import annotations

import json

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.api.auth import api_key_create
from customers.ingest.customers import CUSTOMER_KEYS as CUSTOMER_FIELDS
from customers.ingest.products import PRODUCT_KEYS as PRODUCT_FIELDS
from customers.models import ConsentRecord, Customer, Event, Product, ProductChange
from customers.tests.stores import store_make

pytestmark = pytest.mark.django_db

MIAMI = "+13055550123"


@pytest.fixture
def store():
    return store_make()


@pytest.fixture
def key(store):
    return api_key_create(store=store, name="shop")[1]


@pytest.fixture
def post(client, key):
    def send(path: str, body, *, content_type="application/json", auth: str | None = None):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        headers = {"Authorization": auth if auth is not None else f"Bearer {key}"}
        return client.post(f"/api/v1/{path}", data, content_type=content_type, headers=headers)

    return send


def event(key: str = "e1", **changes) -> dict:
    return {
        "id": key,
        "type": "cart_updated",
        "occurred_at": "2026-11-26T10:00:00Z",
        "customer": {"external_id": "c-1", "phone": MIAMI, "first_name": "Ana"},
        "properties": {
            "cart_id": "cart-9",
            "cart_url": "https://acme.example.com/cart/9",
            "items": [{"product_id": "sku-1", "name": "Tea", "price": 12.5, "quantity": 2}],
        },
        **changes,
    }


def errors(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_it_accepts_one_event_and_answers_202(post):
    response = post("events", event())
    assert (response.status_code, response.json()) == (202, {"accepted": 1, "duplicates": 0})
    stored = Event.objects.get()
    assert (stored.type, stored.customer.first_name, stored.properties["items"][0]["quantity"]) == (
        "cart_updated",
        "Ana",
        2,
    )


def test_a_retried_batch_is_stored_once(post):
    batch = {"events": [event("e1"), event("e2"), event("e1")]}
    first = post("events", batch)
    again = post("events", batch)
    assert first.json() == {"accepted": 2, "duplicates": 1}
    assert again.json() == {"accepted": 0, "duplicates": 3}
    assert Event.objects.count() == 2


def test_a_batch_with_one_bad_event_stores_nothing_and_names_its_index(post):
    bad = event("e2", occurred_at="2026-13-40T10:00:00Z")
    response = post("events", {"events": [event("e1"), bad]})
    assert response.status_code == 400
    assert errors(response) == ["events[1].occurred_at"]
    assert not Event.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer": {"phone": "+1 555 0000"}}, "customer.phone"),
        ({"occurred_at": "26/11/2026"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
        (
            {"properties": {"cart_id": "c", "cart_url": "https://x.example.com", "items": "two"}},
            "properties.items",
        ),
        (
            {
                "properties": {
                    "cart_id": "c",
                    "cart_url": "https://x.example.com",
                    "items": [{"product_id": "sku-1", "price": 3, "quantity": "2"}],
                }
            },
            "properties.items[0].quantity",
        ),
        ({"properties": {"cart_id": "c", "cart_url": "not a url", "items": []}}, "properties.cart_url"),
        ({"type": ""}, "type"),
    ],
)
def test_bad_fields_are_400_naming_the_field(post, changes, field):
    response = post("events", event(**changes))
    assert response.status_code == 400
    assert field in errors(response)
    assert not Event.objects.exists()


def test_malformed_json_is_400(post):
    response = post("events", '{"id": "e1", ')
    assert (response.status_code, errors(response)) == (400, ["body"])


def test_a_json_array_body_is_400(post):
    response = post("events", "[1, 2]")
    assert (response.status_code, errors(response)) == (400, ["body"])


def test_the_wrong_content_type_is_415(post):
    response = post("events", "id=e1", content_type="application/x-www-form-urlencoded")
    assert (response.status_code, errors(response)) == (415, ["Content-Type"])


@pytest.mark.parametrize("auth", ["", "Bearer ", "Basic abc", "Bearer sk_not_a_key"])
def test_a_missing_or_bad_key_is_401(post, auth):
    response = post("events", event(), auth=auth)
    assert (response.status_code, errors(response)) == (401, ["Authorization"])
    assert not Event.objects.exists()


def test_a_revoked_key_is_401(post, key):
    from customers.models import ApiKey

    ApiKey.objects.update(revoked=True)
    assert post("events", event()).status_code == 401


def test_a_key_only_reaches_its_own_store(client, post):
    other = store_make("other")
    other_key = api_key_create(store=other)[1]
    post("events", event())
    response = client.get(f"/api/v1/customers/{MIAMI}", headers={"Authorization": f"Bearer {other_key}"})
    assert response.status_code == 404


def test_an_unknown_store_is_404_naming_it(post):
    response = post("events", {"store": "nope", "events": [event()]})
    assert (response.status_code, errors(response)) == (404, ["store"])


def test_more_than_1000_events_is_413(post):
    response = post("events", {"events": [event(f"e{i}") for i in range(1001)]})
    assert (response.status_code, errors(response)) == (413, ["events"])
    assert not Event.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=2000)
def test_an_oversized_body_is_413(post):
    response = post("events", {"events": [event(f"e{i}") for i in range(20)]})
    assert (response.status_code, errors(response)) == (413, ["body"])


def test_an_empty_batch_is_400(post):
    response = post("events", {"events": []})
    assert (response.status_code, errors(response)) == (400, ["events"])


def test_nul_characters_are_400_naming_the_field_not_a_database_error(post):
    response = post("events", event(properties={"note": "a\u0000b"}, type="note_added"))
    assert (response.status_code, errors(response)) == (400, ["properties.note"])


def test_nan_is_400_not_a_database_error(post):
    response = post(
        "events",
        '{"id": "n1", "type": "note_added", "customer": {"phone": "+13055550123"}, '
        '"properties": {"score": NaN}}',
    )
    assert (response.status_code, errors(response)) == (400, ["body"])
    assert not Event.objects.exists()


def test_a_deeply_nested_body_is_400(post):
    response = post("events", "[" * 100_000)
    assert response.status_code == 400


def test_the_wrong_method_is_405_json(client, key):
    response = client.get("/api/v1/events", headers={"Authorization": f"Bearer {key}"})
    assert (response.status_code, errors(response)) == (405, ["method"])


def test_a_trailing_slash_is_accepted_not_redirected(client, key):
    response = client.post(
        "/api/v1/events/",
        json.dumps(event()),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 202


def test_customers_are_upserted_with_consent_evidence_and_read_back(client, post, key):
    body = {
        "external_id": "c-1",
        "phone": "(305) 555-0123",
        "first_name": "Ana",
        "city": "Miami",
        "topics": ["deals"],
        "sms_consent": {
            "status": "subscribed",
            "source": "checkout_checkbox",
            "wording": "Yes, text me offers. Msg & data rates may apply. Reply STOP to cancel.",
            "at": "2026-11-20T18:30:00Z",
            "ip_address": "203.0.113.7",
        },
    }
    created = post("customers", body)
    updated = post("customers", {"external_id": "c-1", "city": "Doral"})
    assert (created.status_code, updated.status_code) == (201, 200)
    record = ConsentRecord.objects.get()
    assert (record.action, record.source, record.ip_address) == ("opt_in", "checkout_checkbox", "203.0.113.7")
    for identifier in ("c-1", MIAMI):
        response = client.get(f"/api/v1/customers/{identifier}", headers={"Authorization": f"Bearer {key}"})
        profile = response.json()
        assert (profile["phone"], profile["city"], profile["timezone"], profile["region"]) == (
            MIAMI,
            "Doral",
            "America/New_York",
            "FL",
        )
        assert profile["sms_consent"] == {"status": "subscribed", "at": "2026-11-20T18:30:00+00:00"}
        assert profile["metrics"]["order_count"] == 0


def test_a_customer_with_a_bad_phone_is_400(post):
    response = post("customers", {"phone": "12"})
    assert (response.status_code, errors(response)) == (400, ["phone"])


def test_a_customer_batch_names_the_index(post):
    response = post("customers", {"customers": [{"phone": MIAMI}, {"phone": MIAMI, "birthday": "May 1"}]})
    assert (response.status_code, errors(response)) == (400, ["customers[1].birthday"])
    assert not Customer.objects.exists()


def test_an_unknown_customer_is_404(client, key):
    response = client.get("/api/v1/customers/nobody", headers={"Authorization": f"Bearer {key}"})
    assert (response.status_code, errors(response)) == (404, ["customer"])


def test_products_are_upserted_and_changes_recorded(post):
    product = {
        "id": "sku-1",
        "name": "Tea",
        "url": "https://acme.example.com/tea",
        "price": "9.00",
        "stock": 0,
    }
    first = post("products", {"products": [product]})
    second = post("products", {"id": "sku-1", "stock": 40})
    assert first.json() == {"created": 1, "updated": 0, "changes": 0}
    assert second.json() == {"created": 0, "updated": 1, "changes": 1}
    assert Product.objects.get().stock == 40
    assert ProductChange.objects.get().field == "stock"


def test_a_product_with_a_bad_price_is_400(post):
    response = post(
        "products", {"id": "sku-1", "name": "Tea", "url": "https://acme.example.com/t", "price": True}
    )
    assert (response.status_code, errors(response)) == (400, ["price"])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES = {
    "id": JSON | st.just("e1"),
    "type": JSON | st.sampled_from(["cart_updated", "order_placed", "preference_set", "custom_thing"]),
    "occurred_at": JSON | st.sampled_from(["2026-11-26T10:00:00Z", "2026-11-26T12:00+02:00", "1969-12-31"]),
    "customer": JSON
    | st.fixed_dictionaries({"phone": JSON | st.just(MIAMI)}, optional={"external_id": JSON, "email": JSON}),
    "properties": JSON
    | st.fixed_dictionaries(
        {},
        optional={
            "cart_id": JSON, "cart_url": JSON, "items": JSON, "total": JSON, "order_id": JSON,
            "topics": JSON, "balance": JSON, "discount_code": JSON,
        },
    ),
}  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.fixed_dictionaries({}, optional=FIELD_VALUES), batch=st.booleans())
def test_no_event_input_is_a_server_error(post, event, batch):
    response = post("events", {"events": [event]} if batch else event)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 400:
        assert all(e["field"] for e in response.json()["errors"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(sorted(CUSTOMER_FIELDS)), JSON, max_size=6))
def test_no_customer_input_is_a_server_error(post, body):
    response = post("customers", body)
    assert response.status_code in (200, 201, 400), response.content


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(sorted(PRODUCT_FIELDS)), JSON, max_size=6))
def test_no_product_input_is_a_server_error(post, body):
    response = post("products", {"id": "sku-1", "name": "Tea", "url": "https://acme.example.com/t", **body})
    assert response.status_code in (200, 400), response.content
