from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.flows.date_triggers import replenishment_windows
from campaigns.flows.event_triggers import events_check
from campaigns.flows.product_triggers import product_changes_check
from campaigns.flows.recipes import recipe_install
from campaigns.models import Flow, FlowRun, FlowStep, FlowStepVisit, Link
from campaigns.tests.flowkit import T0, change, make_customer, make_product, make_store, record, texts
from campaigns.tick import tick
from customers.models import Segment, Store

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return make_store()


def check(*events, now=None):
    return events_check(store_id=events[0].store_id, event_ids=[e.id for e in events], now=now or T0)


def runs(flow):
    return list(FlowRun.objects.filter(flow=flow).order_by("customer_id", "entered_at"))


def test_back_in_stock_texts_everyone_who_asked_in_the_window(store):
    flow = recipe_install(store=store, name="back_in_stock", live=True)
    boots = make_product(store, "boots", stock=0, name="Trail boots")
    asked = [make_customer(store) for _ in range(3)]
    for customer in asked:
        record(customer, "back_in_stock_requested", T0 - timedelta(days=2), product=boots, product_id="boots")
    long_ago = make_customer(store)
    record(long_ago, "back_in_stock_requested", T0 - timedelta(days=45), product=boots, product_id="boots")
    only_viewed = make_customer(store)
    record(only_viewed, "product_viewed", T0 - timedelta(days=1), product=boots, product_id="boots")

    restock = change(boots, "stock", 0, 12, T0)
    product_changes_check(store_id=store.id, change_ids=[restock.id], now=T0)
    tick(now=T0 + timedelta(minutes=1))

    assert {r.customer_id for r in runs(flow)} == {c.id for c in asked}
    assert texts(flow)[0].startswith("It's back ✅ Trail boots is in stock again. Grab it now: ")


def test_back_in_stock_can_include_viewers_and_ignores_stock_that_was_already_there(store):
    flow = recipe_install(store=store, name="back_in_stock", live=True)
    Flow.objects.filter(id=flow.id).update(include_viewers=True)
    boots = make_product(store, "boots", stock=3)
    viewer = make_customer(store)
    record(viewer, "product_viewed", T0 - timedelta(days=1), product=boots)

    more = change(boots, "stock", 3, 10, T0)
    product_changes_check(store_id=store.id, change_ids=[more.id], now=T0)
    assert runs(flow) == []

    restock = change(boots, "stock", 0, 5, T0 + timedelta(hours=1))
    product_changes_check(store_id=store.id, change_ids=[restock.id], now=T0 + timedelta(hours=1))
    assert [r.customer_id for r in runs(flow)] == [viewer.id]


def test_price_drop_fires_only_at_the_threshold(store):
    flow = recipe_install(store=store, name="price_drop", live=True)
    lamp = make_product(store, "lamp", price=Decimal("100"))
    viewer, carter = make_customer(store), make_customer(store)
    record(viewer, "product_viewed", T0 - timedelta(days=3), product=lamp, product_id="lamp")
    record(
        carter,
        "cart_updated",
        T0 - timedelta(days=1),
        cart_id="c1",
        items=[{"product_id": "lamp", "name": "Lamp", "price": 100, "quantity": 1}],
    )

    small = change(lamp, "price", 100, 95, T0)
    product_changes_check(store_id=store.id, change_ids=[small.id], now=T0)
    assert runs(flow) == []

    big = change(lamp, "price", 95, 85.5, T0 + timedelta(hours=1))
    product_changes_check(store_id=store.id, change_ids=[big.id], now=T0 + timedelta(hours=1))
    assert {r.customer_id for r in runs(flow)} == {viewer.id, carter.id}
    assert runs(flow)[0].context["new_price"] == "$85.50"


def test_replenishment_window_is_learned_from_repeat_purchases(store):
    flow = recipe_install(store=store, name="replenishment", live=True)
    beans = make_product(store, "beans", consumable=True, reorder_window_days=40)
    buyers = [make_customer(store) for _ in range(3)]
    start = T0 - timedelta(days=200)
    windows, _ = replenishment_windows(store_id=store.id, products=[beans], default_days=30, now=T0)
    assert windows[beans.id] == (40, "product")

    for i, buyer in enumerate(buyers):
        for n in range(3):
            record(
                buyer,
                "order_placed",
                start + timedelta(days=20 * n + i),
                order_id=f"{i}-{n}",
                items=[{"product_id": "beans", "quantity": 1}],
            )

    windows, _ = replenishment_windows(store_id=store.id, products=[beans], default_days=30, now=T0)
    assert windows[beans.id] == (20, "learned")

    late_buyer = make_customer(store)
    record(late_buyer, "order_placed", T0 - timedelta(days=20, hours=1), product=beans, order_id="x")
    tick(now=T0 - timedelta(hours=2), stages=["enrol"])
    assert runs(flow) == []
    tick(now=T0, stages=["enrol"])
    assert [r.customer_id for r in runs(flow)] == [late_buyer.id]


def test_replenishment_uses_the_default_until_it_can_learn(store):
    beans = make_product(store, "beans", consumable=True)
    windows, _ = replenishment_windows(store_id=store.id, products=[beans], default_days=30, now=T0)
    assert windows[beans.id] == (30, "default")


def test_win_back_waits_for_k_times_the_customers_own_gap(store):
    flow = recipe_install(store=store, name="win_back", live=True)
    monthly = make_customer(
        store, order_count=4, first_order_at=T0 - timedelta(days=100), last_order_at=T0 - timedelta(days=10)
    )
    one_order = make_customer(store, order_count=1, first_order_at=T0, last_order_at=T0)

    tick(now=T0 + timedelta(days=49), stages=["enrol"])
    assert runs(flow) == []
    # own gap: 90 days / 3 = 30 days; k = 2, so 60 days after the last order
    tick(now=T0 + timedelta(days=50, hours=1), stages=["enrol"])
    assert [r.customer_id for r in runs(flow)] == [monthly.id]
    # one order: the 45-day default gap, 90 days
    tick(now=T0 + timedelta(days=90, hours=1), stages=["enrol"])
    assert {r.customer_id for r in runs(flow)} == {monthly.id, one_order.id}
    tick(now=T0 + timedelta(days=90, hours=2), stages=["enrol"])
    assert len(runs(flow)) == 2


def test_reward_threshold_fires_only_on_the_upward_crossing(store):
    flow = recipe_install(store=store, name="loyalty_nudge", live=True)
    ana = make_customer(store)
    steps = [("4.00", 0), ("12.00", 1), ("15.00", 1), ("3.00", 1), ("25.00", 2)]
    for i, (balance, expected) in enumerate(steps):
        check(record(ana, "reward_balance_changed", T0 + timedelta(days=40 * i), balance=balance))
        assert FlowRun.objects.filter(flow=flow).count() == expected, balance

    first = FlowRun.objects.filter(flow=flow).earliest("entered_at")
    assert first.context["reward_amount"] == "$12"
    assert first.context["redeem_link"] == "https://shop.example.com/rewards"


def test_date_property_follows_the_customers_own_timezone(store):
    flow = Flow.objects.create(
        store=store,
        name="Birthday",
        slug="birthday",
        status="live",
        trigger="date_property",
        reentry_days=300,
    )
    FlowStep.objects.create(flow=flow, position=1, kind="send", body="Happy birthday {{ first_name }}!")
    tokyo = make_customer(store, timezone="Asia/Tokyo", birthday=date(1990, 11, 3))
    la = make_customer(store, timezone="America/Los_Angeles", birthday=date(1985, 11, 3))
    anniversary = make_customer(store, attributes={"anniversary": "2020-11-02"})

    # 2026-11-02 16:00 UTC: already Nov 3 in Tokyo, still Nov 2 in Los Angeles.
    now = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    tick(now=now, stages=["enrol"])
    assert [r.customer_id for r in runs(flow)] == [tokyo.id]

    tick(now=now + timedelta(hours=16), stages=["enrol"])
    assert {r.customer_id for r in runs(flow)} == {tokyo.id, la.id}

    Flow.objects.filter(id=flow.id).update(date_property="anniversary")
    flow.refresh_from_db()
    tick(now=now, stages=["enrol"])
    assert anniversary.id in {r.customer_id for r in runs(flow)}


def test_post_purchase_starts_days_after_delivery_for_the_category(store):
    flow = recipe_install(store=store, name="post_purchase", live=True)
    kettle = make_product(store, "kettle", category="kitchen", usage_tip="Descale it monthly.")
    Flow.objects.filter(id=flow.id).update(category=kettle.category)
    ana, bo = make_customer(store), make_customer(store)
    record(ana, "order_placed", T0 - timedelta(days=2), order_id="o1", items=[{"product_id": "kettle"}])
    record(bo, "order_placed", T0 - timedelta(days=2), order_id="o2", items=[{"product_id": "other"}])

    check(record(ana, "order_delivered", T0, order_id="o1"), record(bo, "order_delivered", T0, order_id="o2"))

    [run] = runs(flow)
    assert (run.customer_id, run.entered_at) == (ana.id, T0 + timedelta(days=3))
    tick(now=T0 + timedelta(days=3, minutes=1))
    [text] = texts(flow)
    tip, short_link = text.removesuffix(" Reply STOP to opt out.").rsplit(" ", 1)
    assert tip == "Pro tip for your Product kettle: Descale it monthly."
    assert Link.objects.get(code=short_link.rsplit("/", 1)[1]).target_url == "https://shop.example.com/p/kettle"


def test_event_trigger_honours_property_filters_and_the_entry_segment(store):
    flow = Flow.objects.create(
        store=store, name="Big carts", slug="big", status="live", event_type="cart_updated"
    )
    FlowStep.objects.create(flow=flow, position=1, kind="send", body="Hi")
    flow.filters.create(property="total", op="gte", value="100")
    ana, bo = make_customer(store, city="Austin"), make_customer(store, city="Boston")

    check(
        record(ana, "cart_updated", T0, cart_id="1", total=150),
        record(bo, "cart_updated", T0, cart_id="2", total=50),
    )
    assert [r.customer_id for r in runs(flow)] == [ana.id]

    from customers.models import Segment

    flow.entry_segment = Segment.objects.create(
        store=store,
        name="Boston",
        slug="boston",
        rules={"type": "profile", "field": "city", "op": "eq", "value": "Boston"},
    )
    flow.save()
    check(
        record(ana, "cart_updated", T0, cart_id="3", total=500),
        record(bo, "cart_updated", T0, cart_id="4", total=500),
    )
    assert [r.customer_id for r in runs(flow)] == [ana.id, bo.id]


def test_reentry_is_once_per_window_per_customer(store):
    flow = recipe_install(store=store, name="loyalty_nudge", live=True)  # 30 days
    ana = make_customer(store)
    for days, balance in [(0, "20"), (1, "2"), (2, "20"), (31, "1"), (32, "30")]:
        check(record(ana, "reward_balance_changed", T0 + timedelta(days=days), balance=balance))
    assert [r.entered_at for r in runs(flow)] == [T0, T0 + timedelta(days=32)]


def test_a_late_event_is_enrolled_but_its_overdue_step_is_skipped_not_sent(store):
    flow = recipe_install(store=store, name="cart_recovery", live=True)
    ana = make_customer(store)
    late = record(
        ana, "cart_updated", T0 - timedelta(hours=3), cart_id="old", cart_url="https://shop.example.com/c"
    )

    check(late)
    tick(now=T0)

    run = FlowRun.objects.get(flow=flow)
    assert texts(flow) == []
    visit = FlowStepVisit.objects.get(run=run, step__position=1)
    assert (visit.outcome, visit.reason) == ("skipped", "late by 120 min")
    # step 2 is still ahead (5 h after the cart), and is sent on time
    assert run.state == FlowRun.State.ACTIVE
    tick(now=T0 + timedelta(hours=2))
    assert len(texts(flow)) == 1


def test_a_late_cart_whose_order_is_already_in_never_starts(store):
    flow = recipe_install(store=store, name="cart_recovery", live=True)
    ana = make_customer(store)
    check(record(ana, "order_placed", T0, order_id="o", cart_id="c"))
    check(
        record(
            ana,
            "cart_updated",
            T0 - timedelta(minutes=30),
            cart_id="c",
            cart_url="https://shop.example.com/c",
        )
    )

    assert runs(flow) == []


def test_a_product_change_signal_queues_the_back_in_stock_check(
    store, django_capture_on_commit_callbacks, frozen_now
):

    from customers.signals import products_changed

    flow = recipe_install(store=store, name="back_in_stock", live=True)
    boots = make_product(store, "boots", stock=0)
    now = frozen_now
    ana = make_customer(store)
    record(ana, "back_in_stock_requested", now - timedelta(days=1), product=boots)
    restock = change(boots, "stock", 0, 4, now)

    with django_capture_on_commit_callbacks(execute=True):
        products_changed.send(sender=None, store=store, product_changes=[restock.id])

    assert [r.customer_id for r in runs(flow)] == [ana.id]


def test_the_ticks_enrol_stage_runs_the_date_triggers_once_an_hour(store):
    from campaigns.tick import TickReport, stage_enrol

    flow = recipe_install(store=store, name="win_back", live=True)
    now = T0
    lapsed = make_customer(
        store, order_count=1, first_order_at=now - timedelta(days=91), last_order_at=now - timedelta(days=91)
    )
    report = TickReport()

    stage_enrol(now=now, report=report, in_process=True)
    stage_enrol(now=now + timedelta(minutes=1), report=report, in_process=True)

    assert report.runs_enrolled == 1
    assert [r.customer_id for r in runs(flow)] == [lapsed.id]
    assert Flow.objects.get(pk=flow.pk).dates_checked_at == now


def test_events_too_old_for_any_step_start_no_run(store):
    flow = recipe_install(store=store, name="cart_recovery", live=True)  # last step 24 h after the cart
    ana = make_customer(store)

    check(record(ana, "cart_updated", T0 - timedelta(days=3), cart_id="ancient"))

    assert runs(flow) == []


def test_a_fall_to_zero_and_a_rise_in_one_batch_is_a_crossing(store):
    flow = recipe_install(store=store, name="loyalty_nudge", live=True)
    Flow.objects.filter(id=flow.id).update(reentry_days=0)
    ana = make_customer(store)
    check(record(ana, "reward_balance_changed", T0, balance="20"))
    assert len(runs(flow)) == 1

    check(
        record(ana, "reward_balance_changed", T0 + timedelta(hours=1), balance="0"),
        record(ana, "reward_balance_changed", T0 + timedelta(hours=2), balance="15"),
    )
    assert len(runs(flow)) == 2


def test_a_cad_price_drop_says_the_price_as_the_money_filter_does(store):
    Store.objects.filter(id=store.id).update(currency="CAD")
    store.refresh_from_db()
    flow = recipe_install(store=store, name="price_drop", live=True)
    lamp = make_product(store, "lamp", price=Decimal("30"))
    viewer = make_customer(store)
    record(viewer, "product_viewed", T0 - timedelta(days=3), product=lamp, product_id="lamp")

    drop = change(lamp, "price", 30, 25, T0)
    product_changes_check(store_id=store.id, change_ids=[drop.id], now=T0)

    assert runs(flow)[0].context["new_price"] == "CA$25"
    assert runs(flow)[0].context["old_price"] == "CA$30"


def test_a_balance_given_as_a_json_number_crosses_after_earlier_balances(store):
    flow = recipe_install(store=store, name="loyalty_nudge", live=True)
    ana = make_customer(store)
    check(record(ana, "reward_balance_changed", T0, balance=4))
    check(record(ana, "reward_balance_changed", T0 + timedelta(days=1), balance=7.5))
    assert runs(flow) == []

    check(record(ana, "reward_balance_changed", T0 + timedelta(days=2), balance=12))

    assert [r.context["reward_amount"] for r in runs(flow)] == ["$12"]


def test_one_flow_whose_trigger_check_fails_does_not_stop_the_others(store, caplog):
    broken = recipe_install(store=store, name="checkout_abandon", live=True)
    cart = recipe_install(store=store, name="cart_recovery", live=True)
    # Rules saved past validation (e.g. by an older version): compiling them raises for this flow.
    segment = Segment.objects.create(store=store, name="Broken", rules={"type": "group", "match": "all"})
    Segment.objects.filter(id=segment.id).update(rules={"type": "nonsense"})
    Flow.objects.filter(id=broken.id).update(entry_segment=segment, event_type="cart_updated")
    ana = make_customer(store)

    check(record(ana, "cart_updated", T0, cart_id="c1"))

    assert runs(broken) == []
    assert [r.cart_id for r in runs(cart)] == ["c1"]
    broken.refresh_from_db()
    assert (broken.status, broken.error_at) == ("paused", T0)
    assert broken.error.startswith("InvalidRules")
    assert f"Flow {broken.id} paused after an error" in caplog.text


def test_a_tick_reads_the_flows_steps_once_for_enrolment_and_advancing(store):
    recipe_install(store=store, name="cart_recovery", live=True)
    ana, ben = make_customer(store), make_customer(store)
    check(record(ana, "cart_updated", T0, cart_id="c1", cart_url="https://shop.example.com/cart/c1"))
    # Ana's first step is due an hour later ...
    at = T0 + timedelta(hours=1, minutes=5)
    # ... when Ben's cart, stored since, is checked by the same tick
    record(
        ben,
        "cart_updated",
        at - timedelta(minutes=2),
        cart_id="c9",
        cart_url="https://shop.example.com/cart/c9",
    )

    with CaptureQueriesContext(connection) as queries:
        report = tick(now=at)

    assert report.runs_enrolled == 1 and report.runs_advanced == 1
    step_reads = [q["sql"] for q in queries if '"campaigns_flowstep"."delay_value"' in q["sql"]]
    assert len(step_reads) == 1
    assert sum('FROM "campaigns_experiment"' in q["sql"] for q in queries) == 1
