from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from campaigns.flows.backtest import flow_backtest
from campaigns.flows.event_triggers import events_check
from campaigns.flows.recipes import recipe_install
from campaigns.models import FlowRun, Message
from campaigns.tests.flowkit import T0, make_customer, make_store, record
from campaigns.tick import tick

pytestmark = pytest.mark.django_db
NOW = T0 + timedelta(days=20)


def carts(store):
    """Three carts in the last 30 days: one ordered within the hour, one never, one long ago."""
    quick, slow, sensitive = (make_customer(store) for _ in range(3))
    sensitive.discount_order_share = 0.8
    sensitive.save()
    record(quick, "cart_updated", T0, cart_id="q", cart_url="https://shop.example.com/c/q")
    record(quick, "order_placed", T0 + timedelta(minutes=30), cart_id="q", order_id="1")
    record(slow, "cart_updated", T0 + timedelta(days=1), cart_id="s", cart_url="https://shop.example.com/c/s")
    record(
        sensitive,
        "cart_updated",
        T0 + timedelta(days=2),
        cart_id="x",
        cart_url="https://shop.example.com/c/x",
    )
    record(sensitive, "cart_updated", T0 - timedelta(days=40), cart_id="old")
    return quick, slow, sensitive


def test_it_replays_the_last_thirty_days_without_writing_anything():
    store = make_store()
    flow = recipe_install(store=store, name="cart_recovery")
    carts(store)

    report = flow_backtest(flow=flow, now=NOW)

    assert report.runs == 3
    assert [s.messages for s in report.steps] == [2, 2, 0, 1]
    assert (report.steps[2].yes, report.steps[2].no) == (1, 1)
    assert report.exits["goal: order_placed"] == 1
    assert report.customers_texted == 2
    assert not FlowRun.objects.exists() and not Message.objects.exists()


def test_a_higher_priority_live_flows_text_suppresses_the_replayed_ones():
    store = make_store()
    other = recipe_install(store=store, name="checkout_abandon", live=True)
    quick, slow, sensitive = carts(store)
    started = record(
        slow, "checkout_started", T0 + timedelta(days=1, minutes=5), checkout_id="k", cart_id="s"
    )
    events_check(store_id=store.id, event_ids=[started.id], now=started.occurred_at)
    tick(now=started.occurred_at + timedelta(minutes=45))
    assert Message.objects.filter(flow_run__flow=other).count() == 1

    report = flow_backtest(flow=recipe_install(store=store, name="cart_recovery"), now=NOW)

    # checkout abandon (priority 95) texted slow 10 minutes before cart recovery's (90) step 1
    assert report.suppressed == {"overlap": 2}
    assert [(s.messages, s.sent) for s in report.steps] == [(2, 1), (2, 1), (0, 0), (1, 1)]
    assert report.customers_texted == 1
    assert report.overlap_customers == 0


def test_an_evening_text_is_counted_as_held_for_the_morning():
    store = make_store()
    flow = recipe_install(store=store, name="cart_recovery")
    ana = make_customer(store)
    evening = T0.replace(hour=1, minute=30)  # 20:30 in New York the day before; step 1 due 21:30
    record(ana, "cart_updated", evening, cart_id="e", cart_url="https://shop.example.com/c/e")

    report = flow_backtest(flow=flow, now=NOW)

    first, second = report.steps[:2]
    assert (first.messages, first.sent, first.held) == (1, 0, 1)
    assert (second.messages, second.held) == (1, 1)  # due 01:30, also held for the morning
    assert report.suppressed == {}


def test_backtest_command_prints_the_report(capsys):
    store = make_store("demo")
    recipe_install(store=store, name="cart_recovery")
    carts(store)

    call_command("backtest_flow", "cart-recovery", "--store", "demo", "--now", NOW.isoformat())

    out = capsys.readouterr().out
    assert "runs: 3, messages: 5, customers texted: 2" in out
    assert "step 1 send  reached      2  messages      2  sent 2  held 0  suppressed 0" in out
    assert "would be sent: 5, suppressed: 0" in out


def test_each_step_reads_as_a_funnel(admin_client):
    store = make_store()
    flow = recipe_install(store=store, name="cart_recovery")
    carts(store)

    report = flow_backtest(flow=flow, now=NOW)
    first = report.steps[0]
    page = admin_client.get(f"/admin/campaigns/flow/{flow.pk}/backtest/").content.decode()

    assert all(s.arrived == s.reached + s.exited + s.waiting for s in report.steps)
    assert (first.arrived, first.exited, first.reached) == (3, 1, 2)
    assert "Began the delay" in page and "Left on the goal" in page and "Reached the step" in page


@pytest.mark.django_db
def test_it_shows_example_texts_to_real_customers_with_the_outcome_in_words(admin_client):
    store = make_store()
    flow = recipe_install(store=store, name="cart_recovery")
    ana = make_customer(store, first_name="Ana")
    cart = "https://shop.example.com/cart/c1"
    record(ana, "cart_updated", NOW - timedelta(days=2), cart_id="c1", cart_url=cart)

    report = flow_backtest(flow=flow, now=NOW)

    [example] = report.steps[0].examples
    assert example["customer"].startswith("Ana")
    assert example["text"].startswith("Your cart is saved. Finish checkout: ")
    assert example["outcome"].startswith(("Sent ", "Held until ", "Not sent: "))
    with time_machine.travel(NOW, tick=False):
        page = admin_client.get(f"/admin/campaigns/flow/{flow.pk}/backtest/").content.decode()
    assert 'id="backtest-examples"' in page and "Your cart is saved." in page
