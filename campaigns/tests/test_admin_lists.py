from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.models import Message
from campaigns.tests.inbound_helpers import make_store, subscribed, summer_drop

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
LISTS = [
    "/admin/customers/customer/",
    "/admin/campaigns/message/",
    "/admin/campaigns/campaign/",
    "/admin/campaigns/flowrun/",
    "/admin/campaigns/inboundmessage/",
]


@pytest.fixture
def drop(transactional_db):
    store = make_store(brand_name="Trailhead Supply Outdoor Gear")
    for i in range(3):
        subscribed(
            store,
            f"+141555501{i:02d}",
            NOW,
            first_name="Alexandria",
            last_name="Montgomery-Whitfield",
            external_id=f"shopify-customer-{i:012d}",
            timezone="America/Los_Angeles",
            total_spent=12345.67,
            order_count=12,
            last_order_at=NOW,
            last_sms_click_at=NOW,
        )
    campaign = summer_drop(store, at=NOW)
    Message.objects.filter(campaign=campaign).update(body="The summer drop is live: " + "new colours " * 12)
    return campaign


@pytest.mark.parametrize("url", LISTS)
def test_the_list_fits_a_1440_pixel_screen(admin_page, drop, url):
    admin_page.set_viewport_size({"width": 1440, "height": 900})

    admin_page.goto(admin_page.live_server_url + url)

    overflow = admin_page.evaluate(
        "Math.max(document.documentElement.scrollWidth - innerWidth,"
        " ...[...document.querySelectorAll('.results')].map(r => r.scrollWidth - r.clientWidth))"
    )
    assert overflow <= 0, f"{url} is {overflow}px wider than the screen"
