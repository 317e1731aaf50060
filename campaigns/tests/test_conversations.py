from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission

from campaigns.inbound.conversations import conversation_reply, conversations_open_count
from campaigns.models import InboundMessage, Message
from campaigns.tests.inbound_helpers import (
    AUTH_TOKEN,
    make_customer,
    make_store,
    store_owner,
    subscribed,
    text_in,
)
from campaigns.tick import SENDING, tick
from customers.models import Customer, Store

PHONE = "+14155550101"
# 03:00 in New York: inside quiet hours.
NIGHT = datetime(2026, 6, 3, 7, 0, tzinfo=UTC)


@pytest.fixture
def store(db, settings, twilio_backend):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return make_store()


def ask(client, body: str = "Do you ship to Canada?", phone: str = PHONE):
    response = text_in(client, body, phone)
    assert response.status_code == 200
    return InboundMessage.objects.get(body=body, from_number=phone)


def reply(customer, body, *, now, nonce="n-1"):
    """Reply, then run the tick's send stage at the same moment."""
    sent = conversation_reply(customer=customer, body=body, user=None, nonce=nonce, now=now)
    tick(now=now, stages=SENDING)
    sent.refresh_from_db()
    return sent


def test_it_answers_a_question_at_night_within_24_hours(client, store, twilio_backend):
    customer = subscribed(store, PHONE, NIGHT - timedelta(days=3))
    ask(client)
    InboundMessage.objects.update(received_at=NIGHT - timedelta(hours=2))

    sent = reply(customer, "Yes, we ship to Canada.", now=NIGHT)

    assert sent.kind == Message.Kind.REPLY
    assert [r["Body"] for r in twilio_backend.sent_to(PHONE)] == ["Yes, we ship to Canada."]
    assert conversations_open_count(stores=Store.objects.all()) == 0


def test_a_reply_after_24_hours_waits_for_the_sending_window(client, store, twilio_backend):
    customer = subscribed(store, PHONE, NIGHT - timedelta(days=3))
    ask(client)
    InboundMessage.objects.update(received_at=NIGHT - timedelta(hours=30))

    sent = reply(customer, "Sorry for the wait: yes.", now=NIGHT)

    assert (sent.status, sent.reason) == (Message.Status.HELD, "quiet_hours")
    assert twilio_backend.sent_to(PHONE) == []


def test_it_never_answers_an_opted_out_customer(client, store, twilio_backend, frozen_now):
    customer = subscribed(store, PHONE, NIGHT - timedelta(days=3))
    ask(client)
    Customer.objects.filter(pk=customer.pk).update(sms_consent=Customer.Consent.UNSUBSCRIBED)

    sent = reply(customer, "Yes!", now=frozen_now)

    assert (sent.status, sent.reason) == (Message.Status.SUPPRESSED, "opted_out")
    assert twilio_backend.sent_to(PHONE) == []


def test_a_customer_without_consent_who_asks_gets_the_answer(client, store, twilio_backend, frozen_now):
    customer = make_customer(store, PHONE)
    ask(client)

    reply(customer, "Yes, we do.", now=frozen_now)

    assert [r["Body"] for r in twilio_backend.sent_to(PHONE)] == ["Yes, we do."]


def test_the_same_reply_form_posted_twice_sends_once(client, store, twilio_backend, frozen_now):
    customer = subscribed(store, PHONE, NIGHT - timedelta(days=3))
    ask(client)
    now = frozen_now

    reply(customer, "Yes.", now=now, nonce="same")
    reply(customer, "Yes.", now=now, nonce="same")

    assert len(twilio_backend.sent_to(PHONE)) == 1


def test_the_inbox_lists_open_threads_of_the_users_stores_only(
    client, admin_client, store, django_user_model
):
    other = make_store("other", from_number="+18445550199", messaging_service_sid="MG" + "9" * 32)
    subscribed(store, PHONE, NIGHT)
    subscribed(other, "+14155550102", NIGHT)
    ask(client, "Do you ship to Canada?")
    text_in(client, "Where is my order?", "+14155550102", to="+18445550199")
    owner = store_owner(
        django_user_model, store, Permission.objects.filter(content_type__app_label="campaigns")
    )
    client.force_login(owner)

    page = client.get("/admin/campaigns/inboundmessage/inbox/").content.decode()
    everyone = admin_client.get("/admin/").content.decode()

    assert "Do you ship to Canada?" in page and "Where is my order?" not in page
    assert "2 open conversations" in everyone


def test_an_empty_reply_is_a_form_error(client, admin_client, store):
    customer = subscribed(store, PHONE, NIGHT)
    ask(client)

    response = admin_client.post(
        f"/admin/campaigns/inboundmessage/inbox/{customer.pk}/",
        {"action": "reply", "body": "  ", "nonce": "8f4f3d4e-2f7b-4a53-9b0a-4a8f6e1c2d3e"},
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not Message.objects.exists()


def test_staff_answer_do_you_ship_to_canada_from_the_inbox(client, admin_page, store, twilio_backend):
    subscribed(store, PHONE, NIGHT - timedelta(days=3), first_name="Maya")
    ask(client)
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/")

    page.click("#open-conversations a")
    page.click("text=Maya")
    page.fill("textarea[name=body]", "Yes! We ship to Canada in 3–5 days.")
    page.click("input[value='Send reply']")

    page.wait_for_selector("text=Reply sent.")
    assert [r["Body"] for r in twilio_backend.sent_to(PHONE)] == ["Yes! We ship to Canada in 3–5 days."]
    assert "Handled" in page.inner_text("#thread-state")
    assert "Staff reply" in page.inner_text("#thread")
