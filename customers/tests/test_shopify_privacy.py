"""Shopify's mandatory privacy topics, signed in the shapes of Shopify's privacy compliance page:
a customer's data exported, a customer erased, a whole shop's customers erased."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.connections.models import ShopConnection, WebhookDelivery
from customers.models import Customer
from customers.tests.stores import store_make
from harness.shop_payloads import SHOP, SHOPIFY_SECRET, shopify_customer, shopify_post, sms_consent

pytest.importorskip("customers.privacy", reason="the privacy services (export, erase) are not in this tree")
pytestmark = pytest.mark.django_db
PHONE = "+12125550188"


@pytest.fixture
def store():
    store = store_make("juniper")
    ShopConnection.objects.create(
        store=store,
        platform="shopify",
        shop_domain=SHOP,
        webhook_secret=SHOPIFY_SECRET,
        webhooks_only=True,
        connected_at=timezone.now(),
    )
    return store


@pytest.fixture
def post(client, inline):
    return lambda topic, body: inline(shopify_post, client, topic, body)


@pytest.fixture
def known(post, store):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    post("customers/create", shopify_customer(191167, PHONE, now, consent=sms_consent("subscribed", now)))
    return Customer.objects.get(store=store, external_id="191167")


def request_body(kind: str) -> dict:
    body = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": 191167, "email": "john@example.com", "phone": "212-555-0188"},
    }
    if kind == "data_request":
        return {**body, "orders_requested": [299938, 280263, 220458], "data_request": {"id": 9999}}
    return {**body, "orders_to_redact": [299938, 280263, 220458]}


def test_a_data_request_exports_the_customer(post, known):
    response = post("customers/data_request", request_body("data_request"))

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get(topic="customers/data_request")
    assert (delivery.status, delivery.note) == (
        WebhookDelivery.Status.PROCESSED,
        "data request 9999: 1 customer(s) exported",
    )


def test_a_redaction_erases_the_customer(post, known, store):
    post("customers/redact", request_body("redact"))

    assert not Customer.objects.filter(store=store, phone=PHONE).exists()
    assert WebhookDelivery.objects.get(topic="customers/redact").status == WebhookDelivery.Status.PROCESSED


def test_a_shop_redaction_erases_the_shops_customers(post, known, store):
    post("shop/redact", {"shop_id": 954889, "shop_domain": SHOP})

    assert not Customer.objects.filter(store=store, phone=PHONE).exists()
