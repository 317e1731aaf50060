from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.flows.event_triggers import events_check
from campaigns.flows.recipes import recipe_install
from campaigns.models import FlowRun, Link, Message
from campaigns.tests.flowkit import T0, make_customer, make_store, record, texts
from campaigns.tick import tick
from customers.signals import events_recorded

pytestmark = pytest.mark.django_db
CART_URL = "https://shop.example.com/cart/c1"


@pytest.fixture
def store():
    return make_store()


@pytest.fixture
def flow(store):
    return recipe_install(store=store, name="cart_recovery", live=True)


def cart(customer, at=T0, cart_id="c1"):
    event = record(
        customer, "cart_updated", at, cart_id=cart_id, cart_url=f"https://shop.example.com/cart/{cart_id}"
    )
    events_check(store_id=customer.store_id, event_ids=[event.id], now=at)
    return event


def order(customer, at, cart_id="c1"):
    event = record(customer, "order_placed", at, order_id=f"o-{cart_id}", cart_id=cart_id, total="40.00")
    events_check(store_id=customer.store_id, event_ids=[event.id], now=at)
    return event


def ticks(*offsets):
    for offset in offsets:
        tick(now=T0 + offset)


def links_to(body: str, url: str) -> bool:
    if url in body:
        return True
    return any(link.target_url.startswith(url) for link in Link.objects.all() if link.code in body)


def test_a_second_carts_order_does_not_exit_the_first_run(store, flow):
    ana = make_customer(store)
    cart(ana, cart_id="c1")
    cart(ana, T0 + timedelta(minutes=10), cart_id="c2")
    order(ana, T0 + timedelta(minutes=30), cart_id="c2")

    ticks(timedelta(minutes=60), timedelta(hours=5))

    first, second = FlowRun.objects.filter(flow=flow).order_by("entered_at")
    assert (first.cart_id, first.state) == ("c1", FlowRun.State.ACTIVE)
    assert (second.cart_id, second.state) == ("c2", FlowRun.State.EXITED)
    assert len(texts(flow)) == 2
    assert all(links_to(t, CART_URL) for t in texts(flow))


def test_the_same_cart_updated_again_does_not_start_a_second_run(store, flow):
    ana = make_customer(store)
    cart(ana)
    cart(ana, T0 + timedelta(minutes=20))

    assert FlowRun.objects.filter(flow=flow).count() == 1


def test_ingestions_signal_starts_the_run_after_commit(
    store, flow, django_capture_on_commit_callbacks, frozen_now
):
    # The queued task reads the clock itself, so this event happens now.
    now = frozen_now
    ana = make_customer(store)
    event = record(ana, "cart_updated", now, cart_id="c9", cart_url="https://shop.example.com/cart/c9")

    with django_capture_on_commit_callbacks(execute=True):
        events_recorded.send(sender=None, store=store, event_ids=[event.id])

    run = FlowRun.objects.get(flow=flow)
    assert run.next_due_at == now + timedelta(minutes=60)
    assert run.context["cart_link"] == "https://shop.example.com/cart/c9"


def test_a_draft_flow_enrols_no_one(store):
    draft = recipe_install(store=store, name="cart_recovery")
    cart(make_customer(store))

    assert not FlowRun.objects.filter(flow=draft).exists()


def test_a_batch_costs_the_same_queries_for_five_carts_or_fifty(store, flow):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(n: int, offset: int) -> int:
        events = [
            record(
                make_customer(store),
                "cart_updated",
                T0,
                cart_id=f"{offset}-{i}",
                cart_url="https://shop.example.com/c",
            )
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as captured:
            events_check(store_id=store.id, event_ids=[e.id for e in events], now=T0)
        return len(captured)

    assert queries_for(5, 0) == queries_for(50, 1)
    assert FlowRun.objects.filter(flow=flow).count() == 55


def test_a_cart_left_at_nine_pm_is_texted_at_eight_the_next_morning(store, flow):
    evening = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 21:00 in New York; step 1 due at 22:00
    morning = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)  # 08:00 in New York
    ana = make_customer(store)
    cart(ana, at=evening)

    tick(now=evening + timedelta(hours=1, minutes=1))
    [text] = Message.objects.filter(customer=ana)
    assert (text.status, text.send_after) == (Message.Status.HELD, morning)

    assert tick(now=morning - timedelta(minutes=1)).messages_sent == 0
    assert tick(now=morning).messages_sent == 1
    text.refresh_from_db()
    assert (text.status, text.sent_at) == (Message.Status.SENT, morning)
