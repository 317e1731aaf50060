"""The campaign form says who its segment is now: customers, and how many a text can reach."""

from __future__ import annotations

import pytest
from django.utils import timezone

from campaigns.models import Campaign, MessageTemplate
from customers.models import Customer, Segment, Store

GOLD = {"type": "group", "match": "all", "children": [{"type": "loyalty", "op": "eq", "value": "gold"}]}


@pytest.mark.django_db
def test_the_campaign_page_counts_its_segment_as_customers_and_reachable(admin_client):
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    for n, consent in enumerate(["subscribed", "subscribed", "unsubscribed"]):
        Customer.objects.create(
            store=store, phone=f"+1415555010{n}", timezone="UTC", loyalty_status="gold", sms_consent=consent
        )
    segment = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    template = MessageTemplate.objects.create(
        store=store, name="Hello", body="Hello from Shop. Reply STOP to opt out."
    )
    campaign = Campaign.objects.create(
        store=store, name="Gold", slug="gold", template=template, segment=segment, send_at=timezone.now()
    )

    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Audience now" in page
    assert "3 customers · 2 reachable by SMS" in page
