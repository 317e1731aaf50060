"""A shop's webhooks queue their work gathered per connection (one task for the deliveries of a
short window), and a delivery whose task was lost is processed by the sweep all the same."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from customers.connections.models import ShopConnection, WebhookDelivery
from customers.connections.process import LEFT_AFTER, deliveries_left_process
from customers.models import Event
from customers.tasks import webhook_deliveries_process_task
from customers.tests.stores import store_make
from harness.shop_payloads import (
    SHOP,
    SHOPIFY_SECRET,
    shopify_customer,
    shopify_line,
    shopify_order,
    shopify_post,
)

pytestmark = pytest.mark.django_db
PHONE = "+12125550142"


@pytest.fixture
def connection(frozen_now):
    return ShopConnection.objects.create(
        store=store_make("juniper"),
        platform=ShopConnection.Platform.SHOPIFY,
        shop_domain=SHOP,
        webhook_secret=SHOPIFY_SECRET,
        webhooks_only=True,
        connected_at=frozen_now,
    )


def order(order_id: int, now) -> dict:
    line = [shopify_line(632910392, "IPod Nano - 8GB", "199.00")]
    return shopify_order(order_id, shopify_customer(7, PHONE, now), now, line)


def test_a_connections_deliveries_are_one_task_that_processes_them_all(
    client, connection, frozen_now, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "SYNC", False)  # as in production: the work waits for a worker
    with django_capture_on_commit_callbacks(execute=True):
        for order_id in (1001, 1002):
            body = order(order_id, frozen_now - timedelta(minutes=1))
            assert shopify_post(client, "orders/create", body).status_code == 200

    queued = [SignedPackage.loads(task.payload) for task in OrmQ.objects.all()]
    funcs = [task["func"] for task in queued]
    assert funcs == ["customers.tasks.webhook_deliveries_process_task"] * 2  # no window in tests
    ids = [delivery_id for task in queued for delivery_id in task["args"][1]]
    assert sorted(ids) == sorted(WebhookDelivery.objects.values_list("pk", flat=True))

    assert webhook_deliveries_process_task(connection.pk, ids) == {"processed": 2}
    notes = set(WebhookDelivery.objects.values_list("note", flat=True))
    assert notes == {"with 1 more: 1 customers, 2 events"}  # one buyer, written together
    assert Event.objects.filter(store=connection.store, type="order_placed").count() == 2
    assert webhook_deliveries_process_task(connection.pk, ids) == {}  # a second run does nothing


def test_a_delivery_whose_task_was_lost_is_processed_by_the_sweep(
    client, connection, frozen_now, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "SYNC", False)
    with django_capture_on_commit_callbacks(execute=True):
        shopify_post(client, "orders/create", order(2001, frozen_now - timedelta(minutes=1)))
    OrmQ.objects.all().delete()  # its task is lost
    delivery = WebhookDelivery.objects.get()
    assert delivery.received_at == frozen_now

    assert deliveries_left_process(now=frozen_now + LEFT_AFTER / 2) == {}  # still waiting
    assert deliveries_left_process(now=frozen_now + LEFT_AFTER * 2) == {"processed": 1}
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PROCESSED
    assert Event.objects.filter(store=connection.store, type="order_placed").count() == 1


def test_a_run_that_fails_together_is_processed_one_by_one(client, connection, frozen_now, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    good = order(3001, frozen_now - timedelta(minutes=1))
    broken = {**order(3002, frozen_now - timedelta(minutes=1)), "discount_codes": 5}  # breaks the mapping
    for body in (good, broken):
        shopify_post(client, "orders/create", body)
    ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))

    assert webhook_deliveries_process_task(connection.pk, ids) == {"processed": 1, "failed": 1}
    statuses = dict(WebhookDelivery.objects.values_list("pk", "status"))
    assert statuses == {ids[0]: WebhookDelivery.Status.PROCESSED, ids[1]: WebhookDelivery.Status.FAILED}
    assert Event.objects.filter(store=connection.store, type="order_placed").count() == 1
