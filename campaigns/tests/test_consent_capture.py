from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.html import escape

from campaigns.broadcasts.materialize import campaign_materialize
from campaigns.inbound.signup import confirmation_prompt, customer_signup_request
from campaigns.models import Campaign, InboundMessage, Keyword, Message, MessageTemplate
from campaigns.public.forms import signup_disclosure
from campaigns.tests.inbound_helpers import (
    AUTH_TOKEN,
    everyone,
    make_customer,
    make_store,
    subscribed,
    text_in,
)
from customers.api.auth import api_key_create
from customers.models import ConsentRecord, Customer

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+14155550101"
A = ConsentRecord.Action


@pytest.fixture
def store(db, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return make_store()


def ledger(customer: Customer) -> list[tuple[str, str]]:
    return list(customer.consent_records.order_by("pk").values_list("action", "source"))


def sign_up(client, phone: str = "(415) 555-0101", consent: bool = True):
    data = {"phone": phone, "first_name": "Maya", **({"consent": "on"} if consent else {})}
    return client.post("/join/demo", data, HTTP_USER_AGENT="Mozilla/5.0 (iPhone)")


def test_the_signup_page_shows_the_exact_consent_wording(client, store):
    response = client.get("/join/demo")

    assert response.status_code == 200
    assert escape(signup_disclosure(store)) in response.content.decode()


def test_signing_up_on_the_page_asks_for_confirmation_and_does_not_subscribe(client, store):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == "/join/demo/sent"
    customer = Customer.objects.get(phone=PHONE)
    assert customer.sms_consent == Customer.Consent.PENDING
    assert customer.first_name == "Maya"
    record = customer.consent_records.get()
    assert (record.action, record.source, record.wording) == (
        A.REQUESTED,
        "signup_page",
        signup_disclosure(store),
    )
    assert (record.ip_address, record.user_agent) == ("127.0.0.1", "Mozilla/5.0 (iPhone)")
    text = Message.objects.get(customer=customer)
    assert text.kind == Message.Kind.TRANSACTIONAL
    assert "Reply Y to confirm" in text.body


def test_replying_y_to_the_page_signup_subscribes(client, store):
    sign_up(client)

    response = text_in(client, "Y", PHONE)

    customer = Customer.objects.get(phone=PHONE)
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED
    assert ledger(customer) == [(A.REQUESTED, "signup_page"), (A.CONFIRMED, "keyword")]
    confirmed = customer.consent_records.get(action=A.CONFIRMED)
    assert (confirmed.wording, confirmed.keyword) == (confirmation_prompt(store), "Y")
    assert "Thanks for confirming" in response.content.decode()


def test_signing_up_twice_sends_one_confirmation(client, store):
    sign_up(client)
    sign_up(client, phone="415-555-0101")

    customer = Customer.objects.get(phone=PHONE)
    assert Message.objects.filter(customer=customer).count() == 1
    assert ledger(customer) == [(A.REQUESTED, "signup_page")]


@pytest.mark.parametrize("phone", ["12345", "not a number", "+1 555 000 0000", ""])
def test_a_bad_phone_is_a_form_error_and_stores_nothing(client, store, phone):
    response = sign_up(client, phone=phone)

    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_signing_up_without_ticking_consent_is_a_form_error(client, store):
    response = sign_up(client, consent=False)

    assert "we need your consent" in response.context["form"].errors["consent"][0]
    assert not Customer.objects.exists()


def test_an_unknown_store_has_no_signup_page(client, store):
    assert client.get("/join/nope").status_code == 404


def test_join_by_keyword_is_double_opt_in(client, store):
    first = text_in(client, "Join", PHONE)

    customer = Customer.objects.get(phone=PHONE)
    assert customer.sms_consent == Customer.Consent.PENDING
    assert "Reply Y to confirm" in first.content.decode()
    requested = customer.consent_records.get()
    assert (requested.source, requested.keyword) == ("keyword", "JOIN")
    assert requested.wording == "Texted JOIN to +18445550100"

    text_in(client, "yes", PHONE)

    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED
    assert ledger(customer) == [(A.REQUESTED, "keyword"), (A.CONFIRMED, "keyword")]
    assert InboundMessage.objects.filter(outcome=InboundMessage.Outcome.CONFIRMED).count() == 1


def test_a_store_join_keyword_is_double_opt_in(client, store):
    Keyword.objects.create(store=store, word="VIP", action=Keyword.Action.JOIN)

    text_in(client, "vip", PHONE)

    customer = Customer.objects.get(phone=PHONE)
    assert customer.sms_consent == Customer.Consent.PENDING
    assert customer.consent_records.get().keyword == "VIP"


def test_start_from_a_number_that_never_subscribed_asks_for_confirmation(client, store):
    text_in(client, "START", PHONE)

    assert Customer.objects.get(phone=PHONE).sms_consent == Customer.Consent.PENDING


def test_joining_when_already_subscribed_changes_nothing(client, store):
    customer = subscribed(store, PHONE, NOW)

    response = text_in(client, "JOIN", PHONE)

    assert "already subscribed" in response.content.decode()
    assert ledger(customer) == []


def test_the_signup_service_records_the_request_and_texts_reply_y(store):
    customer = make_customer(store, PHONE)

    message = customer_signup_request(
        customer=customer,
        source="api",
        wording="Checkout SMS box",
        now=NOW,
        ip="203.0.113.5",
        user_agent="shop",
    )

    assert message.kind == Message.Kind.TRANSACTIONAL
    assert message.body == confirmation_prompt(store)
    assert message.valid_until == NOW + timedelta(hours=24)
    record = customer.consent_records.get()
    assert (record.action, record.source, record.wording, record.ip_address) == (
        A.REQUESTED,
        "api",
        "Checkout SMS box",
        "203.0.113.5",
    )
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.PENDING


def test_the_signup_service_asks_again_after_a_day_but_not_before(store):
    customer = make_customer(store, PHONE)
    customer_signup_request(customer=customer, source="api", wording="w", now=NOW)

    assert (
        customer_signup_request(customer=customer, source="api", wording="w", now=NOW + timedelta(hours=3))
        is None
    )
    later = customer_signup_request(
        customer=customer, source="api", wording="w", now=NOW + timedelta(hours=25)
    )

    assert later is not None
    assert Message.objects.filter(customer=customer).count() == 2


def test_the_signup_service_leaves_a_subscriber_alone(store):
    customer = subscribed(store, PHONE, NOW)

    assert customer_signup_request(customer=customer, source="api", wording="w", now=NOW) is None
    assert ledger(customer) == []


def test_only_confirmed_numbers_get_a_broadcast(client, store):
    template = MessageTemplate.objects.create(store=store, name="Drop", body="New drop is live")
    sign_up(client)
    sign_up(client, phone="(415) 555-0102")
    text_in(client, "Y", "+14155550102")

    campaign = Campaign.objects.create(
        store=store,
        name="Drop",
        slug="drop",
        template=template,
        segment=everyone(store),
        send_at=NOW,
        status=Campaign.Status.SCHEDULED,
    )
    campaign_materialize(campaign_id=campaign.pk, now=NOW)

    assert list(Message.objects.filter(campaign=campaign).values_list("to", flat=True)) == ["+14155550102"]


def test_an_api_sign_up_without_evidence_is_texted_reply_y_and_stays_pending(
    client, store, django_capture_on_commit_callbacks
):
    _, key = api_key_create(store=store)
    body = {"phone": PHONE, "first_name": "Maya", "sms_consent": {"status": "pending", "source": "checkout"}}

    for _ in range(2):  # a retried request asks once
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/customers", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
            )
        assert response.status_code in (200, 201), response.content

    maya = Customer.objects.get(store=store, phone=PHONE)
    assert maya.sms_consent == Customer.Consent.PENDING
    assert ledger(maya) == [(A.REQUESTED, "checkout")]
    [prompt] = Message.objects.filter(customer=maya)
    assert (prompt.body, prompt.kind) == (confirmation_prompt(store), Message.Kind.TRANSACTIONAL)


def test_an_imported_pending_sign_up_from_last_month_is_not_texted(
    client, store, django_capture_on_commit_callbacks, frozen_now
):
    _, key = api_key_create(store=store)
    old = (frozen_now - timedelta(days=30)).isoformat()
    body = {"phone": PHONE, "sms_consent": {"status": "pending", "source": "popup", "at": old}}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/api/v1/customers", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    maya = Customer.objects.get(store=store, phone=PHONE)
    assert ledger(maya) == [(A.REQUESTED, "popup")]
    assert not Message.objects.filter(customer=maya).exists()
