"""Composing a campaign on one page: the audience's counts and what the policy will do, the text as
recipients get it, review, then "Send to N people" stores and schedules it; until it starts it can
be edited or cancelled."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Message
from campaigns.tests.inbound_helpers import everyone, make_customer, make_store, subscribed
from customers.models import Customer

URL = "/admin/campaigns/campaign/compose/"
TEXT = (
    'Hi {{ first_name|default:"there" }}, the summer sale is on: https://shop.example.com/sale '
    "Reply STOP to opt out."
)


@pytest.fixture
def store(db):
    store = make_store(site_url="https://shop.example.com", allowed_link_domains=["shop.example.com"])
    now = timezone.now()
    for i in range(4):
        subscribed(store, f"+1415555010{i}", now - timedelta(days=30), first_name=f"Ana{i}")
    make_customer(store, "+14155550199", sms_consent=Customer.Consent.UNSUBSCRIBED)
    return store


def fields(store, **changes) -> dict[str, object]:
    return {
        "store": store.pk, "name": "Summer sale", "segment": everyone(store).pk, "body": TEXT,
        "when": "now", "valid_hours": 6, **changes,
    }  # fmt: skip


def test_add_leads_to_the_compose_page(admin_client, store):
    response = admin_client.get("/admin/campaigns/campaign/add/", follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == URL
    assert "1. Audience" in page and "4. Review" in page
    assert 'data-field="cart_link"' in page and "Only a flow's trigger fills it" in page


def test_the_preview_counts_the_audience_and_shows_the_text_as_sent(admin_client, store, settings):
    settings.PUBLIC_BASE_URL = "https://sms.example.com"

    data = admin_client.post(f"{URL}preview.json", fields(store)).json()

    assert (data["customers"], data["reachable"], data["recipients"]) == (5, 4, 4)
    assert data["audience"] == "5 customers · 4 reachable by SMS"
    assert sum(o["count"] for o in data["outcomes"]) == 4
    [first, *_] = data["samples"]
    assert first["body"].startswith("Hi Ana0, the summer sale is on: https://sms.example.com/l/")
    assert first["links"] == ["https://shop.example.com/sale"]
    assert data["meter"]["segments"] == 1 and data["meter"]["cost"].endswith(store.currency)


def test_the_preview_counts_the_audience_before_the_text_is_written(admin_client, store):
    data = admin_client.post(f"{URL}preview.json", fields(store, body="")).json()

    assert data["reachable"] == 4
    assert data["errors"][0]["field"] == "body"


def test_review_then_send_to_n_people_schedules_it(admin_client, store):
    review = admin_client.post(URL, {**fields(store), "review": "1"}).content.decode()

    assert "Send to 4 people" in review
    assert not Campaign.objects.exists()

    sent = admin_client.post(URL, {**fields(store), "confirm": "1"}, follow=True)

    campaign = Campaign.objects.get()
    assert campaign.status == "scheduled" and campaign.template.body == TEXT
    assert sent.redirect_chain[-1][0] == f"/admin/campaigns/campaign/{campaign.pk}/progress/"
    assert "“Summer sale” is scheduled" in sent.content.decode()


def test_a_trigger_field_is_refused_on_the_page_naming_it(admin_client, store):
    body = "Your cart: {{ cart_link }} Reply STOP to opt out."

    response = admin_client.post(URL, {**fields(store, body=body), "confirm": "1"})

    assert response.status_code == 200
    assert "cart_link would be empty for every recipient" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_time_in_the_stores_zone_and_a_local_time_are_kept(admin_client, store):
    store.default_timezone = "America/Chicago"
    store.save()
    tomorrow = (timezone.now() + timedelta(days=1)).date()

    admin_client.post(URL, {**fields(store, when="at", at=f"{tomorrow}T10:30"), "confirm": "1"})
    local = fields(store, name="Local", when="local", local_date=str(tomorrow), local_time="09:00")
    admin_client.post(URL, {**local, "confirm": "1"})

    at = Campaign.objects.get(name="Summer sale")
    chicago = at.send_at.astimezone(ZoneInfo("America/Chicago"))
    assert chicago.strftime("%Y-%m-%d %H:%M") == f"{tomorrow} 10:30"
    local = Campaign.objects.get(name="Local")
    assert local.local_send_time.strftime("%H:%M") == "09:00" and local.status == "scheduled"


def test_a_scheduled_campaign_is_edited_or_cancelled_until_it_starts(admin_client, store):
    later = (timezone.now() + timedelta(days=2)).date()
    admin_client.post(URL, {**fields(store, when="at", at=f"{later}T10:00"), "confirm": "1"})
    campaign = Campaign.objects.get()
    edit = f"/admin/campaigns/campaign/{campaign.pk}/compose/"

    assert 'value="Summer sale"' in admin_client.get(edit).content.decode()
    changed = fields(store, name="Summer sale, day 2", when="at", at=f"{later}T11:00")
    admin_client.post(edit, {**changed, "confirm": "1"})
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Summer sale, day 2", "scheduled")
    assert Campaign.objects.count() == 1

    admin_client.post(edit, {"cancel": "1"})
    campaign.refresh_from_db()
    assert campaign.status == "cancelled"
    assert admin_client.get(edit).status_code == 302  # no longer editable: its progress page
    assert not Message.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_field_picker_puts_a_field_with_its_fallback_at_the_cursor(admin_page, store):
    admin_page.goto(f"{admin_page.live_server_url}{URL}")
    admin_page.fill("#id_body", "Hi ")

    admin_page.click("#field-picker button[data-field=first_name]")

    assert admin_page.input_value("#id_body") == 'Hi {{ first_name|default:"Maya" }}'
    assert admin_page.is_disabled("#field-picker button[data-field=cart_link]")
