"""Fuzzed Twilio webhooks, correctly signed: any text in any field — NUL bytes, oversize numbers,
keys Twilio never sends — answers below 500; a NUL is stripped from what is stored."""

from __future__ import annotations

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from campaigns.models import InboundMessage, Message
from campaigns.tests.inbound_helpers import (
    AUTH_TOKEN,
    STORE_NUMBER,
    inbound_params,
    make_store,
    signed_post,
    subscribed,
)
from customers.models import ConsentRecord, Customer
from customers.tests.hostile import FUZZ

INBOUND, STATUS = "/webhooks/twilio/inbound", "/webhooks/twilio/status"
PHONE = "+14155550101"
# Form fields are text: whatever characters a URL-encoded body can carry (no lone surrogates).
FORM_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    st.sampled_from(["\x00", "STOP\x00", "+1415555\x000101", "9" * 400, "-1e999999", "1e100000000", "", " ",
                     "SM" + "0" * 32 + "\x00", "Ⅻ", "²", "STOP", "START", "HELP", "Y", PHONE, STORE_NUMBER]),
)  # fmt: skip
INBOUND_FIELDS = ["From", "To", "Body", "MessageSid", "MessagingServiceSid", "OptOutType", "NumMedia",
                  "SmsSid"]
STATUS_FIELDS = ["MessageSid", "MessageStatus", "SmsStatus", "ErrorCode", "To", "From"]


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"


@pytest.fixture
def shop(db, now):
    store = make_store()
    ana = subscribed(store, PHONE, now)
    Message.objects.create(store=store, customer=ana, to=PHONE, body="Hi", idempotency_key="m1",
                           status=Message.Status.SENT, provider_sid="SM" + "0" * 32, created_at=now)
    return store  # fmt: skip


def fields_of(names: list[str]) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(names) | FORM_TEXT.filter(bool), FORM_TEXT, max_size=6)


@FUZZ
@given(params=fields_of(INBOUND_FIELDS), base=st.booleans())
def test_no_signed_inbound_text_answers_5xx(client, shop, params, base):
    if base:  # a well-formed text with some fields replaced
        params = {**inbound_params("hello", PHONE), **params}
    response = signed_post(client, INBOUND, params)
    event(str(response.status_code))
    assert response.status_code < 500, response.content
    stored = InboundMessage.objects.values_list("from_number", "to_number", "body", "provider_sid")
    assert not any("\x00" in value for row in stored for value in row)


@FUZZ
@given(params=fields_of(STATUS_FIELDS))
def test_no_signed_status_callback_answers_5xx(client, shop, params):
    response = signed_post(client, STATUS, params)
    assert response.status_code < 500, response.content


@pytest.mark.parametrize("field", ["From", "To", "Body", "MessageSid", "MessagingServiceSid", "OptOutType"])
def test_a_nul_in_any_field_of_a_signed_inbound_text_is_stripped(client, shop, field):
    params = inbound_params("STOP", PHONE, OptOutType="STOP", MessagingServiceSid=shop.messaging_service_sid)
    params[field] = params[field][:3] + "\x00" + params[field][3:]

    response = signed_post(client, INBOUND, params)

    assert response.status_code == 200
    stored = InboundMessage.objects.get()
    assert (stored.from_number, stored.body, stored.keyword) == (PHONE, "STOP", "STOP")
    assert Customer.objects.get(phone=PHONE).sms_consent == Customer.Consent.UNSUBSCRIBED
    assert ConsentRecord.objects.filter(action="opt_out").count() == 1


def test_a_nul_in_a_status_callbacks_sid_is_stripped(client, shop):
    response = signed_post(client, STATUS, {"MessageSid": "SM" + "0" * 16 + "\x00" + "0" * 16,
                                            "MessageStatus": "delivered"})  # fmt: skip

    assert response.status_code == 200
    assert Message.objects.get().status == Message.Status.DELIVERED


def test_an_unsigned_webhook_with_nul_is_still_refused_as_unsigned(client, shop):
    response = client.post(INBOUND, {"From": PHONE, "Body": "STOP\x00"})

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()
