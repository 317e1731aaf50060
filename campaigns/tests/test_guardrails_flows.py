"""The policy across flows and campaigns: a run is one conversation, priority wins, the
subscriber's own frequency choice is a cap, the store's sending window is validated."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError

from campaigns.flows.event_triggers import events_check
from campaigns.flows.recipes import recipe_install
from campaigns.models import Message
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.sending.policy import Limits, Recipient, Slot, decide
from campaigns.tests.flowkit import T0, make_customer, make_store, record
from campaigns.tick import tick
from customers.models import Store

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return make_store()


def cart(customer, at=T0, cart_id="c1"):
    event = record(customer, "cart_updated", at, cart_id=cart_id, cart_url="https://shop.example.com/c")
    events_check(store_id=customer.store_id, event_ids=[event.id], now=at)


def promo(customer, key, now):
    [message] = messages_create(
        drafts=[MessageDraft(customer=customer, body="New drops are live", idempotency_key=key)], now=now
    )
    return message


def test_a_flows_texts_carry_its_priority(store):
    flow = recipe_install(store=store, name="cart_recovery", live=True)
    ana = make_customer(store)
    cart(ana)

    tick(now=T0 + timedelta(minutes=60))

    [text] = Message.objects.filter(flow_run__flow=flow)
    assert (text.priority, text.status) == (90, Message.Status.SENT)


def test_a_runs_later_steps_are_neither_held_nor_suppressed_by_its_earlier_texts(store):
    recipe_install(store=store, name="cart_recovery", live=True)
    ana = make_customer(store, discount_order_share=0.75, order_count=4)
    cart(ana)

    for offset in (timedelta(minutes=60), timedelta(hours=5), timedelta(hours=24)):
        tick(now=T0 + offset)

    texts = Message.objects.filter(customer=ana).order_by("created_at")
    assert [(t.status, t.created_at - T0) for t in texts] == [
        (Message.Status.SENT, timedelta(minutes=60)),
        (Message.Status.SENT, timedelta(hours=5)),
        (Message.Status.SENT, timedelta(hours=24)),
    ]


def test_the_higher_priority_flow_wins_and_the_other_says_what_it_yielded_to(store):
    recipe_install(store=store, name="cart_recovery", live=True)
    recipe_install(store=store, name="loyalty_nudge", live=True)
    ana = make_customer(store)
    cart(ana)
    tick(now=T0 + timedelta(minutes=60))
    cart_text = Message.objects.get(customer=ana)

    later = T0 + timedelta(hours=2)
    balance = record(ana, "reward_balance_changed", later, balance="15")
    events_check(store_id=store.id, event_ids=[balance.id], now=later)
    tick(now=later)

    nudge = Message.objects.exclude(id=cart_text.id).get(customer=ana)
    assert (nudge.status, nudge.reason) == (Message.Status.SUPPRESSED, "overlap")
    [decision] = nudge.decisions.all()
    assert decision.detail.startswith(f"yielded to message {cart_text.id}: within 12 h, priority 90 >= 50")


def test_a_run_counts_once_against_the_weekly_cap(store):
    recipe_install(store=store, name="cart_recovery", live=True)
    ana = make_customer(store, discount_order_share=0.75, order_count=4, last_sms_click_at=T0)
    cart(ana)
    for offset in (timedelta(minutes=60), timedelta(hours=5), timedelta(hours=24)):
        tick(now=T0 + offset)

    # Three texts of one conversation this week; the store allows three texts a week.
    assert promo(ana, "promo", T0 + timedelta(days=3)).status == Message.Status.QUEUED


@pytest.mark.parametrize(
    ("frequency", "after", "expected"),
    [
        ("", timedelta(days=2), ("queued", "")),
        ("weekly", timedelta(days=2), ("suppressed", "chosen_frequency")),
        ("weekly", timedelta(days=7, hours=1), ("queued", "")),
        ("monthly", timedelta(days=10), ("suppressed", "chosen_frequency")),
        ("monthly", timedelta(days=30, hours=1), ("queued", "")),
    ],
)
def test_the_subscribers_chosen_frequency_is_a_cap(store, frequency, after, expected):
    ana = make_customer(store, frequency=frequency, last_sms_click_at=T0)
    promo(ana, "first", T0)

    second = promo(ana, "second", T0 + after)

    assert (second.status, second.reason) == expected


def test_the_chosen_frequency_holds_a_text_that_is_still_valid(store):
    ana = make_customer(store, frequency="weekly", last_sms_click_at=T0)
    first = promo(ana, "first", T0)

    second = messages_create(
        drafts=[
            MessageDraft(
                customer=ana,
                body="New drops are live",
                idempotency_key="second",
                valid_until=T0 + timedelta(days=10),
            )
        ],
        now=T0 + timedelta(days=6),
    )[0]

    assert (second.status, second.reason) == (Message.Status.HELD, "chosen_frequency")
    assert second.send_after == T0 + timedelta(days=7)
    [decision] = second.decisions.all()
    assert decision.detail.endswith(f"yielded to message {first.id}")


@pytest.mark.parametrize(("start", "end"), [(time(21), time(8)), (time(9), time(9))])
def test_a_send_window_must_end_after_it_starts(start, end):
    store = Store(slug="s", brand_name="S", site_url="https://s.example.com")
    store.send_window_start, store.send_window_end = start, end

    with pytest.raises(ValidationError) as raised:
        store.full_clean()

    assert "send_window_end" in raised.value.message_dict
    assert "not quiet hours" in raised.value.message_dict["send_window_end"][0]


def test_a_states_legal_limit_counts_every_text_of_a_run():
    now = T0
    own_run = [Slot(at=now - timedelta(hours=h), priority=90, message_id=h, run_id=7) for h in (20, 21, 22)]
    subscribed = Recipient(consent="subscribed", timezone="America/New_York")

    def verdict(state_per_day):
        return decide(
            kind="marketing", priority=90, valid_until=now + timedelta(days=2), confirms_opt_out=False,
            recipient=subscribed, limits=Limits(state_per_day=state_per_day), slots=[],
            may_supersede=False, now=now, own_run=own_run,
        )  # fmt: skip

    assert verdict(None).outcome == "allow"  # the store's caps counted the run once already
    held = verdict(3)
    assert (held.outcome, held.reason, held.held_until) == ("hold", "state_cap", now + timedelta(hours=2))


def test_a_text_kept_by_the_cold_cap_records_the_cap_even_when_its_release_falls_outside_the_window(store):
    store.cold_cap_per_week = 1
    store.save()
    ana = make_customer(store, last_sms_click_at=None)  # never clicked: Cold
    first = promo(ana, "first", T0)  # 10:00 in New York
    Store.objects.filter(pk=store.pk).update(send_window_start=time(11, 0))

    second = promo(ana, "second", T0 + timedelta(days=3, hours=2))

    assert (second.status, second.reason) == (Message.Status.SUPPRESSED, "frequency_cap")
    [decision] = second.decisions.all()
    assert decision.reason == "frequency_cap"
    assert decision.detail.startswith(
        f"1 per 7 days for Cold customers; yielded to message {first.id}; "
        "then window 11:00–21:00 America/New_York; next chance 2026-11-09 16:00"
    )
