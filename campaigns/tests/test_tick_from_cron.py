"""Event and product triggers from `manage.py tick` alone (cron, no cluster), and beside the queued
task."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pydoc import locate

import pytest
import time_machine
from django.core.management import call_command
from django_q.conf import Conf
from django_q.models import OrmQ

from campaigns.flows.recipes import recipe_install, recipe_live
from campaigns.models import (
    EventCheckMark,
    Flow,
    FlowRun,
    FlowStep,
    ProductChangeCheckedAhead,
    ProductChangeCheckMark,
)
from campaigns.tests import test_recipe_delivery as delivery
from campaigns.tests.test_recipe_delivery import MUG, T0, cart_items, minutes, subscriber
from customers.api.auth import api_key_create
from customers.ingest.events import events_ingest
from customers.models import Event, ProductChange, Segment, Store

# The store `manage.py bootstrap` makes, built once for the module.
bootstrapped, store = delivery.bootstrapped, delivery.store

CART_TEXT = "Finish checkout: https://sms.example.com/l/"


@pytest.fixture
def no_cluster(monkeypatch):
    """As from cron: a queued task goes to the broker and no worker ever runs it."""
    monkeypatch.setattr(Conf, "SYNC", False)


def ingest(store, phone: str, type: str, at, **props) -> list[int]:
    payload = {
        "id": f"{type}-{phone}-{at.isoformat()}",
        "type": type,
        "occurred_at": at.isoformat(),
        "customer": {"phone": phone},
        "properties": props,
    }
    return events_ingest(store=store, payloads=[payload], now=at).event_ids


def tick_at(moment) -> None:
    call_command("tick", "--now", moment.isoformat(), stdout=StringIO())


def bodies(server, phone: str) -> list[str]:
    return [form["Body"] for form in server.sent_to(phone)]


def run_queued_tasks() -> list[object]:
    """What a worker would do with the event checks waiting in the broker; returns their results."""
    results = []
    for queued in OrmQ.objects.order_by("id"):
        task = queued.task
        if task["func"].endswith(("events_check_task", "events_recorded_task")):
            results.append(locate(task["func"])(*task["args"], **task["kwargs"]))
            queued.delete()
    return results


def test_a_cart_event_is_texted_and_its_order_stops_the_flow_from_the_tick_alone(
    store, twilio_backend, no_cluster, django_capture_on_commit_callbacks
):
    recipe_live(store=store, name="cart_recovery")
    phone = subscriber(store)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(store, phone, "cart_updated", T0, cart_id="c1", **cart_items())

    tick_at(T0 + minutes(61))

    [first] = bodies(twilio_backend, phone)
    assert CART_TEXT in first

    with django_capture_on_commit_callbacks(execute=True):
        ingest(
            store,
            phone,
            "order_placed",
            T0 + timedelta(hours=2),
            order_id="o1",
            cart_id="c1",
            total=40,
            items=MUG,
        )
    tick_at(T0 + timedelta(hours=5))
    tick_at(T0 + timedelta(hours=24))

    assert bodies(twilio_backend, phone) == [first]


def test_an_event_the_tick_has_not_reached_yet_waits_for_the_next_tick(store, twilio_backend, no_cluster):
    recipe_live(store=store, name="cart_recovery")
    phone = subscriber(store)
    ingest(store, phone, "cart_updated", T0 + minutes(60), cart_id="c1", **cart_items())

    tick_at(T0 + minutes(60))  # stored this very moment: its ingest may not have committed its neighbours
    tick_at(T0 + minutes(121))

    [first] = bodies(twilio_backend, phone)
    assert CART_TEXT in first


def test_the_queued_task_and_the_tick_check_each_event_once(
    store, twilio_backend, no_cluster, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    recipe_live(store=store, name="cart_recovery")
    task_first, tick_first = subscriber(store), subscriber(store)
    with django_capture_on_commit_callbacks(execute=True):
        ingest(store, task_first, "cart_updated", T0, cart_id="c1", **cart_items())
    assert run_queued_tasks() == [1]  # a worker reacts within seconds: one run
    with django_capture_on_commit_callbacks(execute=True):
        ingest(store, tick_first, "cart_updated", T0, cart_id="c2", **cart_items())

    tick_at(T0 + minutes(2))  # takes the second event; the first was the task's
    # The worker catches up late: it finds the event taken (its claim and the broker rows, no check).
    with django_assert_max_num_queries(8):
        assert run_queued_tasks() == [0]
    tick_at(T0 + minutes(61))
    tick_at(T0 + minutes(62))

    for phone in (task_first, tick_first):
        [first] = bodies(twilio_backend, phone)
        assert CART_TEXT in first


def test_a_flow_whose_entry_check_raises_is_paused_and_the_cart_text_still_goes(
    store, twilio_backend, no_cluster, admin_client
):
    recipe_live(store=store, name="cart_recovery")
    unreadable = Segment.objects.create(store=store, name="Stored long ago", slug="stored-long-ago")
    # stored by an older release, before its rules were checked
    Segment.objects.filter(pk=unreadable.pk).update(rules={"type": "no-such-rule"})
    broken = Flow.objects.create(
        store=store, name="Cart survey", slug="cart-survey", status="live",
        event_type="cart_updated", entry_segment=unreadable,
    )  # fmt: skip
    FlowStep.objects.create(flow=broken, position=1, kind="send", body="How was your visit?")
    phone = subscriber(store)
    ingest(store, phone, "cart_updated", T0, cart_id="c1", **cart_items())

    tick_at(T0 + minutes(2))
    tick_at(T0 + minutes(61))

    [first] = bodies(twilio_backend, phone)
    assert CART_TEXT in first
    broken.refresh_from_db()
    assert (broken.status, broken.error_at) == ("paused", T0 + minutes(2))
    home = admin_client.get("/admin/").content.decode()
    assert "Paused after an error" in home and "Flow: Cart survey" in home


def test_a_store_whose_events_cannot_be_checked_shows_why_and_recovers_once_they_can(
    store, twilio_backend, no_cluster, admin_client
):
    recipe_live(store=store, name="cart_recovery")
    phone = subscriber(store)
    [cart] = ingest(store, phone, "cart_updated", T0, cart_id="c1", **cart_items())
    Event.objects.filter(pk=cart).update(properties=["written", "by", "hand"])  # not an object

    tick_at(T0 + minutes(2))

    assert bodies(twilio_backend, phone) == []
    home = admin_client.get("/admin/").content.decode()
    assert f"Event triggers of {store} (retried every minute)" in home
    assert "AttributeError" in home

    Event.objects.filter(pk=cart).update(properties={"cart_id": "c1", **cart_items()})
    tick_at(T0 + minutes(3))
    tick_at(T0 + minutes(62))

    [first] = bodies(twilio_backend, phone)
    assert CART_TEXT in first
    assert "Event triggers of" not in admin_client.get("/admin/").content.decode()


def test_the_tick_walks_only_the_stores_with_events_above_their_mark(store, twilio_backend, no_cluster):
    recipe_live(store=store, name="cart_recovery")
    quiet = Store.objects.create(slug="quiet", brand_name="Quiet", site_url="https://quiet.example.com")
    caught_up = Store.objects.create(slug="caught-up", brand_name="Up", site_url="https://up.example.com")
    [old] = ingest(caught_up, "+12125550190", "page_viewed", T0, url="/")
    tick_at(T0 + minutes(5))
    assert EventCheckMark.objects.get(store=caught_up).checked_through == old

    phone = subscriber(store)
    ingest(store, phone, "cart_updated", T0 + minutes(10), cart_id="c1", **cart_items())
    tick_at(T0 + minutes(71))

    [first] = bodies(twilio_backend, phone)
    assert CART_TEXT in first
    assert EventCheckMark.objects.get(store=caught_up).checked_through == old
    assert not EventCheckMark.objects.filter(store=quiet).exists()  # never walked: it has no events


# --- product changes: back in stock and price drop --------------------------------------------

SERUM = "vitamin-c-serum"  # out of stock in the demo catalogue
BACK_TEXT = "It's back ✅ Vitamin C Serum is in stock again."


def restock_through_the_api(client, store, at, stock: int = 40):
    key = api_key_create(store=store, name="shop")[1]
    with time_machine.travel(at, tick=False):
        response = client.post(
            "/api/v1/products", json.dumps({"id": SERUM, "stock": stock}),
            content_type="application/json", headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
    assert response.json()["changes"] == 1


def test_a_restock_through_the_api_is_texted_from_the_tick_alone(
    store, twilio_backend, no_cluster, client, django_capture_on_commit_callbacks
):
    recipe_install(store=store, name="back_in_stock", live=True)
    asked, other = subscriber(store), subscriber(store)
    ingest(store, asked, "back_in_stock_requested", T0 - timedelta(days=2), product_id=SERUM)
    with django_capture_on_commit_callbacks(execute=True):
        restock_through_the_api(client, store, T0)  # stock 0 → 40; its task waits in the broker

    tick_at(T0 + minutes(2))

    [text] = bodies(twilio_backend, asked)
    assert text.startswith(BACK_TEXT)
    assert bodies(twilio_backend, other) == []
    newest = ProductChange.objects.filter(product__store=store).latest("pk")  # the demo's are older
    assert ProductChangeCheckMark.objects.get(store=store).checked_through == newest.pk


def test_the_queued_task_and_the_tick_check_each_product_change_once(
    store, twilio_backend, no_cluster, client, django_capture_on_commit_callbacks
):
    flow = recipe_install(store=store, name="back_in_stock", live=True)
    asked = subscriber(store)
    ingest(store, asked, "back_in_stock_requested", T0 - timedelta(days=2), product_id=SERUM)
    with django_capture_on_commit_callbacks(execute=True):
        restock_through_the_api(client, store, T0)
    [task] = [q.task for q in OrmQ.objects.all() if q.task["func"].endswith("product_changes_check_task")]
    before = FlowRun.objects.count()  # the demo's history
    runs = locate(task["func"])(*task["args"])  # a worker got there first: the demo's askers too
    assert runs == FlowRun.objects.count() - before > 0

    tick_at(T0 + minutes(2))  # finds the change taken
    assert locate(task["func"])(*task["args"]) == 0  # and a second delivery of the task does nothing
    tick_at(T0 + minutes(3))

    assert FlowRun.objects.count() - before == runs
    assert FlowRun.objects.filter(flow=flow, customer__phone=asked).count() == 1
    [text] = bodies(twilio_backend, asked)
    assert text.startswith(BACK_TEXT)
    assert not ProductChangeCheckedAhead.objects.exists()  # the mark passed it
