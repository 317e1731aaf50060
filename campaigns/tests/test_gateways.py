from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.sending.gateways import ConsoleGateway, GatewayError, gateway_from_settings
from campaigns.tests.conftest import ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID


def test_it_sends_through_the_messaging_service_with_a_status_callback(twilio_backend, shop):
    accepted = gateway_from_settings().send(to="+12125550100", body="Hi Ada", store=shop)

    request = twilio_backend.requests[-1]
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.form == {
        "To": "+12125550100",
        "Body": "Hi Ada",
        "MessagingServiceSid": SERVICE_SID,
        "StatusCallback": "https://sms.example.com/webhooks/twilio/status",
    }
    assert accepted.sid.startswith("SM") and accepted.status == "queued"


def test_it_sends_from_the_stores_number_without_a_messaging_service(twilio_backend, shop):
    shop.messaging_service_sid = ""
    shop.from_number = "+18005550199"
    gateway_from_settings().send(to="+12125550100", body="Hi", store=shop)

    form = twilio_backend.requests[-1].form
    assert form["From"] == "+18005550199"
    assert "MessagingServiceSid" not in form


def test_it_falls_back_to_the_sender_in_settings(twilio_backend, shop, settings):
    shop.messaging_service_sid = ""
    settings.TWILIO_FROM_NUMBER = "+18005550111"
    gateway_from_settings().send(to="+12125550100", body="Hi", store=shop)

    assert twilio_backend.requests[-1].form["From"] == "+18005550111"


@pytest.mark.parametrize(
    ("http_status", "code", "kind"),
    [
        (429, 20429, "retryable"),
        (500, 20500, "retryable"),
        (503, 503, "retryable"),
        (400, 21610, "opted_out"),
        (400, 21211, "undeliverable"),
        (400, 21614, "undeliverable"),
        (400, 21602, "rejected"),
    ],
)
def test_it_sorts_provider_errors(twilio_backend, shop, http_status, code, kind):
    twilio_backend.fail_next(http_status, code)

    with pytest.raises(GatewayError) as raised:
        gateway_from_settings().send(to="+12125550100", body="Hi", store=shop)

    assert raised.value.kind == kind
    assert raised.value.code == str(code)


def test_a_timeout_is_retryable_and_coded_as_one(twilio_backend, shop):
    twilio_backend.slow_next(1.0)

    with pytest.raises(GatewayError) as raised:
        gateway_from_settings().send(to="+12125550100", body="Hi", store=shop)

    assert (raised.value.kind, raised.value.code) == ("retryable", "timeout")


def test_it_finds_a_text_the_provider_already_has(twilio_backend, shop, frozen_now):
    twilio_backend.add_message(to="+12125550100", body="Your cart misses you")
    twilio_backend.add_message(to="+12125550100", body="Something else")

    found = gateway_from_settings().find(
        to="+12125550100", body="Your cart misses you", since=frozen_now - timezone.timedelta(hours=1)
    )

    assert found is not None and found.body == "Your cart misses you" and found.status == "delivered"
    assert twilio_backend.requests[-1].query["To"] == "+12125550100"


def test_it_fetches_a_status_by_sid(twilio_backend, shop):
    accepted = gateway_from_settings().send(to="+12125550100", body="Hi", store=shop)
    twilio_backend.set_status(accepted.sid, "undelivered", 30003)

    fetched = gateway_from_settings().fetch(sid=accepted.sid)

    assert (fetched.status, fetched.error_code) == ("undelivered", "30003")
    assert gateway_from_settings().fetch(sid="SM" + "0" * 32) is None


def test_the_console_gateway_logs_and_keeps_the_text(shop, caplog, settings):
    settings.SMS_BACKEND = "console"
    gateway = gateway_from_settings()
    assert isinstance(gateway, ConsoleGateway)

    with caplog.at_level("INFO"):
        accepted = gateway.send(to="+12125550100", body="Hello from the console", store=shop)

    assert "Hello from the console" in caplog.text
    assert gateway.recent[-1]["sid"] == accepted.sid
