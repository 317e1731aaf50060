from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.models import Campaign, Message
from campaigns.tests.inbound_helpers import make_store, subscribed
from campaigns.tests.inbound_helpers import summer_drop as summer_drop_campaign

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


def summer_drop() -> Campaign:
    store = make_store()
    for i in range(20):
        subscribed(store, f"+141555501{i:02d}", NOW)
    campaign = summer_drop_campaign(store, at=NOW)
    texts = Message.objects.filter(campaign=campaign)
    # The send task ran on the real clock, long after NOW: put every text back in the queue first.
    texts.update(status=Message.Status.QUEUED, reason="")
    ids = list(texts.order_by("pk").values_list("pk", flat=True))
    Message.objects.filter(pk__in=ids[:9]).update(status=Message.Status.DELIVERED)
    Message.objects.filter(pk__in=ids[9:12]).update(status=Message.Status.SENT)
    Message.objects.filter(pk__in=ids[12:13]).update(status=Message.Status.FAILED, error_code="21211")
    Message.objects.filter(pk__in=ids[13:15]).update(status=Message.Status.SUPPRESSED, reason="frequency_cap")
    return campaign


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_progress_page_shows_the_bar_and_pausing_holds_the_campaign(admin_page):
    campaign = summer_drop()
    base = admin_page.live_server_url

    admin_page.goto(f"{base}/admin/campaigns/campaign/")
    admin_page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    admin_page.select_option("select[name=action]", "pause")
    admin_page.click("button[name=index]")
    admin_page.wait_for_selector("text=1 campaign(s) paused.")

    admin_page.click("text=15 of 20 handled")
    admin_page.wait_for_selector("[role=progressbar]")

    assert admin_page.inner_text("#campaign-status") == "Paused"
    assert admin_page.inner_text("#count-materialized") == "20"
    assert admin_page.locator(".progress > div").count() == 5
    assert "as many texts as the store allows a day or week" in admin_page.inner_text("#campaign-progress")
    width = admin_page.eval_on_selector(".progress .bg-delivered", "e => e.getBoundingClientRect().width")
    total = admin_page.eval_on_selector(".progress", "e => e.getBoundingClientRect().width")
    assert round(width / total, 2) == 0.45


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_why_this_text_is_one_click_from_the_message_list(admin_page):
    campaign = summer_drop()
    suppressed = Message.objects.filter(campaign=campaign, status=Message.Status.SUPPRESSED).first()
    base = admin_page.live_server_url

    admin_page.goto(f"{base}/admin/campaigns/message/?status__exact=suppressed")
    admin_page.click(f"a[href='/admin/campaigns/message/why/{suppressed.customer_id}/']")
    admin_page.wait_for_selector("#why-this-text")

    page = admin_page.inner_text("#why-this-text")
    assert "Campaign “Summer drop”" in page
    assert "The customer had as many texts as the store allows a day or week." in page
    assert "Everyone" in page
