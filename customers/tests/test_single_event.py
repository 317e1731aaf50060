"""One event per POST, as a shop's webhook sends it: one statement checks the key, finds the stored
customer and stores the event; anything else answers as the general path does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.api.auth import api_key_create, api_key_store_sql
from customers.ingest.metrics import store_metrics_recompute
from customers.models import ApiKey, Customer, Event, Product
from customers.task_queue import tasks_held
from customers.tests.stores import store_make

pytestmark = pytest.mark.django_db
PHONE = "+13055550123"


@pytest.fixture
def shop():
    store = store_make()
    customer = Customer.objects.create(store=store, phone=PHONE, external_id="c-1", timezone="UTC",
                                       timezone_source="given")  # fmt: skip
    return store, customer, api_key_create(store=store, name="shop")[1]


def order(key: str, total: float = 20) -> dict:
    return {
        "id": key, "type": "order_placed", "occurred_at": "2026-11-26T10:00:00Z",
        "customer": {"external_id": "c-1", "phone": PHONE},
        "properties": {"order_id": key, "total": total, "items": []},
    }  # fmt: skip


def send(client, key: str, body: dict):
    return client.post("/api/v1/events", json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {key}"})  # fmt: skip


def test_a_stored_customers_event_takes_one_statement_and_moves_the_metrics(client, shop):
    store, customer, key = shop
    with CaptureQueriesContext(connection) as queries:
        response = send(client, key, order("o-1"))
    assert (response.status_code, response.json()) == (202, {"accepted": 1, "duplicates": 0})
    customer.refresh_from_db()
    assert (customer.order_count, customer.total_spent) == (1, Decimal("20.00"))
    assert Event.objects.get(idempotency_key="o-1").customer_id == customer.pk
    if connection.vendor == "postgresql":
        writes = [q["sql"] for q in queries.captured_queries if "INSERT INTO customers_event" in q["sql"]]
        assert len(writes) == 1 and "api_key" in writes[0]


def test_a_repeated_event_is_counted_as_a_duplicate(client, shop):
    _, customer, key = shop
    send(client, key, order("o-1"))
    response = send(client, key, order("o-1"))
    assert response.json() == {"accepted": 0, "duplicates": 1}
    customer.refresh_from_db()
    assert customer.order_count == 1


def test_a_new_customer_or_a_revoked_key_take_the_general_path(client, shop):
    store, _, key = shop
    stranger = {**order("o-2"), "customer": {"external_id": "c-2", "phone": "+13055550124"}}
    assert send(client, key, stranger).status_code == 202
    assert Customer.objects.filter(store=store, external_id="c-2").exists()
    ApiKey.objects.update(revoked=True)
    assert send(client, key, order("o-3")).status_code == 401
    assert not Event.objects.filter(idempotency_key="o-3").exists()


def test_it_notes_when_the_key_was_last_used(client, shop):
    _, _, key = shop
    ApiKey.objects.update(last_used_at=timezone.now() - timedelta(hours=1))
    send(client, key, order("o-1"))
    assert timezone.now() - ApiKey.objects.get().last_used_at < timedelta(minutes=1)


def click(key: str, at: str) -> dict:
    return {
        "id": key, "type": "sms_clicked", "occurred_at": at,
        "customer": {"external_id": "c-1", "phone": PHONE}, "properties": {"url": "https://acme.example.com/"},
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_an_order_a_click_or_a_view_is_one_statement_with_no_transaction_of_its_own(client, shop):
    store, customer, key = shop
    mug = Product.objects.create(
        store=store, external_id="sku-1", name="Mug", url="https://acme.example.com/m"
    )
    viewed = {**order("v-1"), "type": "product_viewed", "properties": {"product_id": "sku-1"}}
    send(client, key, order("o-0"))  # the key's use noted: later requests within the minute only read it
    for body in (order("o-1"), click("k-1", "2026-11-26T11:00:00Z"), viewed):
        with tasks_held(), CaptureQueriesContext(connection) as queries:
            assert send(client, key, body).status_code == 202
        statements = [q["sql"] for q in queries.captured_queries]
        if connection.vendor == "postgresql":
            assert len(statements) == 1, statements
        else:  # the general path: the key, then the event with its metrics in one transaction
            assert len(statements) <= 8, statements
    customer.refresh_from_db()
    assert customer.order_count == 2
    assert Event.objects.get(idempotency_key="v-1").product_id == mug.pk
    assert Event.objects.get(idempotency_key="o-1").product_id is None
    assert customer.last_sms_click_at == datetime(2026, 11, 26, 11, tzinfo=UTC)


def test_orders_and_clicks_one_per_post_leave_the_metrics_a_recompute_gives(client, shop):
    store, customer, key = shop
    sent = [
        order("o-1", 30), order("o-2", 12.25), {**order("o-3", 7), "occurred_at": "2026-10-01T09:00:00Z"},
        {**order("o-4"), "properties": {"order_id": "o-4", "total": 50, "items": [], "discount_code": "X"}},
        click("k-1", "2026-11-27T08:00:00Z"), click("k-2", "2026-11-02T08:00:00Z"), order("o-1", 30),
    ]  # fmt: skip
    for body in sent:
        assert send(client, key, body).status_code == 202
    fields = ["order_count", "total_spent", "average_order_value", "discount_order_count",
              "discount_order_share", "first_order_at", "last_order_at", "last_sms_click_at",
              "predicted_next_order_at"]  # fmt: skip
    incremental = Customer.objects.filter(pk=customer.pk).values(*fields).get()
    store_metrics_recompute(store=store)
    assert incremental == Customer.objects.filter(pk=customer.pk).values(*fields).get()
    assert (incremental["order_count"], incremental["total_spent"]) == (4, Decimal("99.25"))
    assert incremental["last_sms_click_at"] == datetime(2026, 11, 27, 8, tzinfo=UTC)


def test_a_process_notes_a_keys_use_in_the_statement_once_a_minute(shop, now):
    _, _, key = shop
    first = api_key_store_sql(raw=key, now=now)[0]
    within = api_key_store_sql(raw=key, now=now + timedelta(seconds=59))[0]
    after = api_key_store_sql(raw=key, now=now + timedelta(seconds=61))[0]
    assert ("UPDATE" in first, "UPDATE" in within, "UPDATE" in after) == (True, False, True)
