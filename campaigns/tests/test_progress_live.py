from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign, Message
from campaigns.tests.inbound_helpers import make_store, subscribed, summer_drop

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def sending(transactional_db):
    store = make_store()
    for i in range(4):
        subscribed(store, f"+141555501{i:02d}", NOW)
    campaign = summer_drop(store, at=NOW)
    Message.objects.filter(campaign=campaign).update(status=Message.Status.QUEUED, reason="")
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    return campaign


def test_the_json_endpoint_reports_the_progress(admin_client, sending):
    Message.objects.filter(pk=Message.objects.filter(campaign=sending).first().pk).update(
        status=Message.Status.DELIVERED
    )

    progress = admin_client.get(f"/admin/campaigns/campaign/{sending.pk}/progress.json").json()

    assert (progress["materialized"], progress["percent_done"], progress["live"]) == (4, 25.0, True)
    assert {"label": "Delivered", "css": "bg-delivered", "count": 1, "percent": 25.0} in progress["bars"]


def test_the_progress_page_updates_itself_without_a_reload(admin_page, sending):
    admin_page.goto(f"{admin_page.live_server_url}/admin/campaigns/campaign/{sending.pk}/progress/")
    assert admin_page.inner_text("#percent-done") == "0.0%"
    admin_page.evaluate("window.notReloaded = true")

    Message.objects.filter(campaign=sending).update(status=Message.Status.DELIVERED)
    Campaign.objects.filter(pk=sending.pk).update(status=Campaign.Status.DONE)

    admin_page.wait_for_function("document.getElementById('percent-done').textContent === '100.0%'")
    assert admin_page.inner_text("#campaign-status") == "Done"
    assert admin_page.evaluate("window.notReloaded") is True
