"""One event per POST, as a shop's webhook sends it: one statement checks the key, finds the stored
customer and stores the event; anything else answers as the general path does."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.api.auth import api_key_create
from customers.models import ApiKey, Customer, Event
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
