"""A flow step that waits for the customer's best hour to text, within a limit: the engine, the
backtest and the builder agree, and the sending policy still has the last word."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from campaigns.flows.backtest import flow_backtest
from campaigns.flows.event_triggers import events_check
from campaigns.models import Flow, FlowRun, FlowStep, Message
from campaigns.sending.policy import best_hour_within
from campaigns.tests.flowkit import T0, make_customer, make_store, record
from campaigns.tick import tick
from conftest import SCREENSHOTS
from customers.models import CustomerPrediction, PredictionRun

# T0 is 10:00 in New York; the second text is due a day later, 10:00, unless it waits.
DUE = T0 + timedelta(days=1)


def welcome(store, within=12):
    flow = Flow.objects.create(
        store=store, name="Welcome", slug="welcome", status="live", event_type="signed_up"
    )
    FlowStep.objects.create(flow=flow, position=1, kind="send", body="Hi {{ first_name }}, welcome!")
    FlowStep.objects.create(
        flow=flow, position=2, kind="send", body="Day two.", delay_value=1, delay_unit="days",
        best_hour_within=within,
    )  # fmt: skip
    return flow


def with_best_hour(store, hour, **fields):
    customer = make_customer(store, **fields)
    if hour is not None:
        run, _ = PredictionRun.objects.get_or_create(
            store=store, defaults={"started_at": T0, "finished_at": T0}
        )
        CustomerPrediction.objects.create(
            customer=customer, store=store, run=run, best_hour=hour, scored_at=T0
        )
    return customer


def signed_up(flow, customers):
    events = [record(customer, "signed_up", T0) for customer in customers]
    events_check(store_id=flow.store_id, event_ids=[e.id for e in events], now=T0)
    tick(now=T0 + timedelta(minutes=1))


@pytest.mark.django_db
def test_the_step_waits_for_each_customers_best_hour_within_the_limit_else_goes_at_once():
    store = make_store()
    flow = welcome(store)
    evening = with_best_hour(store, 19, first_name="Eve")  # 19:00 comes 9 h after 10:00
    early = with_best_hour(store, 8, first_name="Ed")  # 08:00 comes 22 h later: past the 12 h limit
    now_ = with_best_hour(store, 10, first_name="Nia")  # already in their hour
    unscored = with_best_hour(store, None, first_name="Una")
    signed_up(flow, [evening, early, now_, unscored])

    due = dict(FlowRun.objects.values_list("customer__first_name", "next_due_at"))

    assert due == {"Eve": DUE + timedelta(hours=9), "Ed": DUE, "Nia": DUE, "Una": DUE}
    tick(now=DUE)
    assert set(Message.objects.filter(body="Day two.").values_list("customer__first_name", flat=True)) == {
        "Ed", "Nia", "Una",
    }  # fmt: skip
    tick(now=DUE + timedelta(hours=9))
    assert Message.objects.filter(body="Day two.", customer=evening).count() == 1


@pytest.mark.django_db
def test_quiet_hours_still_hold_a_text_whose_best_hour_is_late_at_night():
    store = make_store()
    flow = welcome(store)
    owl = with_best_hour(store, 23, first_name="Owl")  # 23:00 New York, 13 h after 10:00
    flow.steps.filter(position=2).update(best_hour_within=14)
    signed_up(flow, [owl])

    tick(now=DUE + timedelta(hours=13))

    text = Message.objects.get(body="Day two.")
    assert text.status == Message.Status.HELD and text.reason == "quiet_hours"


@pytest.mark.django_db
def test_the_backtest_times_the_step_as_the_engine_does():
    store = make_store()
    flow = welcome(store)
    evening = with_best_hour(store, 19, first_name="Eve")
    record(evening, "signed_up", T0)

    report = flow_backtest(flow=flow, now=DUE + timedelta(hours=8))

    assert (report.steps[1].reached, report.steps[1].waiting) == (0, 1)
    report = flow_backtest(flow=flow, now=DUE + timedelta(hours=9))
    assert report.steps[1].delivered_to == [(evening.id, DUE + timedelta(hours=9))]


def test_an_hour_summer_time_skips_lands_on_the_instant_after_it():
    # 02:00 does not exist in New York on 8 March 2026: the clocks go from 01:59 EST to 03:00 EDT
    due = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)  # 00:30 EST
    assert best_hour_within(due, "America/New_York", 2, timedelta(hours=6)) == datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )
    assert best_hour_within(due, "America/New_York", 2, timedelta(hours=1)) == due


@pytest.mark.django_db
def test_a_step_takes_a_window_or_the_best_hour_not_both_and_at_most_three_days():
    store = make_store()
    flow = welcome(store)
    step = flow.steps.get(position=2)
    step.window_start = time(10)
    with pytest.raises(ValidationError) as both:
        step.full_clean()
    step.window_start, step.best_hour_within = None, 100
    with pytest.raises(ValidationError) as long:
        step.full_clean()

    assert "not both" in both.value.message_dict["best_hour_within"][0]
    assert long.value.message_dict["best_hour_within"] == ["Give 1 to 72 hours."]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_builder_offers_the_best_hour_and_the_diagram_says_it(admin_page):
    make_store("demo")
    page, base = admin_page, admin_page.live_server_url
    page.goto(f"{base}/admin/campaigns/flow/")
    page.click("text=Install a recipe")
    page.click("button[value=cart_recovery]")

    page.fill("#id_steps-1-best_hour_within", "8")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist")
    assert "then their best hour within 8 h" in page.locator("#flow-diagram").inner_text()
    assert page.locator("#id_steps-1-best_hour_within").input_value() == "8"
    page.locator("#id_steps-1-best_hour_within").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "flow-step-best-hour.png"))
    page.fill("#id_steps-1-window_start", "10:00")
    page.click("input[name=_continue]")
    assert "a local window or the best hour, not both" in page.locator(".errorlist").first.inner_text()
