"""The public pages cannot be turned into a texting cannon: rate limits, and no text to opted-out numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from campaigns.public.throttle import Rate, rate_hit
from campaigns.tests.conftest import AUTH_TOKEN
from campaigns.tests.inbound_helpers import (
    STORE_NUMBER,
    inbound_params,
    make_customer,
    make_store,
    signed_post,
)
from campaigns.tick import SENDING, tick
from customers.models import ConsentRecord, Customer

DAY = 86_400


@pytest.fixture
def store(db, twilio_backend, frozen_now):
    return make_store()


def sign_up(client, phone: str, ip: str = "203.0.113.7"):
    data = {"phone": phone, "first_name": "Maya", "consent": "on"}
    return client.post("/join/demo", data, REMOTE_ADDR=ip)


def texts_sent(server, now) -> list[str]:
    tick(now=now, stages=SENDING)
    return [form["To"] for form in server.creates]


def text_in(client, body: str, phone: str):
    return signed_post(
        client,
        "/webhooks/twilio/inbound",
        inbound_params(body, phone),
        signed_url="https://sms.example.com/webhooks/twilio/inbound",
        token=AUTH_TOKEN,
    )


def test_one_address_gets_429_after_its_signups(client, store, settings, twilio_backend, frozen_now):
    settings.RATE_LIMIT_SIGNUP_PER_IP = (3, DAY)
    phones = [f"+1415555010{n}" for n in range(4)]

    answers = [sign_up(client, phone) for phone in phones]

    assert [a.status_code for a in answers] == [302, 302, 302, 429]
    assert "Too many attempts" in answers[-1].content.decode()
    assert 0 < int(answers[-1]["Retry-After"]) <= DAY
    assert sorted(texts_sent(twilio_backend, frozen_now)) == phones[:3]
    assert not Customer.objects.filter(phone=phones[3]).exists()


def test_the_limit_is_per_address(client, store, settings, twilio_backend, frozen_now):
    settings.RATE_LIMIT_SIGNUP_PER_IP = (1, DAY)

    first = sign_up(client, "+14155550101", ip="203.0.113.7")
    again = sign_up(client, "+14155550102", ip="203.0.113.7")
    elsewhere = sign_up(client, "+14155550103", ip="198.51.100.9")

    assert (first.status_code, again.status_code, elsewhere.status_code) == (302, 429, 302)
    assert sorted(texts_sent(twilio_backend, frozen_now)) == ["+14155550101", "+14155550103"]


def test_one_number_gets_429_whatever_the_address_and_spelling(
    client, store, settings, twilio_backend, frozen_now
):
    settings.RATE_LIMIT_SIGNUP_PER_NUMBER = (2, DAY)
    spellings = ["(415) 555-0101", "415-555-0101", "+1 415 555 0101"]

    answers = [sign_up(client, phone, ip=f"198.51.100.{n}") for n, phone in enumerate(spellings)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    # the second asked within the day: one text
    assert texts_sent(twilio_backend, frozen_now) == ["+14155550101"]


def test_a_number_that_texted_stop_gets_no_text_from_the_form(client, store, twilio_backend, frozen_now):
    customer = make_customer(store, "+14155550101", sms_consent=Customer.Consent.SUBSCRIBED)
    text_in(client, "STOP", customer.phone)

    response = sign_up(client, "(415) 555-0101")

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert f"text START to {STORE_NUMBER}" in page
    assert texts_sent(twilio_backend, frozen_now) == []
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
    attempt = customer.consent_records.order_by("pk").last()
    assert (attempt.action, attempt.source, attempt.ip_address) == (
        ConsentRecord.Action.REFUSED,
        "signup_page",
        "203.0.113.7",
    )


def test_start_from_the_phone_still_subscribes_a_number_that_opted_out(
    client, store, twilio_backend, frozen_now
):
    customer = make_customer(store, "+14155550101", sms_consent=Customer.Consent.SUBSCRIBED)
    text_in(client, "STOP", customer.phone)
    sign_up(client, "(415) 555-0101")

    text_in(client, "START", customer.phone)

    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED


# --- the preference page ------------------------------------------------------------------


def test_guessing_preference_tokens_gets_429(client, store, settings):
    settings.RATE_LIMIT_PREFS_PER_IP = (5, DAY)

    answers = [client.get(f"/prefs/guess-{n}", REMOTE_ADDR="203.0.113.7").status_code for n in range(6)]

    assert answers == [404] * 5 + [429]


def test_one_subscribers_preferences_are_saved_a_limited_number_of_times(client, store, settings):
    settings.RATE_LIMIT_PREFS_PER_NUMBER = (2, DAY)
    customer = make_customer(store, "+14155550101", sms_consent=Customer.Consent.SUBSCRIBED)
    url = f"/prefs/{customer.prefs_token}"

    saves = [client.post(url, {"topics": ["deals"]}, REMOTE_ADDR=f"198.51.100.{n}") for n in range(3)]

    assert [s.status_code for s in saves] == [302, 302, 429]
    assert client.get(url).status_code == 200  # reading the page is not a save


def test_an_unsubscribed_subscriber_is_told_to_text_start(client, store, twilio_backend, frozen_now):
    customer = make_customer(store, "+14155550101", sms_consent=Customer.Consent.UNSUBSCRIBED)
    url = f"/prefs/{customer.prefs_token}"

    page = client.get(url)
    client.post(url, {"topics": ["deals"], "resubscribe": "on"})

    assert f"To get texts from Trailhead Supply again, text START to {STORE_NUMBER}." in page.content.decode()
    assert "resubscribe" not in page.context["form"].fields
    assert texts_sent(twilio_backend, frozen_now) == []
    customer.refresh_from_db()
    assert (customer.sms_consent, customer.topics) == (Customer.Consent.UNSUBSCRIBED, ["deals"])


# --- the counter ----------------------------------------------------------------------------


def test_a_window_counts_its_hits_and_the_next_starts_afresh(db):
    rate, at = Rate(limit=2, seconds=3600), datetime(2026, 6, 2, 15, 10, tzinfo=UTC)
    hit = lambda now: rate_hit(scope="test", key="k", rate=rate, now=now)  # noqa: E731

    assert [hit(at), hit(at), hit(at + timedelta(minutes=20))] == [None, None, 1800]
    assert hit(at + timedelta(minutes=50)) is None


def test_a_zero_limit_is_no_limit(db):
    at = datetime(2026, 6, 2, 15, 10, tzinfo=UTC)

    assert {rate_hit(scope="test", key="k", rate=Rate(0, 60), now=at) for _ in range(5)} == {None}


def test_an_ipv6_client_counts_as_its_64_and_a_proxy_header_is_trusted_only_when_named(
    client, store, settings
):
    settings.RATE_LIMIT_PREFS_PER_IP = (1, DAY)

    first = client.get("/prefs/x", REMOTE_ADDR="2001:db8:1:2::10")
    neighbour = client.get("/prefs/x", REMOTE_ADDR="2001:db8:1:2::99")
    settings.RATE_LIMIT_IP_HEADER = "X-Forwarded-For"
    proxied = client.get(
        "/prefs/x", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="2001:db8:1:2::10, 192.0.2.5"
    )

    assert (first.status_code, neighbour.status_code, proxied.status_code) == (404, 429, 404)


@pytest.mark.django_db(transaction=True)
def test_parallel_hits_pass_no_more_than_the_limit():
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip(
            "in-memory SQLite fails a second writer ('table is locked') instead of queueing it; "
            "CI runs this on PostgreSQL"
        )
    rate, at = Rate(limit=10, seconds=3600), datetime(2026, 6, 2, 15, 10, tzinfo=UTC)

    def hits(_: int) -> list[int | None]:
        try:
            return [rate_hit(scope="test", key="flood", rate=rate, now=at) for _ in range(5)]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = [answer for batch in pool.map(hits, range(6)) for answer in batch]

    assert answers.count(None) == 10
