"""The whole path on the twilio backend: API event → flow → outbox → loopback Twilio → STOP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.flows.recipes import recipe_install
from campaigns.models import Message
from campaigns.tests.conftest import AUTH_TOKEN, SERVICE_SID
from campaigns.tests.inbound_helpers import inbound_params, signed_post
from campaigns.tick import tick
from customers.api.auth import api_key_create

# Five minutes before the moment of the `now` fixture: the cart the API reports.
CART_AT = datetime(2026, 6, 2, 14, 55, tzinfo=UTC)
INBOUND = "/webhooks/twilio/inbound"


def post_event(client, key: str, event_id: str, cart_id: str, capture) -> None:
    event = {
        "id": event_id,
        "type": "cart_updated",
        "occurred_at": CART_AT.isoformat(),
        "customer": {"external_id": "ana", "phone": "+12125550100"},
        "properties": {
            "cart_id": cart_id,
            "cart_url": f"https://shop.example.com/cart/{cart_id}",
            "items": [{"product_id": "mug", "name": "Mug", "price": 12, "quantity": 1}],
        },
    }
    with capture(execute=True):
        response = client.post(
            "/api/v1/events", event, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )
    assert response.status_code == 202, response.content


@pytest.fixture
def live_cart_recovery(shop):
    shop.allowed_link_domains = ["shop.example.com"]
    shop.send_window_start, shop.send_window_end = datetime.min.time(), datetime.max.time()
    shop.save()
    return recipe_install(store=shop, name="cart_recovery", live=True)


def test_the_first_cart_text_reaches_twilio_and_a_stop_reply_ends_every_later_text(
    client, twilio_backend, shop, make_subscriber, live_cart_recovery, django_capture_on_commit_callbacks,
    frozen_now,
):
    make_subscriber(phone="+12125550100", external_id="ana")
    _, key = api_key_create(store=shop)
    post_event(client, key, "cart-1", "c1", django_capture_on_commit_callbacks)

    due = CART_AT + timedelta(minutes=61)
    assert tick(now=due).messages_sent == 1

    [form] = twilio_backend.creates
    assert form["To"] == "+12125550100"
    assert form["Body"].startswith("Your cart is saved. Finish checkout: https://sms.example.com/l/")
    assert form["MessagingServiceSid"] == SERVICE_SID
    assert form["StatusCallback"] == "https://sms.example.com/webhooks/twilio/status"

    reply = signed_post(
        client,
        INBOUND,
        inbound_params("Stop", "+12125550100", MessagingServiceSid=SERVICE_SID),
        signed_url=f"https://sms.example.com{INBOUND}",
        token=AUTH_TOKEN,
    )
    assert reply.status_code == 200
    assert "<Message>" in reply.content.decode()

    post_event(client, key, "cart-2", "c2", django_capture_on_commit_callbacks)
    for later in (due, due + timedelta(hours=5), due + timedelta(days=1)):
        tick(now=later)
    assert len(twilio_backend.creates) == 1
    assert not Message.objects.filter(kind=Message.Kind.MARKETING).exclude(
        status__in=[Message.Status.SENT, Message.Status.SUPPRESSED]
    ).exists()
