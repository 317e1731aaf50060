from __future__ import annotations

from datetime import UTC, datetime

import pytest
from twilio.request_validator import HMAC_SHA256, RequestValidator

from campaigns.models import InboundMessage, Message
from campaigns.tests.inbound_helpers import (
    AUTH_TOKEN,
    inbound_params,
    make_customer,
    make_store,
    signed_post,
    text_in,
)
from customers.models import ConsentRecord

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
STATUS = "/webhooks/twilio/status"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return settings


@pytest.fixture
def message():
    store = make_store()
    customer = make_customer(store, "+14155550101")
    return Message.objects.create(
        store=store,
        customer=customer,
        to=customer.phone,
        body="Your cart is waiting",
        idempotency_key="run:1:step:1",
        status=Message.Status.SENT,
        provider_sid="SM" + "a" * 32,
        created_at=NOW,
    )


def callback(client, sid: str, status: str, **more: str):
    return signed_post(client, STATUS, {"MessageSid": sid, "MessageStatus": status, **more})


def test_it_moves_a_message_forward_to_delivered(client, message):
    response = callback(client, message.provider_sid, "delivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_it_ignores_a_late_sent_after_delivered(client, message):
    callback(client, message.provider_sid, "delivered")
    response = callback(client, message.provider_sid, "sent")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_callbacks_out_of_order_end_at_the_furthest_status(client, message):
    # A callback can overtake the commit of the provider's answer: the text is still `sending`.
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING)
    for status in ("delivered", "sending", "queued", "sent"):
        assert callback(client, message.provider_sid, status).status_code == 200

    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_a_duplicated_callback_is_harmless(client, message):
    first = callback(client, message.provider_sid, "undelivered", ErrorCode="30003")
    second = callback(client, message.provider_sid, "undelivered", ErrorCode="30003")

    assert (first.status_code, second.status_code) == (200, 200)
    message.refresh_from_db()
    assert (message.status, message.error_code) == (Message.Status.UNDELIVERED, "30003")


def test_it_stores_the_error_code_of_a_failed_message(client, message):
    callback(client, message.provider_sid, "failed", ErrorCode="30006")

    message.refresh_from_db()
    assert (message.status, message.error_code) == (Message.Status.FAILED, "30006")


def test_a_suppressed_message_is_never_revived_by_a_callback(client, message):
    Message.objects.filter(pk=message.pk).update(status=Message.Status.SUPPRESSED, reason="no_consent")
    callback(client, message.provider_sid, "delivered")

    message.refresh_from_db()
    assert message.status == Message.Status.SUPPRESSED


def test_an_unknown_sid_is_answered_200_and_ignored(client, message):
    response = callback(client, "SM" + "f" * 32, "delivered")

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_a_bad_signature_is_refused(client, message):
    response = signed_post(
        client, STATUS, {"MessageSid": message.provider_sid, "MessageStatus": "delivered"}, token="wrong"
    )

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_a_missing_signature_is_refused(client, message):
    response = client.post(STATUS, {"MessageSid": message.provider_sid, "MessageStatus": "delivered"})

    assert response.status_code == 403


def test_a_tampered_body_is_refused(client, message):
    params = {"MessageSid": message.provider_sid, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://testserver{STATUS}", params)
    response = client.post(STATUS, {**params, "MessageStatus": "failed"}, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 403


def test_without_an_auth_token_every_webhook_is_refused(client, message, twilio_settings):
    twilio_settings.TWILIO_AUTH_TOKEN = ""

    response = callback(client, message.provider_sid, "delivered")

    assert response.status_code == 403


def test_only_post_is_accepted(client):
    assert client.get(STATUS).status_code == 405


def test_behind_a_proxy_the_public_url_is_what_is_validated(client, message, twilio_settings):
    # TLS ends at the proxy, which forwards plain HTTP to an internal host: Twilio signed the public URL.
    twilio_settings.PUBLIC_BASE_URL = "https://sms.example.com"
    params = {"MessageSid": message.provider_sid, "MessageStatus": "delivered"}

    signed_for_internal_url = signed_post(client, STATUS, params)
    signed_for_public_url = signed_post(
        client, STATUS, params, signed_url="https://sms.example.com/webhooks/twilio/status"
    )

    assert signed_for_internal_url.status_code == 403
    assert signed_for_public_url.status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_behind_a_proxy_the_query_string_is_part_of_the_signed_url(client, message, twilio_settings):
    twilio_settings.PUBLIC_BASE_URL = "https://sms.example.com"
    params = {"MessageSid": message.provider_sid, "MessageStatus": "delivered"}
    path = f"{STATUS}?store=demo"

    response = signed_post(client, path, params, signed_url=f"https://sms.example.com{path}")

    assert response.status_code == 200


def test_it_accepts_an_hmac_sha256_signature(client, message):
    params = {"MessageSid": message.provider_sid, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        f"http://testserver{STATUS}", params, HMAC_SHA256
    )
    response = client.post(
        STATUS,
        params,
        HTTP_X_TWILIO_SIGNATURE=signature,
        HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS=f"algorithm={HMAC_SHA256}",
    )

    assert response.status_code == 200


def test_an_inbound_text_with_a_bad_signature_is_refused_and_not_stored(client):
    make_store()
    response = signed_post(
        client, "/webhooks/twilio/inbound", inbound_params("STOP", "+14155550101"), token="x"
    )

    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_an_inbound_text_to_an_unknown_number_gets_empty_twiml_and_is_logged(client):
    make_store()
    response = text_in(
        client, "hello?", "+14155550101", to="+18005550199", MessagingServiceSid="MG" + "9" * 32
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert "<Message>" not in response.content.decode()
    logged = InboundMessage.objects.get()
    assert (logged.store, logged.outcome) == (None, InboundMessage.Outcome.UNKNOWN_STORE)


def test_the_store_is_found_by_its_messaging_service(client):
    store = make_store(from_number="")
    response = text_in(
        client, "HELP", "+14155550101", to="+18005550199", MessagingServiceSid=store.messaging_service_sid
    )

    assert "Trailhead Supply outdoor gear." in response.content.decode()
    assert InboundMessage.objects.get().store == store


def test_an_inbound_text_twilio_delivers_twice_is_handled_once(client):
    make_store()
    params = inbound_params("STOP", "+14155550101")

    first = signed_post(client, "/webhooks/twilio/inbound", params)
    second = signed_post(client, "/webhooks/twilio/inbound", params)

    assert first.content == second.content
    assert InboundMessage.objects.count() == 1
    assert ConsentRecord.objects.count() == 1
