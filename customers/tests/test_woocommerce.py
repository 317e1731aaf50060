"""WooCommerce: `connect_woocommerce` against a WooCommerce-speaking server (keys checked, webhooks
created with their secret, backfill), webhooks at /webhooks/woocommerce/<slug>/ verified by
X-WC-Webhook-Signature, and single-use coupons created in one batch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.connections.discounts import CodeSpec, codes_create
from customers.connections.models import Backfill, ShopConnection, WebhookDelivery
from customers.connections.process import WOO_TOPICS
from customers.models import Customer, Event, Product, ProductChange
from customers.tests.shop_servers import WOO_KEY
from customers.tests.shop_servers import WOO_SECRET as WOO_API_SECRET
from customers.tests.stores import store_make
from harness.shop_payloads import WOO_SECRET, woo_customer, woo_order, woo_post, woo_product

pytestmark = pytest.mark.django_db
PHONE = "+12125550177"


@pytest.fixture
def server(woo_server):
    return woo_server


@pytest.fixture
def store():
    return store_make("woo")


@pytest.fixture
def run(inline):
    return inline


@pytest.fixture
def hooked(store):
    ShopConnection.objects.create(
        store=store,
        platform=ShopConnection.Platform.WOOCOMMERCE,
        shop_domain="shop.example.com",
        api_base="https://shop.example.com",
        webhook_secret=WOO_SECRET,
        webhooks_only=True,
        connected_at=timezone.now(),
    )
    return store


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0) - timedelta(minutes=1)


def connect(server, *extra):
    call_command(
        "connect_woocommerce",
        "--store",
        "woo",
        "--url",
        server.url,
        "--key",
        WOO_KEY,
        "--secret",
        WOO_API_SECRET,
        *extra,
    )


def test_it_checks_the_keys_creates_the_webhooks_and_backfills(server, store, run, now):
    server.lists["customers"] = [woo_customer(25, PHONE, now)]
    server.lists["products"] = [woo_product(93, "Woo Single", "3.00", now, stock=4)]
    server.lists["orders"] = [
        woo_order(727, PHONE, now - timedelta(days=3), customer_id=25),
        woo_order(728, PHONE, now - timedelta(days=400), customer_id=25),
    ]

    run(connect, server)

    connection = ShopConnection.objects.get(store=store)
    assert {(w["topic"], w["delivery_url"], w["secret"]) for w in server.webhooks} == {
        (topic, "https://sms.example.com/webhooks/woocommerce/woo/", connection.webhook_secret)
        for topic in WOO_TOPICS
    }
    backfill = Backfill.objects.get()
    assert (backfill.status, backfill.customers, backfill.products, backfill.orders) == (
        Backfill.Status.DONE,
        2,
        1,
        1,
    )
    customer = Customer.objects.get(store=store)
    assert (customer.external_id, customer.phone, customer.sms_consent) == (
        "25",
        PHONE,
        Customer.Consent.NONE,
    )
    assert Event.objects.get(type="order_placed").idempotency_key == "woocommerce:order:727"


def test_refused_keys_store_nothing(server, store):
    with pytest.raises(CommandError, match="--key|refused"):
        call_command(
            "connect_woocommerce",
            "--store",
            "woo",
            "--url",
            server.url,
            "--key",
            "ck_wrong",
            "--secret",
            "cs_wrong",
        )

    assert not ShopConnection.objects.exists()


def test_a_signed_order_becomes_an_order_and_a_completed_one_its_delivery(client, hooked, run, now):
    response = run(woo_post, client, "woo", "order.created", woo_order(727, PHONE, now, coupons=("SPRING",)))
    run(woo_post, client, "woo", "order.updated", woo_order(727, PHONE, now, status="completed"))

    assert response.status_code == 200
    placed = Event.objects.get(type="order_placed")
    assert (placed.properties["discount_code"], placed.properties["total"]) == ("SPRING", 6.0)
    assert placed.properties["items"] == [
        {"product_id": "93", "price": 3.0, "quantity": 2, "name": "Woo Single #1"}
    ]
    assert Event.objects.filter(type="order_delivered").count() == 1
    assert Customer.objects.get().phone == PHONE


def test_a_pending_order_is_not_placed_yet(client, hooked, run, now):
    run(woo_post, client, "woo", "order.created", woo_order(729, PHONE, now, status="pending"))

    assert not Event.objects.exists()
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SKIPPED


def test_a_product_back_in_stock_is_a_stock_change(client, hooked, run, now):
    run(woo_post, client, "woo", "product.updated", woo_product(93, "Woo Single", "3.00", now, stock=0))
    run(woo_post, client, "woo", "product.updated", woo_product(93, "Woo Single", "3.00", now, stock=3))

    product = Product.objects.get()
    assert (product.stock, product.category.name) == (3, "Clothing")
    assert ProductChange.objects.get().new_value == 3


def test_a_bad_signature_is_401_and_the_ping_is_200(client, hooked, run, now):
    forged = woo_post(client, "woo", "order.created", woo_order(1, PHONE, now), secret="wrong")
    other_store = woo_post(client, "nope", "order.created", woo_order(1, PHONE, now))
    ping = client.post(
        "/webhooks/woocommerce/woo/", data="webhook_id=31", content_type="application/x-www-form-urlencoded"
    )

    assert (forged.status_code, other_store.status_code, ping.status_code) == (401, 401, 200)
    assert not WebhookDelivery.objects.exists()


def test_a_redelivered_delivery_id_is_stored_once(client, hooked, run, now):
    body = woo_order(730, PHONE, now)
    run(woo_post, client, "woo", "order.created", body, delivery_id="d41d8cd98f00b204e9800998ecf8427e")
    run(woo_post, client, "woo", "order.created", body, delivery_id="d41d8cd98f00b204e9800998ecf8427e")

    assert WebhookDelivery.objects.count() == 1


def test_coupons_are_created_single_use_in_one_batch(server, store, run, now):
    run(connect, server)
    server.refuse = {"CART-TAKEN"}

    issued = codes_create(
        store=store,
        spec=CodeSpec(
            title="t",
            value_type="percentage",
            value=Decimal("10"),
            minimum=Decimal("50"),
            ends_at=now + timedelta(hours=2),
        ),
        codes=["CART-AAAA", "CART-TAKEN"],
        now=now,
    )

    assert issued.results["CART-AAAA"] == ""
    assert "already exists" in issued.results["CART-TAKEN"]
    coupon = server.codes["CART-AAAA"]
    assert (coupon["discount_type"], coupon["amount"], coupon["usage_limit"], coupon["minimum_amount"]) == (
        "percent",
        "10",
        1,
        "50",
    )
    assert len(server.made("POST", "coupons/batch")) == 1
