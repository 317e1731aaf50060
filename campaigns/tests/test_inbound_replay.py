"""An inbound text delivered again without a MessageSid is recognised by sender, body and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.inbound.keywords import inbound_receive
from campaigns.models import InboundMessage
from campaigns.tests.inbound_helpers import (
    AUTH_TOKEN,
    STORE_NUMBER,
    inbound_params,
    make_store,
    signed_post,
    subscribed,
)
from customers.models import ConsentRecord, Customer

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+14155550101"


@pytest.fixture
def store(db, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return make_store()


def without_sid(body: str, from_: str = PHONE, to: str = STORE_NUMBER) -> dict[str, str]:
    params = inbound_params(body, from_, to=to)
    del params["MessageSid"]
    return params


def test_a_signed_replay_without_a_message_sid_is_acted_on_once(client, store):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))
    params = without_sid("STOP")

    first = signed_post(client, "/webhooks/twilio/inbound", params)
    second = signed_post(client, "/webhooks/twilio/inbound", params)

    assert first.content == second.content
    assert "unsubscribed" in first.content.decode()
    assert InboundMessage.objects.count() == 1
    assert customer.consent_records.count() == 1


def test_a_replay_within_ten_minutes_gets_the_same_answer_and_changes_nothing(store):
    subscribed(store, PHONE, NOW - timedelta(days=30))
    first = inbound_receive(params=without_sid("DEALS"), now=NOW)

    again = inbound_receive(params=without_sid("DEALS"), now=NOW + timedelta(minutes=9, seconds=59))

    assert again == first
    assert InboundMessage.objects.count() == 1
    assert Customer.objects.get().events.count() == 1


def test_the_same_words_after_the_window_are_a_new_text(store):
    subscribed(store, PHONE, NOW - timedelta(days=30))
    inbound_receive(params=without_sid("When does my order ship?"), now=NOW)

    inbound_receive(params=without_sid("When does my order ship?"), now=NOW + timedelta(minutes=10))

    assert InboundMessage.objects.count() == 2


@pytest.mark.parametrize(
    "other",
    [
        without_sid("STOP", from_="+14155550102"),
        without_sid("STOP", to="+18445550111"),
        without_sid("HELP"),
    ],
)
def test_another_sender_recipient_or_body_is_another_text(store, other):
    inbound_receive(params=without_sid("STOP"), now=NOW)

    inbound_receive(params=other, now=NOW + timedelta(minutes=1))

    assert InboundMessage.objects.count() == 2


def test_texts_with_their_own_message_sids_are_never_merged(store):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))
    inbound_receive(params=inbound_params("STOP", PHONE), now=NOW)
    inbound_receive(params=inbound_params("START", PHONE), now=NOW + timedelta(minutes=1))

    inbound_receive(params=inbound_params("STOP", PHONE), now=NOW + timedelta(minutes=2))

    assert InboundMessage.objects.count() == 3
    assert list(customer.consent_records.order_by("pk").values_list("action", flat=True)) == [
        ConsentRecord.Action.OPT_OUT,
        ConsentRecord.Action.OPT_IN,
        ConsentRecord.Action.OPT_OUT,
    ]
