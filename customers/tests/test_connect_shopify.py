"""`manage.py connect_shopify` against a Shopify-speaking server: the token checked, the webhooks
registered through the Admin API, and the backfill paged, resumable and counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from customers.connections import shopify_client
from customers.connections.backfill import backfill_resume
from customers.connections.models import Backfill, ShopConnection
from customers.connections.process import SHOPIFY_TOPICS
from customers.models import ConsentRecord, Customer, Event, Product
from customers.tests.shop_servers import SHOPIFY_TOKEN
from customers.tests.stores import store_make
from harness.shop_payloads import (
    SHOP,
    SHOPIFY_SECRET,
    iso,
    shopify_customer,
    shopify_line,
    shopify_order,
    shopify_post,
    shopify_product,
    shopify_variant,
    sms_consent,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def server(shopify_server, monkeypatch):
    monkeypatch.setattr(shopify_client, "PAGE_SIZE", 2)  # a few rows make several pages
    return shopify_server


@pytest.fixture
def store():
    return store_make("juniper")


@pytest.fixture
def shop_history(server):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    server.lists["customers"] = [
        shopify_customer(
            100 + i, f"+1212555{i:04d}", now, consent=sms_consent("subscribed", now), first_name=n
        )
        for i, n in enumerate(["Ann", "Bea", "Cal"])
    ] + [shopify_customer(200, None, now, first_name="Nophone")]
    server.lists["products"] = [
        shopify_product(700 + i, f"Tee {i}", [shopify_variant(7000 + i, 700 + i, "20.00", i, 70000 + i)], now)
        for i in range(3)
    ]
    buyer = shopify_customer(100, "+12125550000", now, first_name="Ann")
    server.lists["orders"] = [
        shopify_order(900, buyer, now - timedelta(days=200), [shopify_line(700, "Tee 0", "20.00")]),
        shopify_order(901, buyer, now - timedelta(days=10), [shopify_line(700, "Tee 0", "20.00")]),
        shopify_order(902, buyer, now - timedelta(days=1), [shopify_line(701, "Tee 1", "20.00")]),
    ]
    server.lists["orders"].sort(key=lambda o: o["created_at"])
    return now


def connect(server, *extra, token=SHOPIFY_TOKEN):
    args = ["--store", "juniper", "--shop", SHOP, "--secret", SHOPIFY_SECRET, "--api-base", server.url]
    call_command("connect_shopify", *args, *(["--token", token] if token else []), *extra)


def test_it_checks_the_token_registers_the_webhooks_and_backfills(
    server, store, shop_history, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        connect(server)

    assert server.made("GET", "/shop.json")
    registered = {(w["topic"], w["address"]) for w in server.webhooks}
    assert registered == {(topic, "https://sms.example.com/webhooks/shopify/") for topic in SHOPIFY_TOPICS}
    connection = ShopConnection.objects.get(store=store)
    assert len(connection.webhook_ids) == len(SHOPIFY_TOPICS)
    backfill = Backfill.objects.get()
    assert (backfill.status, backfill.phase, backfill.customers, backfill.products, backfill.orders) == (
        Backfill.Status.DONE,
        Backfill.Phase.FINISHED,
        4,
        3,
        2,
    )
    assert backfill.pages == 2 + 2 + 1  # customers and products two pages each, one page of orders
    subscribed = Customer.objects.filter(store=store, sms_consent=Customer.Consent.SUBSCRIBED)
    assert sorted(subscribed.values_list("first_name", flat=True)) == ["Ann", "Bea", "Cal"]
    assert ConsentRecord.objects.filter(source="shopify").count() == 3
    assert Product.objects.filter(store=store).count() == 3
    orders = Event.objects.filter(store=store, type="order_placed")
    assert sorted(orders.values_list("idempotency_key", flat=True)) == [
        "shopify:order:901",
        "shopify:order:902",
    ]
    [orders_call] = [r for r in server.made("GET", "/orders.json") if "created_at_min" in r.query]
    assert orders_call.query["created_at_min"][:10] == iso(backfill.orders_since)[:10]


def test_connecting_twice_keeps_one_subscription_per_topic(server, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        connect(server)
        connect(server)

    assert len(server.webhooks) == len(SHOPIFY_TOPICS)
    assert ShopConnection.objects.count() == 1


def test_a_backfill_the_shop_stopped_resumes_from_its_cursor(
    server, store, shop_history, django_capture_on_commit_callbacks
):
    server.lists["customers"] += [
        shopify_customer(300 + i, f"+1212555{50 + i:04d}", shop_history) for i in range(2)
    ]
    pages_before_outage = []

    def fail_after_first_page(request):
        pages_before_outage.append(request.path)
        return len([p for p in pages_before_outage if p.endswith("customers.json")]) > 1

    original = server.answer
    server.answer = lambda r: (
        (503, {"errors": "Service Unavailable"}, {})
        if (r.path.endswith("customers.json") and fail_after_first_page(r))
        else original(r)
    )
    with django_capture_on_commit_callbacks(execute=True):
        connect(server)

    backfill = Backfill.objects.get()
    assert (backfill.status, backfill.phase, backfill.customers) == (Backfill.Status.FAILED, "customers", 2)
    assert "page_info=2" in backfill.cursor and "503" in backfill.error

    server.answer = original
    with django_capture_on_commit_callbacks(execute=True):
        backfill_resume(backfill=backfill, now=timezone.now())

    backfill.refresh_from_db()
    assert (backfill.status, backfill.customers) == (Backfill.Status.DONE, 6)
    assert Customer.objects.filter(store=store).count() == 5  # the one without a number is not kept


def test_a_refused_token_stores_nothing_and_names_the_token(server, store):
    with pytest.raises(CommandError, match="--token"):
        connect(server, token="shpat_wrong")

    assert ShopConnection.objects.count() == 0
    assert server.webhooks == []


def test_webhooks_only_calls_no_api_and_takes_signed_webhooks(
    server, store, client, django_capture_on_commit_callbacks
):
    call_command(
        "connect_shopify", "--store", "juniper", "--shop", SHOP, "--secret", SHOPIFY_SECRET, "--webhooks-only"
    )

    assert server.requests == []
    connection = ShopConnection.objects.get()
    assert (connection.webhooks_only, connection.access_token) == (True, "")
    assert not Backfill.objects.exists()
    now = timezone.now().replace(microsecond=0)
    with django_capture_on_commit_callbacks(execute=True):
        response = shopify_post(
            client,
            "customers/create",
            shopify_customer(1, "+12125550199", now, consent=sms_consent("subscribed", now)),
        )
    assert response.status_code == 200
    assert Customer.objects.get().sms_consent == Customer.Consent.SUBSCRIBED


def test_a_shop_connected_to_another_store_is_refused(server, store):
    other = store_make("other")
    ShopConnection.objects.create(
        store=other, platform="shopify", shop_domain=SHOP, webhook_secret="k", connected_at=timezone.now()
    )

    with pytest.raises(CommandError, match="already connected"):
        connect(server)

    assert server.requests == []


def test_a_shop_address_that_is_not_myshopify_is_refused(server, store):
    with pytest.raises(CommandError, match="--shop"):
        call_command(
            "connect_shopify",
            "--store",
            "juniper",
            "--shop",
            "juniper.example.com",
            "--secret",
            "k",
            "--webhooks-only",
        )
