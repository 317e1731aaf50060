"""A broadcast has no trigger: a text that needs one (cart_link, product_name...) never goes out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.broadcasts.materialize import CampaignStateError
from campaigns.broadcasts.states import campaign_schedule
from campaigns.models import Campaign, Message, MessageTemplate
from campaigns.tests.inbound_helpers import everyone, make_store, subscribed
from campaigns.tick import tick

NOW = datetime(2026, 6, 2, 17, 0, tzinfo=UTC)
CART = "Your cart is saved. Finish checkout: {{ cart_link }} Reply STOP to opt out."


@pytest.fixture
def store(db):
    return make_store()


def campaign_of(store, body: str, **fields) -> Campaign:
    template = MessageTemplate.objects.create(store=store, name="Cart", body=body)
    values = {"send_at": NOW, "slug": "cart", "status": Campaign.Status.DRAFT, **fields}
    return Campaign.objects.create(
        store=store, name="Cart", template=template, segment=everyone(store), **values
    )


def test_it_refuses_to_schedule_a_text_with_a_trigger_field_and_names_it(store):
    campaign = campaign_of(store, CART + " {{ product_name|default:'this' }}")

    with pytest.raises(CampaignStateError) as refused:
        campaign_schedule(campaign=campaign)

    assert "cart_link, product_name" in str(refused.value)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_it_schedules_a_text_without_trigger_fields(store):
    campaign = campaign_of(
        store, 'Hi {{ first_name|default:"there" }}, the sale is on. Reply STOP to opt out.'
    )

    assert campaign_schedule(campaign=campaign).status == Campaign.Status.SCHEDULED


def test_a_template_changed_after_scheduling_pauses_the_campaign_with_nothing_sent(store):
    subscribed(store, "+14155550101", NOW)
    campaign = campaign_of(store, "The sale is on. Reply STOP to opt out.", status=Campaign.Status.SCHEDULED)
    MessageTemplate.objects.filter(pk=campaign.template_id).update(body=CART)

    tick(now=NOW)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert "cart_link would be empty" in campaign.error
    assert not Message.objects.filter(campaign=campaign).exists()


def test_the_admin_form_names_the_trigger_field(store, admin_client):
    template = MessageTemplate.objects.create(store=store, name="Cart", body=CART)

    response = admin_client.post(
        "/admin/campaigns/campaign/add/",
        {
            "store": store.pk,
            "name": "Cart push",
            "slug": "cart-push",
            "template": template.pk,
            "segment": everyone(store).pk,
            "send_at_0": "2026-06-02",
            "send_at_1": "17:00",
            "valid_hours": 6,
        },
    )

    assert response.status_code == 200
    assert (
        "cart_link would be empty for every recipient"
        in response.context["adminform"].form.errors["template"][0]
    )
    assert not Campaign.objects.exists()


def test_the_admin_schedule_action_reports_the_refusal(store, admin_client):
    campaign = campaign_of(store, CART)

    response = admin_client.post(
        "/admin/campaigns/campaign/",
        {"action": "schedule", "_selected_action": [campaign.pk]},
        follow=True,
    )

    assert "cart_link would be empty" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
