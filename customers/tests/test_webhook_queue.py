"""A shop's webhooks queue their work gathered per connection (one task for the deliveries of a
short window), and a delivery whose task was lost is processed by the sweep all the same."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from customers.connections.models import ShopConnection, WebhookDelivery
from customers.connections.process import LEFT_AFTER, deliveries_left_process
from customers.connections.signing import body_signature
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


@pytest.mark.django_db(transaction=True)
def test_a_known_shops_delivery_is_one_statement_with_no_transaction(
    client, connection, frozen_now, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # queued, as in production (where the window gathers it)
    sent = frozen_now - timedelta(minutes=1)
    shopify_post(client, "orders/create", order(1001, sent))  # the first reads the connection
    with CaptureQueriesContext(db_connection) as queries:
        response = shopify_post(client, "orders/create", order(1002, sent))
    assert (response.status_code, response.json()) == (200, {"received": True, "duplicate": False})
    statements = [q["sql"] for q in queries.captured_queries]
    queued = next(i for i, sql in enumerate(statements) if "django_q_ormq" in sql)
    # the request's own work; then the queue's (tests queue at once, production after the window)
    assert statements[: queued - 1] == [statements[0]], statements
    assert statements[0].startswith("INSERT INTO connections_webhookdelivery")
    stored = WebhookDelivery.objects.order_by("pk").last()
    assert (stored.topic, stored.status, stored.received_at) == ("orders/create", "received", frozen_now)
    assert json.loads(stored.body)["id"] == 1002


def test_a_repeat_or_a_changed_secret_after_the_shop_was_seen_answers_as_before(client, connection, now):
    sent = now - timedelta(minutes=1)
    assert shopify_post(client, "orders/create", order(1001, sent), webhook_id="d-1").status_code == 200
    again = shopify_post(client, "orders/create", order(1001, sent), webhook_id="d-1")
    assert again.json() == {"received": True, "duplicate": True}
    ShopConnection.objects.filter(pk=connection.pk).update(webhook_secret="rotated")
    old = shopify_post(client, "orders/create", order(1002, sent), webhook_id="d-2")
    assert old.status_code == 401
    new = shopify_post(client, "orders/create", order(1003, sent), webhook_id="d-3", secret="rotated")
    assert new.json() == {"received": True, "duplicate": False}
    ShopConnection.objects.filter(pk=connection.pk).update(shop_domain="renamed.myshopify.com")
    gone = shopify_post(client, "orders/create", order(1004, sent), webhook_id="d-4", secret="rotated")
    assert gone.status_code == 401
    assert sorted(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["d-1", "d-3"]


def test_a_body_that_is_not_utf8_is_a_400(client, connection):
    raw = json.dumps({"id": 1}).encode("utf-16")
    headers = {
        "X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Hmac-Sha256": body_signature(raw, SHOPIFY_SECRET), "X-Shopify-Webhook-Id": "x",
    }  # fmt: skip
    for _ in range(2):  # the shop unseen, then seen
        response = client.post("/webhooks/shopify/", raw, content_type="application/json", headers=headers)
        assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()
