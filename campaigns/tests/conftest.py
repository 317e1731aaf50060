"""Fixtures for sending: the loopback Twilio server, the twilio backend pointed at it, a store."""

from __future__ import annotations

from itertools import count

import pytest

from customers.models import Customer, Store
from customers.tests.shop_fixtures import inline, shopify_server  # noqa: F401  (the loopback shop)
from harness.twilio_server import TwilioServer

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
SERVICE_SID = "MG" + "a" * 32


@pytest.fixture
def twilio_server():
    server = TwilioServer().start()
    yield server
    server.stop()


@pytest.fixture
def twilio_backend(settings, twilio_server):
    """SMS_BACKEND=twilio with TWILIO_API_BASE_URL at the loopback server; returns the server."""
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_API_BASE_URL = twilio_server.url
    settings.PUBLIC_BASE_URL = "https://sms.example.com"
    settings.SMS_PROVIDER_TIMEOUT = 0.3
    return twilio_server


@pytest.fixture
def shop(db):
    return Store.objects.create(
        slug="shop",
        brand_name="Northwind Goods",
        site_url="https://shop.example.com",
        messaging_service_sid=SERVICE_SID,
        send_rate_per_second=0,
    )


@pytest.fixture
def make_subscriber(shop):
    numbers = count(100)

    def make(**fields) -> Customer:
        values = {
            "store": shop,
            "phone": f"+1212555{next(numbers):04d}",
            "first_name": "Ada",
            "timezone": "America/New_York",
            "timezone_source": Customer.TimezoneSource.GIVEN,
            "sms_consent": Customer.Consent.SUBSCRIBED,
        }
        values.update(fields)
        return Customer.objects.create(**values)

    return make


@pytest.fixture
def queued_texts(make_subscriber):
    """`queued_texts(n, now=…)`: n texts stored queued at `now`, to +12125550000 … in order; their ids."""
    from campaigns.sending.outbox import MessageDraft, messages_create

    def queue(count: int, *, now) -> list[int]:
        drafts = [
            MessageDraft(
                customer=make_subscriber(phone=f"+1212555{i:04d}"),
                body=f"Hi {i}",
                idempotency_key=f"queued-{i}",
            )
            for i in range(count)
        ]
        return [m.pk for m in messages_create(drafts=drafts, now=now)]

    return queue
