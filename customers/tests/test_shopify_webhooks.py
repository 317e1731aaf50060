"""Shopify's webhooks at /webhooks/shopify/: signed bodies in Shopify's shapes become customers,
consent and events; a bad signature stores nothing; a replayed delivery is stored once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.connections.models import ShopConnection, WebhookDelivery
from customers.models import ConsentRecord, Customer, Event, Product, ProductChange
from customers.tests.stores import store_make
from harness.shop_payloads import (
    SHOP,
    SHOPIFY_SECRET,
    shopify_checkout,
    shopify_customer,
    shopify_fulfillment,
    shopify_inventory_level,
    shopify_line,
    shopify_order,
    shopify_post,
    shopify_product,
    shopify_variant,
    sms_consent,
)

pytestmark = pytest.mark.django_db
PHONE = "+12125550142"


@pytest.fixture
def store():
    store = store_make("juniper")
    ShopConnection.objects.create(
        store=store,
        platform=ShopConnection.Platform.SHOPIFY,
        shop_domain=SHOP,
        webhook_secret=SHOPIFY_SECRET,
        webhooks_only=True,
        connected_at=timezone.now(),
    )
    return store


@pytest.fixture
def post(client, inline):
    """Post a signed webhook; its queued work runs once the request's transaction commits."""
    return lambda topic, body, **options: inline(shopify_post, client, topic, body, **options)


@pytest.fixture
def now():
    # The queued work reads the clock when it runs (inline here): the shop's times are just before.
    return timezone.now().replace(microsecond=0) - timedelta(minutes=1)


def test_it_subscribes_a_customer_shopify_says_consented_with_a_ledger_row(post, store, now):
    consented_at = now - timedelta(hours=2)
    body = shopify_customer(706405506930370084, PHONE, now, consent=sms_consent("subscribed", consented_at))

    response = post("customers/create", body)

    assert response.status_code == 200
    customer = Customer.objects.get(store=store)
    assert (customer.external_id, customer.phone, customer.sms_consent) == (
        "706405506930370084",
        PHONE,
        Customer.Consent.SUBSCRIBED,
    )
    record = ConsentRecord.objects.get(customer=customer)
    assert (record.action, record.source, record.occurred_at) == ("opt_in", "shopify", consented_at)
    assert "single_opt_in" in record.wording and "SHOPIFY" in record.wording
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.body) == (WebhookDelivery.Status.PROCESSED, "")


def test_it_answers_401_and_stores_nothing_for_a_bad_signature(post, store, now):
    body = shopify_customer(1, PHONE, now, consent=sms_consent("subscribed", now))

    forged = post("customers/create", body, secret="not-the-shops-key")
    unsigned = post("customers/create", body, signature="")
    unknown_shop = post("customers/create", body, shop="other.myshopify.com")

    assert [r.status_code for r in (forged, unsigned, unknown_shop)] == [401, 401, 401]
    assert WebhookDelivery.objects.count() == 0
    assert Customer.objects.count() == 0


def test_a_replayed_webhook_id_is_stored_and_processed_once(post, store, now):
    body = shopify_customer(7, PHONE, now, consent=sms_consent("subscribed", now))

    first = post("customers/create", body, webhook_id="b54557e4-8a5f-4f7d-ad8c-6c2b1b0a0e01")
    again = post("customers/create", body, webhook_id="b54557e4-8a5f-4f7d-ad8c-6c2b1b0a0e01")

    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert WebhookDelivery.objects.count() == 1
    assert ConsentRecord.objects.count() == 1


def test_the_same_order_in_two_deliveries_is_one_event(post, store, now):
    customer = shopify_customer(8, PHONE, now)
    order = shopify_order(820982911946154508, customer, now, [shopify_line(632910392, "IPod Nano", "199.00")])

    post("orders/create", order)
    post("orders/create", order)

    assert WebhookDelivery.objects.count() == 2
    assert Event.objects.filter(type="order_placed").count() == 1


def test_a_checkout_is_a_started_checkout_with_its_recovery_link(post, store, now):
    customer = shopify_customer(9, PHONE, now)
    checkout = shopify_checkout("123123123", customer, now, [shopify_line(632910392, "IPod Nano", "199.00")])

    post("checkouts/create", checkout)

    event = Event.objects.get(type="checkout_started")
    assert event.customer.phone == PHONE
    assert event.properties["checkout_id"] == "123123123"
    assert event.properties["checkout_url"] == checkout["abandoned_checkout_url"]
    assert event.properties["cart_id"] == "cart-123123123"
    assert event.properties["items"] == [
        {"product_id": "632910392", "price": 199.0, "quantity": 1, "name": "IPod Nano"}
    ]


def test_an_order_carries_its_items_codes_and_checkout_token(post, store, now):
    customer = shopify_customer(10, PHONE, now)
    order = shopify_order(
        820982911946154509,
        customer,
        now,
        [shopify_line(632910392, "IPod Nano", "199.00", 2)],
        checkout_token="123123123",
        codes=("SPRING10",),
    )

    post("orders/create", order)

    event = Event.objects.get(type="order_placed")
    assert event.idempotency_key == "shopify:order:820982911946154509"
    props = event.properties
    assert (props["order_id"], props["checkout_id"], props["discount_code"], props["total"]) == (
        "820982911946154509",
        "123123123",
        "SPRING10",
        398.0,
    )
    assert event.customer.order_count == 1


def test_a_fulfilment_delivered_is_the_orders_delivery(post, store, now):
    customer = shopify_customer(11, PHONE, now)
    post("orders/create", shopify_order(555, customer, now, [shopify_line(1, "Tea", "9.00")]))

    post("fulfillments/update", shopify_fulfillment(555, now, "in_transit"))
    post("fulfillments/update", shopify_fulfillment(555, now, "delivered"))

    delivered = Event.objects.get(type="order_delivered")
    assert (delivered.customer.phone, delivered.properties["order_id"]) == (PHONE, "555")


def test_inventory_levels_change_the_products_stock(post, store, now):
    product = shopify_product(
        788032119674292922,
        "Example T-Shirt",
        [shopify_variant(642667041472713922, 788032119674292922, "19.99", 0, 271878346596884015)],
        now,
    )
    post("products/update", product)

    post("inventory_levels/update", shopify_inventory_level(271878346596884015, 24826418, 5, now))

    stored = Product.objects.get(store=store, external_id="788032119674292922")
    assert (stored.name, stored.stock, str(stored.price)) == ("Example T-Shirt", 5, "19.99")
    assert stored.url == "https://juniper.example.com/products/example-t-shirt"
    change = ProductChange.objects.get(product=stored)
    assert (change.field, change.old_value, change.new_value) == ("stock", 0, 5)


def test_a_checkout_without_a_number_of_an_unknown_customer_records_nothing(post, store, now):
    customer = shopify_customer(12, None, now)
    checkout = shopify_checkout("456", customer, now, [shopify_line(1, "Tea", "9.00")])

    response = post("checkouts/create", checkout)

    assert response.status_code == 200
    assert Event.objects.count() == 0
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SKIPPED


def test_a_topic_the_app_does_not_use_is_stored_and_skipped(post, store, now):
    post("collections/update", {"id": 1, "title": "Summer"})

    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SKIPPED


def test_a_body_that_is_not_json_is_a_400(client, store):
    from customers.connections.signing import body_signature

    raw = b"<xml/>"
    response = client.post(
        "/webhooks/shopify/",
        data=raw,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Hmac-Sha256": body_signature(raw, SHOPIFY_SECRET),
            "X-Shopify-Webhook-Id": "x",
        },
    )

    assert response.status_code == 400
    assert WebhookDelivery.objects.count() == 0


def test_shopifys_not_subscribed_does_not_unsubscribe_a_customer_who_joined_here(post, store, now):
    post("customers/create", shopify_customer(13, PHONE, now, consent=sms_consent("subscribed", now)))

    post("customers/update", shopify_customer(13, PHONE, now, consent=sms_consent("not_subscribed", now)))
    assert Customer.objects.get().sms_consent == Customer.Consent.SUBSCRIBED

    post("customers/update", shopify_customer(13, PHONE, now, consent=sms_consent("unsubscribed", now)))
    assert Customer.objects.get().sms_consent == Customer.Consent.UNSUBSCRIBED


def test_a_stale_shopify_subscription_does_not_undo_a_stop_sent_here(post, store, now):
    from customers.ingest.consent import consent_change

    post(
        "customers/create",
        shopify_customer(14, PHONE, now, consent=sms_consent("subscribed", now - timedelta(days=9))),
    )
    customer = Customer.objects.get()
    consent_change(customer=customer, action="opt_out", source="keyword", occurred_at=now - timedelta(days=1))

    post(
        "customers/update",
        shopify_customer(14, PHONE, now, consent=sms_consent("subscribed", now - timedelta(days=9))),
    )
    assert Customer.objects.get().sms_consent == Customer.Consent.UNSUBSCRIBED

    post("customers/update", shopify_customer(14, PHONE, now, consent=sms_consent("subscribed", now)))
    assert Customer.objects.get().sms_consent == Customer.Consent.SUBSCRIBED
