from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.tests.inbound_helpers import AUTH_TOKEN, make_store, subscribed, summer_drop, text_in
from conftest import SCREENSHOTS
from customers.ingest.consent import consent_change
from customers.ingest.events import events_ingest
from customers.ingest.products import products_upsert
from customers.models import ConsentRecord

PHONE = "+14155550101"
WORDING = "Yes, text me offers. Reply STOP to cancel."


@pytest.fixture
def maya(transactional_db, settings, client, frozen_now):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    now = frozen_now
    store = make_store(default_timezone="America/Los_Angeles")
    customer = subscribed(store, PHONE, now - timedelta(days=40), first_name="Maya")
    consent_change(
        customer=customer,
        action=ConsentRecord.Action.OPT_IN,
        source="checkout",
        occurred_at=now - timedelta(days=40),
        wording=WORDING,
    )
    summer_drop(store, at=now - timedelta(days=1))
    boot = {"id": "boot-1", "name": "Trail boot", "url": "https://shop.example.com/p/boot", "price": 120}
    products_upsert(store=store, payloads=[boot], now=now)
    views = [
        {
            "id": f"view-{i}",
            "type": "product_viewed",
            "occurred_at": (now - timedelta(hours=i + 1)).isoformat(),
            "customer": {"phone": PHONE},
            "properties": {"product_id": "boot-1"},
        }
        for i in range(25)
    ]
    events_ingest(store=store, payloads=views, now=now)
    text_in(client, "Do you ship to Canada?", PHONE)
    return customer


def test_the_customer_page_is_a_profile(admin_page, maya):
    page = admin_page
    page.set_viewport_size({"width": 1440, "height": 900})

    page.goto(f"{page.live_server_url}/admin/customers/customer/{maya.pk}/change/")

    assert page.inner_text("#consent-state") == "SMS: Subscribed"
    assert page.inner_text("#engagement-tier") == "Cold"
    texts = page.inner_text("#texts")
    assert "The summer drop is live" in texts and "Campaign “Summer drop”" in texts
    assert page.locator("#texts a", has_text="Why this text?").count() == 1
    assert "Do you ship to Canada?" in page.inner_text("#replies")
    assert WORDING in page.inner_text("#consent-history")
    events = page.inner_text("#events")
    assert "Viewed a product" in events and "product_viewed" not in events
    assert "Page 1 of 2" in events
    consent_top = page.locator("#consent-history").bounding_box()["y"]
    assert consent_top < page.locator("#events").bounding_box()["y"]
    assert "America/Los_Angeles" in page.inner_text("#customer-profile")
    assert page.locator("table.key-value").count() == 1

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "customer_profile.png"), full_page=True)
    page.click("#texts >> text=Why this text?")
    page.wait_for_selector("#why-this-text")
    assert "Summer drop" in page.inner_text("#why-this-text")
