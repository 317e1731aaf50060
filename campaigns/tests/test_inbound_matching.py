"""A reply reaches the store that texted it, whichever sender that store uses; a STOP that no
single store can be told from still stops every later marketing text to the number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.models import InboundMessage
from campaigns.tests.conftest import AUTH_TOKEN
from campaigns.tests.inbound_helpers import inbound_params, make_store, signed_post, subscribed, summer_drop
from campaigns.tick import SENDING, tick
from customers.demo import demo_store_create
from customers.models import ConsentRecord, Customer
from customers.senders import store_sender

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 11:00 in New York
INBOUND = "/webhooks/twilio/inbound"
DEFAULT_SERVICE = "MG" + "d" * 32
DEFAULT_NUMBER = "+18445550199"
UNLISTED = "+18005550123"
ANA, BEN = "+12125550100", "+12125550101"


@pytest.fixture
def default_sender(settings, twilio_backend):
    settings.TWILIO_MESSAGING_SERVICE_SID = DEFAULT_SERVICE
    settings.TWILIO_FROM_NUMBER = DEFAULT_NUMBER
    return twilio_backend


@pytest.fixture
def demo(db):
    """The store `bootstrap` makes, without its number: it texts through the default sender."""
    store = demo_store_create()
    store.from_number = ""
    store.save(update_fields=["from_number"])
    return store


@pytest.fixture
def other(db):
    return make_store("other", from_number="+18445550100", messaging_service_sid="")


def reply_to(client, body: str, from_: str, **params: str) -> str:
    response = signed_post(
        client,
        INBOUND,
        inbound_params(body, from_, **params),
        signed_url=f"https://sms.example.com{INBOUND}",
        token=AUTH_TOKEN,
    )
    assert response.status_code == 200
    return response.content.decode()


def broadcast_and_send(*stores, at: datetime) -> None:
    for store in stores:
        summer_drop(store, at=at)
    tick(now=at)
    tick(now=at, stages=SENDING)


def test_a_store_sends_from_the_default_sender_and_a_reply_to_it_is_its_own(default_sender, demo):
    assert store_sender(demo) == DEFAULT_SERVICE
    subscribed(demo, ANA, NOW - timedelta(days=30))

    broadcast_and_send(demo, at=NOW)

    [sent] = default_sender.sent_to(ANA)
    assert sent["MessagingServiceSid"] == DEFAULT_SERVICE


def test_a_stop_to_the_default_messaging_service_stops_every_later_text(client, default_sender, demo):
    ana = subscribed(demo, ANA, NOW - timedelta(days=30))
    subscribed(demo, BEN, NOW - timedelta(days=30))

    reply = reply_to(client, "STOP", ANA, To=DEFAULT_NUMBER, MessagingServiceSid=DEFAULT_SERVICE)

    assert "Juniper Market: You're unsubscribed" in reply
    ana.refresh_from_db()
    assert ana.sms_consent == Customer.Consent.UNSUBSCRIBED
    assert InboundMessage.objects.get().store == demo
    broadcast_and_send(demo, at=NOW + timedelta(hours=1))
    assert default_sender.sent_to(ANA) == []
    assert len(default_sender.sent_to(BEN)) == 1


def test_a_reply_to_the_default_number_alone_is_matched_too(client, default_sender, demo):
    subscribed(demo, ANA, NOW - timedelta(days=30))

    reply = reply_to(client, "HELP", ANA, To=DEFAULT_NUMBER)

    assert "<Message>Juniper Market: help at shop.example.com/help" in reply


def test_a_stop_to_a_number_no_store_lists_opts_out_of_every_store(client, default_sender, demo, other):
    in_demo = subscribed(demo, ANA, NOW - timedelta(days=30))
    in_other = subscribed(other, ANA, NOW - timedelta(days=30))
    subscribed(other, BEN, NOW - timedelta(days=30))

    reply = reply_to(client, "Stop", ANA, To=UNLISTED)

    assert "You're unsubscribed and will get no more texts from this number." in reply
    for customer in (in_demo, in_other):
        customer.refresh_from_db()
        assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
        record = customer.consent_records.get()
        assert (record.action, record.keyword) == (ConsentRecord.Action.OPT_OUT, "STOP")
        assert f"to {UNLISTED}, which no single store could be told from" in record.wording
        assert list(customer.events.values_list("type", flat=True)) == ["sms_opted_out"]
    logged = InboundMessage.objects.get()
    assert (logged.store, logged.outcome, logged.body) == (None, InboundMessage.Outcome.OPTED_OUT, "Stop")

    broadcast_and_send(demo, other, at=NOW + timedelta(hours=1))
    assert default_sender.sent_to(ANA) == []
    assert len(default_sender.sent_to(BEN)) == 1


def test_stores_sharing_the_default_sender_are_told_apart_by_their_customers(client, default_sender, demo):
    second = make_store("second", brand_name="Second Shop", from_number="", messaging_service_sid="")
    subscribed(second, ANA, NOW - timedelta(days=30))

    reply = reply_to(client, "STOP", ANA, MessagingServiceSid=DEFAULT_SERVICE)

    assert "Second Shop: You're unsubscribed" in reply
    assert InboundMessage.objects.get().store == second
    assert demo.customers.count() == 0


def test_a_stop_to_a_sender_several_stores_share_opts_out_of_each(client, default_sender, demo):
    second = make_store("second", brand_name="Second Shop", from_number="", messaging_service_sid="")
    customers = [subscribed(store, ANA, NOW - timedelta(days=30)) for store in (demo, second)]

    reply = reply_to(client, "STOP", ANA, MessagingServiceSid=DEFAULT_SERVICE)

    assert "You're unsubscribed and will get no more texts from this number." in reply
    assert {c.store_id for c in Customer.objects.filter(phone=ANA, sms_consent="unsubscribed")} == {
        c.store_id for c in customers
    }
    broadcast_and_send(demo, second, at=NOW + timedelta(hours=1))
    assert default_sender.sent_to(ANA) == []


def test_help_to_an_unlisted_number_gets_the_default_help_text(client, default_sender, demo):
    reply = reply_to(client, "HELP", ANA, To=UNLISTED)

    assert "Questions about your order? We're here to help. Msg &amp; data rates may apply." in reply
    assert (InboundMessage.objects.get().store, InboundMessage.objects.get().outcome) == (
        None,
        InboundMessage.Outcome.HELP,
    )


def test_any_other_text_to_an_unlisted_number_waits_in_the_inbox(client, default_sender, demo):
    reply = reply_to(client, "Is my order shipped?", ANA, To=UNLISTED)

    assert "<Message>" not in reply
    logged = InboundMessage.objects.get()
    assert (logged.store, logged.outcome, logged.handled, logged.body) == (
        None,
        InboundMessage.Outcome.UNKNOWN_STORE,
        False,
        "Is my order shipped?",
    )
    assert not Customer.objects.exists()


def test_a_stores_own_number_wins_over_the_default_sender(client, default_sender, demo, other):
    subscribed(other, ANA, NOW - timedelta(days=30))

    reply = reply_to(client, "HELP", ANA, To=other.from_number, MessagingServiceSid=DEFAULT_SERVICE)

    assert "<Message>Trailhead Supply outdoor gear." in reply
    assert InboundMessage.objects.get().store == other
