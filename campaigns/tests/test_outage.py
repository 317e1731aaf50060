"""A provider outage longer than any fixed retry budget: every text still goes out exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.models import Campaign, Message, MessageTemplate
from campaigns.tests.flowkit import T0
from campaigns.tests.inbound_helpers import everyone
from campaigns.tick import tick

pytestmark = pytest.mark.django_db
RECIPIENTS = 30


def minutes(start: int, stop: int):
    return [T0 + timedelta(minutes=m) for m in range(start, stop)]


@pytest.fixture
def summer_drop(shop, make_subscriber):
    phones = [make_subscriber().phone for _ in range(RECIPIENTS)]
    template = MessageTemplate.objects.create(store=shop, name="Drop", body="The summer drop is live.")
    Campaign.objects.create(
        store=shop,
        name="Summer drop",
        slug="summer-drop",
        template=template,
        segment=everyone(shop),
        send_at=T0,
        status=Campaign.Status.SCHEDULED,
    )
    return phones


@pytest.mark.parametrize("outage", ["503", "connection refused"])
def test_a_fifteen_minute_outage_ends_with_every_text_sent_once(
    twilio_backend, summer_drop, admin_client, settings, outage
):
    if outage == "503":
        twilio_backend.go_down(503)
    else:  # nothing listens there: the connection is refused
        settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    for now in minutes(0, 15):
        tick(now=now)

    during = len(twilio_backend.creates)
    # The breaker opens after 5 "try later" answers; then one probe at a time, not 30 texts a minute.
    assert during <= 5 + 15
    assert not Message.objects.filter(status__in=["failed", "suppressed"]).exists()
    campaign = Campaign.objects.get()
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/progress/").content.decode()
    assert "Provider unavailable since" in page

    twilio_backend.come_back()
    settings.TWILIO_API_BASE_URL = twilio_backend.url
    for now in minutes(15, 30):
        tick(now=now)

    delivered = [form["To"] for form in twilio_backend.creates[during:]]
    assert sorted(delivered) == sorted(summer_drop)  # each once, nobody twice, nobody left out
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    assert max(Message.objects.values_list("sent_at", flat=True)) <= T0 + timedelta(minutes=25)
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/progress/").content.decode()
    assert "Provider unavailable since" not in page


def test_texts_past_their_validity_are_dropped_not_sent_late(twilio_backend, summer_drop):
    Campaign.objects.update(valid_hours=1)
    twilio_backend.go_down(503)
    for now in minutes(0, 62):
        tick(now=now)
    during = len(twilio_backend.creates)
    twilio_backend.come_back()
    for now in minutes(62, 70):
        tick(now=now)

    assert len(twilio_backend.creates) == during  # late is never
    assert set(Message.objects.values_list("status", "reason")) == {("suppressed", "expired")}
