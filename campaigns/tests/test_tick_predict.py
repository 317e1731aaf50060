"""The tick's predict stage: each store retrained and scored once a day, as of the tick's `now`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.tick import tick
from customers.models import Customer, CustomerPrediction, Event, PredictionRun
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db


def test_it_scores_each_store_once_a_day():
    store = store_make("tick-predict")
    ann = Customer.objects.create(store=store, phone="+15550000001", timezone="UTC", timezone_source="store")
    at = NOW - timedelta(days=3)
    Event.objects.create(
        store=store,
        customer=ann,
        type="order_placed",
        occurred_at=at,
        received_at=at,
        properties={"order_id": "1", "total": 30},
        idempotency_key="o1",
    )

    assert tick(now=NOW, stages=["predict"]).stores_predicted == 1
    assert tick(now=NOW + timedelta(hours=1), stages=["predict"]).stores_predicted == 0
    assert tick(now=NOW + timedelta(days=1), stages=["predict"]).stores_predicted == 1

    run = PredictionRun.objects.filter(store=store).latest("started_at")
    assert run.finished_at == NOW + timedelta(days=1) and run.scored == 1
    assert CustomerPrediction.objects.get(customer=ann).run == run


def test_the_schedule_queues_one_task_per_due_store(django_capture_on_commit_callbacks):
    store = store_make("queued-predict")

    with django_capture_on_commit_callbacks(execute=True):
        assert tick(now=NOW, in_process=False, stages=["predict"]).stores_predicted == 1

    run = PredictionRun.objects.get(store=store)
    assert run.finished_at == NOW and "needs 500 ordering customers; you have 0" in run.shortfall
