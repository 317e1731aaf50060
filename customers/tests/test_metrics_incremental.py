"""Metrics added batch by batch at ingestion equal the same metrics recomputed from history."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from customers.ingest.events import events_ingest
from customers.models import Customer
from customers.tests.stores import NOW, store_make

METRICS = [
    "order_count",
    "total_spent",
    "average_order_value",
    "discount_order_count",
    "discount_order_share",
    "first_order_at",
    "last_order_at",
    "last_sms_click_at",
    "predicted_next_order_at",
]
PHONES = ["+13055550100", "+13055550101", "+12065550102", "+14155550103"]

an_event = st.tuples(
    st.sampled_from(["order_placed", "order_placed", "sms_clicked", "product_viewed"]),
    st.integers(0, len(PHONES) - 1),
    st.integers(0, 400 * 24),  # hours ago: batches arrive in any order of time
    st.integers(0, 250_000),  # cents
    st.booleans(),  # discount code
)
history = st.lists(st.lists(an_event, min_size=1, max_size=8), min_size=1, max_size=5)


def payload(index: int, event: tuple) -> dict:
    kind, who, hours, cents, discounted = event
    properties = {
        "order_placed": {
            "order_id": f"o{index}",
            "total": f"{cents / 100:.2f}",
            "items": [],
            **({"discount_code": "SAVE10"} if discounted else {}),
        },
        "sms_clicked": {"url": "https://acme.example.com/"},
        "product_viewed": {"product_id": "sku-1"},
    }[kind]
    return {
        "id": f"e{index}",
        "type": kind,
        "occurred_at": (NOW - timedelta(hours=hours)).isoformat(),
        "customer": {"phone": PHONES[who]},
        "properties": properties,
    }


def metrics(store) -> list[tuple]:
    return list(Customer.objects.filter(store=store).order_by("phone").values_list("phone", *METRICS))


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=history)
# a whole-number total over a count it does not divide: 446 / 12 is 37.17, not a truncated 37
@example(batches=[[("order_placed", 0, 0, 0, False)] * 11 + [("order_placed", 0, 1, 44600, False)]])
def test_it_adds_each_batch_to_the_metrics_as_a_full_recompute_would(batches):
    with transaction.atomic():
        store = store_make()
        index = 0
        for batch in batches:
            payloads = []
            for event in batch:
                payloads.append(payload(index, event))
                index += 1
            # a batch sent twice adds nothing the second time
            for _ in range(2):
                events_ingest(store=store, payloads=payloads, now=NOW)
        incremental = metrics(store)
        call_command("recompute_metrics", store=store.slug, stdout=io.StringIO())
        recomputed = metrics(store)
        transaction.set_rollback(True)
    assert incremental == recomputed


@pytest.mark.django_db
def test_it_moves_the_last_order_only_forward_when_an_older_order_arrives_late():
    store = store_make()
    newer = payload(1, ("order_placed", 0, 24, 5000, False))
    older = payload(2, ("order_placed", 0, 240, 1000, True))
    events_ingest(store=store, payloads=[newer], now=NOW)
    events_ingest(store=store, payloads=[older], now=NOW)
    customer = Customer.objects.get()
    assert (customer.order_count, str(customer.total_spent), str(customer.average_order_value)) == (
        2,
        "60.00",
        "30.00",
    )
    assert (customer.first_order_at, customer.last_order_at) == (
        NOW - timedelta(hours=240),
        NOW - timedelta(hours=24),
    )
    assert customer.discount_order_share == 0.5
    assert customer.predicted_next_order_at == NOW - timedelta(hours=24) + timedelta(hours=216)


@pytest.mark.django_db
def test_it_keeps_the_last_click_when_an_older_click_arrives_late():
    store = store_make()
    events_ingest(store=store, payloads=[payload(1, ("sms_clicked", 0, 24, 0, False))], now=NOW)
    events_ingest(store=store, payloads=[payload(2, ("sms_clicked", 0, 240, 0, False))], now=NOW)
    assert Customer.objects.get().last_sms_click_at == NOW - timedelta(hours=24)
    events_ingest(store=store, payloads=[payload(3, ("sms_clicked", 0, 2, 0, False))], now=NOW)
    assert Customer.objects.get().last_sms_click_at == NOW - timedelta(hours=2)
