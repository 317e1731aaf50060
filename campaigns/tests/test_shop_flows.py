"""A Shopify store connected with `connect_shopify`, then signed webhooks in Shopify's shapes drive
the flows: cart recovery from a checkout (its recovery link in the texts, its order ending the run,
a unique code per offer-sensitive recipient created in the shop first, the code's order credited to
its text), and back in stock from an inventory level going from 0 to 5.

The shop's times are now (the queued work reads the clock when it runs); the ticks act later.
"""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.flows.recipes import recipe_install
from campaigns.models import Attribution, FlowRun, Link, Message, OfferCode, Reason
from campaigns.tick import tick
from customers.ingest.events import events_ingest
from customers.models import Customer, Store
from customers.tests.shop_servers import SHOPIFY_TOKEN
from harness.shop_payloads import (
    SHOP,
    SHOPIFY_SECRET,
    shopify_checkout,
    shopify_customer,
    shopify_inventory_level,
    shopify_line,
    shopify_order,
    shopify_post,
    shopify_product,
    shopify_variant,
    sms_consent,
)

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def server(shopify_server):
    return shopify_server


@pytest.fixture
def store(db):
    # Texts may go at any hour but the last minute of the day: the ticks below act at wall-clock times.
    return Store.objects.create(
        slug="juniper",
        brand_name="Juniper",
        site_url="https://juniper.example.com",
        send_window_start=time(0, 0),
        send_window_end=time(23, 59),
        send_rate_per_second=0,
    )


@pytest.fixture
def run(inline):
    return inline


@pytest.fixture
def connected(server, store, run):
    run(
        call_command,
        "connect_shopify",
        "--store",
        "juniper",
        "--shop",
        SHOP,
        "--token",
        SHOPIFY_TOKEN,
        "--secret",
        SHOPIFY_SECRET,
        "--api-base",
        server.url,
    )
    store.refresh_from_db()
    return store


def awake(at):
    """`at`, or two minutes later if it is the one minute of the day the store does not text."""
    return at + timedelta(minutes=2) if at.astimezone(NEW_YORK).time() >= time(23, 59) else at


def subscriber(post, shopify_id: int, phone: str, now, *, name: str) -> dict:
    customer = shopify_customer(
        shopify_id, phone, now, consent=sms_consent("subscribed", now - timedelta(days=40)), first_name=name
    )
    assert post("customers/create", customer).status_code == 200
    return customer


@pytest.fixture
def post(client, run):
    return lambda topic, body: run(shopify_post, client, topic, body)


def test_checkout_texts_offer_codes_exits_and_credit(server, connected, post, run):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    flow = recipe_install(store=connected, name="cart_recovery", live=True)
    assert flow.event_type == "checkout_started"
    tee = [shopify_line(632910392, "IPod Nano - 8GB", "199.00")]
    people = {
        name: subscriber(post, 7000 + i, f"+1212555{i:04d}", now, name=name)
        for i, name in enumerate(["Ann", "Bob", "Cid", "Dee"])
    }
    # Ann and Bob used a discount on their earlier orders: offer-sensitive. Cid paid full price.
    for i, name in enumerate(["Ann", "Bob", "Cid"]):
        codes = ("WELCOME10",) if name != "Cid" else ()
        post(
            "orders/create", shopify_order(500 + i, people[name], now - timedelta(days=30), tee, codes=codes)
        )
    checkouts = {
        name: shopify_checkout(f"tok-{name}", customer, now, tee) for name, customer in people.items()
    }
    for checkout in checkouts.values():
        assert post("checkouts/create", checkout).status_code == 200
    # Dee completes her checkout: the order carries its checkout token.
    post(
        "orders/create",
        shopify_order(600, people["Dee"], now + timedelta(minutes=1), tee, checkout_token="tok-Dee"),
    )

    run(tick, now=awake(now + timedelta(minutes=61)))
    run(tick, now=awake(now + timedelta(hours=5, minutes=1)))
    run(tick, now=awake(now + timedelta(hours=24, minutes=1)))

    texts = Message.objects.filter(flow_run__flow=flow)
    by_name = {
        name: list(texts.filter(customer__first_name=name).order_by("flow_step__position")) for name in people
    }
    assert by_name["Dee"] == []
    assert FlowRun.objects.get(flow=flow, customer__first_name="Dee").state == FlowRun.State.EXITED
    for name in ("Ann", "Bob", "Cid"):
        first = by_name[name][0]
        assert first.status == Message.Status.SENT
        link = Link.objects.get(message=first)
        assert link.code in first.body and link.target_url.startswith(
            checkouts[name]["abandoned_checkout_url"]
        )
    assert [len(by_name[n]) for n in ("Ann", "Bob", "Cid")] == [3, 3, 2]
    offers = {name: by_name[name][2] for name in ("Ann", "Bob")}
    codes = {name: OfferCode.objects.get(message_key=m.idempotency_key) for name, m in offers.items()}
    assert codes["Ann"].code != codes["Bob"].code
    for name, message in offers.items():
        assert message.status == Message.Status.SENT
        assert codes[name].code in message.body and codes[name].status == OfferCode.Status.ISSUED
        assert server.codes[codes[name].code]["price_rule"]["usage_limit"] == 1
    [rule] = {r["id"]: r for r in server.price_rules.values()}.values()
    assert (rule["value_type"], rule["value"]) == ("percentage", "-10.00")

    # Ann orders with her code: the order is her offer text's, whatever the attribution windows.
    post("orders/create", shopify_order(700, people["Ann"], timezone.now(), tee, codes=(codes["Ann"].code,)))

    credit = Attribution.objects.get(order__idempotency_key="shopify:order:700")
    assert (credit.message_id, credit.touch) == (offers["Ann"].pk, Attribution.Touch.CODE)
    codes["Ann"].refresh_from_db()
    assert codes["Ann"].redeemed_at is not None and codes["Ann"].revenue == credit.revenue


def test_a_code_the_shop_refuses_holds_its_text(server, connected, post, run):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    flow = recipe_install(store=connected, name="cart_recovery", live=True)
    tee = [shopify_line(632910392, "IPod Nano - 8GB", "199.00")]
    ann = subscriber(post, 8000, "+12125550900", now, name="Ann")
    post("orders/create", shopify_order(800, ann, now - timedelta(days=30), tee, codes=("WELCOME10",)))
    post("checkouts/create", shopify_checkout("tok-refused", ann, now, tee))
    server.refuse_all = True

    for offset in (timedelta(minutes=61), timedelta(hours=5, minutes=1), timedelta(hours=24, minutes=1)):
        run(tick, now=awake(now + offset))

    offer = Message.objects.filter(flow_run__flow=flow).order_by("flow_step__position").last()
    assert (offer.status, offer.reason) == (Message.Status.HELD, Reason.OFFER_CODE_REFUSED)
    code = OfferCode.objects.get(message_key=offer.idempotency_key)
    assert code.status == OfferCode.Status.REFUSED and "unique" in code.error

    run(tick, now=awake(now + timedelta(hours=27)))  # past its valid-until time: dropped, never sent
    offer.refresh_from_db()
    assert (offer.status, offer.reason) == (Message.Status.SUPPRESSED, Reason.EXPIRED)


def test_inventory_from_0_to_5_texts_who_asked_for_it(server, connected, post, run):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    flow = recipe_install(store=connected, name="back_in_stock", live=True)
    product = shopify_product(
        788032119674292922,
        "Example T-Shirt",
        [shopify_variant(642667041472713922, 788032119674292922, "19.99", 0, 271878346596884015)],
        now,
    )
    post("products/update", product)
    for i, name in enumerate(["Eve", "Fay"]):
        subscriber(post, 9000 + i, f"+1212555{30 + i:04d}", now, name=name)
    asks = [
        {
            "type": "back_in_stock_requested",
            "customer": {"external_id": str(9000 + i)},
            "properties": {"product_id": "788032119674292922"},
            "occurred_at": now.isoformat(),
        }
        for i in range(2)
    ]
    run(events_ingest, store=connected, payloads=asks, now=now)

    post("inventory_levels/update", shopify_inventory_level(271878346596884015, 24826418, 5, now))
    run(tick, now=awake(timezone.now() + timedelta(minutes=1)))

    sent = Message.objects.filter(flow_run__flow=flow, status=Message.Status.SENT)
    assert sorted(sent.values_list("customer__first_name", flat=True)) == ["Eve", "Fay"]
    assert all("Example T-Shirt" in m.body for m in sent)


def test_webhooks_only_still_texts_the_checkouts_recovery_link(store, client, run):
    run(
        call_command,
        "connect_shopify",
        "--store",
        "juniper",
        "--shop",
        SHOP,
        "--secret",
        SHOPIFY_SECRET,
        "--webhooks-only",
    )
    store.refresh_from_db()
    flow = recipe_install(store=store, name="cart_recovery", live=True)
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=2)
    post = lambda topic, body: run(shopify_post, client, topic, body)  # noqa: E731
    ann = subscriber(post, 8100, "+12125550950", now, name="Ann")
    checkout = shopify_checkout("tok-hand", ann, now, [shopify_line(1, "Tea", "9.00")])
    post("checkouts/create", checkout)

    run(tick, now=awake(now + timedelta(minutes=61)))

    [text] = Message.objects.filter(flow_run__flow=flow)
    assert text.status == Message.Status.SENT
    assert Link.objects.get(message=text).target_url.startswith(checkout["abandoned_checkout_url"])
    assert Customer.objects.get(phone="+12125550950").sms_consent == Customer.Consent.SUBSCRIBED
