from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission

from campaigns.models import Campaign, InboundMessage, Message, MessageTemplate
from campaigns.tests.inbound_helpers import everyone, make_store, store_owner, subscribed, summer_drop
from customers.models import ConsentRecord

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def shop(db):
    store = make_store()
    maya = subscribed(store, "+14155550101", NOW, first_name="Maya", city="Austin")
    campaign = summer_drop(store, at=NOW)
    return store, maya, campaign


def owner_of(store, django_user_model, username="owner"):
    return store_owner(
        django_user_model, store, Permission.objects.filter(content_type__app_label="campaigns"), username
    )


def test_why_this_text_lists_the_trigger_segment_and_decision(admin_client, shop):
    store, maya, campaign = shop
    Message.objects.filter(customer=maya).update(
        status=Message.Status.SUPPRESSED, reason="quiet_hours_expired"
    )
    austin_only = everyone(store, "Austin")
    austin_only.rules = {
        "type": "group",
        "children": [{"type": "profile", "field": "city", "value": "Boston"}],
    }
    austin_only.save()
    Campaign.objects.create(
        store=store,
        name="Boston only",
        slug="boston",
        template=campaign.template,
        segment=austin_only,
        send_at=NOW,
        materialized_at=NOW,
        status=Campaign.Status.DONE,
    )
    ConsentRecord.objects.create(
        store=store, customer=maya, action="opt_in", source="api", wording="Checkout box", occurred_at=NOW
    )

    response = admin_client.get(f"/admin/campaigns/message/why/{maya.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Campaign “Summer drop”" in page
    assert "Everyone" in page and "member now" in page
    assert "Suppressed" in page and "Quiet hours expired." in page
    assert "Boston only" in page and "Not in the segment “Austin”" in page
    assert "Checkout box" in page


def test_the_progress_page_counts_the_campaign(admin_client, shop):
    _, _, campaign = shop

    response = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/progress/")

    assert response.status_code == 200
    assert response.context["progress"].materialized == 1
    assert 'role="progressbar"' in response.content.decode()


def test_the_campaign_list_pauses_and_resumes(admin_client, shop):
    _, _, campaign = shop
    changelist = "/admin/campaigns/campaign/"

    admin_client.post(changelist, {"action": "pause", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    admin_client.post(changelist, {"action": "resume", "_selected_action": [campaign.pk]})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    assert "0 of 1 handled" in admin_client.get(changelist).content.decode()


def test_the_inbox_marks_messages_handled(admin_client, admin_user, shop):
    store, maya, _ = shop
    inbound = InboundMessage.objects.create(
        store=store, customer=maya, from_number=maya.phone, body="Size 9?", outcome="message", received_at=NOW
    )

    admin_client.post(
        "/admin/campaigns/inboundmessage/", {"action": "mark_handled", "_selected_action": [inbound.pk]}
    )

    inbound.refresh_from_db()
    assert (inbound.handled, inbound.handled_by) == (True, admin_user)


def test_a_store_owner_sees_only_their_stores_rows(client, django_user_model, shop):
    store, maya, campaign = shop
    other = make_store(
        slug="other", brand_name="Other Shop", from_number="+18445550199",
        messaging_service_sid="MG" + "9" * 32,
    )
    stranger = subscribed(other, "+14155550155", NOW)
    InboundMessage.objects.create(
        store=other,
        customer=stranger,
        from_number=stranger.phone,
        body="other",
        outcome="message",
        received_at=NOW,
    )
    client.force_login(owner_of(other, django_user_model))

    assert client.get("/admin/campaigns/campaign/").context["cl"].result_count == 0
    assert client.get("/admin/campaigns/message/").context["cl"].result_count == 0
    assert client.get("/admin/campaigns/inboundmessage/").context["cl"].result_count == 1
    assert client.get(f"/admin/campaigns/campaign/{campaign.pk}/progress/").status_code == 404
    assert client.get(f"/admin/campaigns/message/why/{maya.pk}/").status_code == 404
    assert client.get(f"/admin/campaigns/message/why/{stranger.pk}/").status_code == 200


def test_marketing_staff_see_every_store(client, django_user_model, shop):
    user = owner_of(None, django_user_model, "staff")
    user.groups.add(Group.objects.get_or_create(name="Marketing staff")[0])
    client.force_login(user)

    assert client.get("/admin/campaigns/campaign/").context["cl"].result_count == 1


def test_a_campaign_is_added_as_a_draft_and_a_foreign_template_is_refused(admin_client, shop):
    store, _, campaign = shop
    other = make_store(
        slug="other", brand_name="Other Shop", from_number="+18445550199",
        messaging_service_sid="MG" + "9" * 32,
    )
    foreign = MessageTemplate.objects.create(store=other, name="Theirs", body="Not ours")
    form = {
        "store": store.pk,
        "name": "Autumn",
        "slug": "autumn",
        "segment": campaign.segment_id,
        "send_at_0": "2026-09-01",
        "send_at_1": "10:00:00",
        "local_send_time": "10:00",
        "at_best_hour": "on",
        "valid_hours": "4",
    }

    refused = admin_client.post("/admin/campaigns/campaign/add/", {**form, "template": foreign.pk})
    added = admin_client.post("/admin/campaigns/campaign/add/", {**form, "template": campaign.template_id})

    assert "Choose a template of the campaign" in refused.content.decode()
    assert added.status_code == 302
    autumn = Campaign.objects.get(slug="autumn")
    assert (autumn.status, autumn.local_send_time.hour) == (Campaign.Status.DRAFT, 10)
    assert autumn.at_best_hour


def test_a_scheduled_campaign_can_no_longer_change_its_audience(admin_client, shop):
    _, _, campaign = shop

    response = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")

    assert "segment" not in response.context["adminform"].form.fields
