"""What customers do through the app (taps, replies, the preference page) arrives like any event:
stored by ingestion, on the timeline, and announced to flows."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import Link
from campaigns.tests.inbound_helpers import AUTH_TOKEN, make_store, subscribed, text_in
from customers.ingest.customers import customers_upsert
from customers.models import Customer, Event
from customers.segments import rules_members
from customers.signals import events_recorded

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+14155550101"


@pytest.fixture
def store(db, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return make_store()


@pytest.fixture
def announced(django_capture_on_commit_callbacks):
    """`with announced() as seen:` collects the event types announced through `events_recorded`."""

    @contextmanager
    def listening():
        seen: list[str] = []

        def listener(sender, *, event_ids, **kwargs):
            seen.extend(Event.objects.filter(pk__in=event_ids).values_list("type", flat=True))

        events_recorded.connect(listener)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                yield seen
        finally:
            events_recorded.disconnect(listener)

    return listening


def timeline(customer: Customer) -> list[str]:
    return list(customer.events.order_by("occurred_at", "pk").values_list("type", flat=True))


def test_a_stop_reply_is_on_the_timeline_as_sms_opted_out(client, store, announced):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))

    with announced() as seen:
        text_in(client, "STOP", PHONE)

    assert timeline(customer) == ["sms_opted_out"]
    assert customer.events.get().properties == {"source": "keyword", "keyword": "STOP"}
    assert seen == ["sms_opted_out"]


def test_an_opt_out_on_the_preference_page_is_on_the_timeline(client, store, announced):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))

    with announced() as seen:
        client.post(f"/prefs/{customer.prefs_token}", {"opt_out": "on"})

    assert timeline(customer)[-1] == "sms_opted_out"
    assert "sms_opted_out" in seen


def test_an_unsubscribe_sent_through_the_api_is_on_the_timeline(store, announced):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))

    with announced() as seen:
        customers_upsert(
            store=store,
            payloads=[{"phone": PHONE, "sms_consent": {"status": "unsubscribed", "source": "crm"}}],
            now=NOW,
        )

    assert timeline(customer) == ["sms_opted_out"]
    assert seen == ["sms_opted_out"]


def test_a_preference_reply_is_announced_and_sets_the_topic(client, store, announced):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30), topics=["deals"])

    with announced() as seen:
        text_in(client, "DROPS", PHONE)

    customer.refresh_from_db()
    assert customer.topics == ["deals", "drops"]
    assert seen == ["preference_set"]


def test_the_preference_page_is_announced_like_an_api_event(client, store, announced):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30), topics=["deals"])

    with announced() as seen:
        client.post(f"/prefs/{customer.prefs_token}", {"topics": ["restocks"], "frequency": "monthly"})

    customer.refresh_from_db()
    assert (customer.topics, customer.frequency) == (["restocks"], "monthly")
    assert seen == ["preference_set"]


def test_a_tap_on_a_link_is_an_sms_clicked_event_segments_and_flows_see(client, store, announced):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))
    Link.objects.create(
        store=store, customer=customer, code="Tap0000001", target_url="https://shop.example.com/p/1"
    )
    clicked = {"type": "event", "event": "sms_clicked", "window": {"last": 1, "unit": "days"}}

    with announced() as seen:
        client.get("/l/Tap0000001")

    assert seen == ["sms_clicked"]
    customer.refresh_from_db()
    assert customer.last_sms_click_at == customer.events.get().occurred_at
    tapped_at = customer.last_sms_click_at
    assert list(rules_members(store, {"type": "group", "children": [clicked]}, now=tapped_at)) == [customer]
