from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import Experiment, Flow, Message
from conftest import SCREENSHOTS
from customers.demo import demo_load

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(db, frozen_now):
    return demo_load(now=frozen_now, customers=400, seed=11).store


def test_it_opens_the_dashboard_and_the_cart_recovery_report(admin_page, demo):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/")

    charts = page.locator("svg.report-chart")
    assert charts.count() == 5
    assert charts.first.locator("polyline.series").count() == 2
    assert page.locator("#table-sources").get_by_text("Cart recovery").is_visible()
    ctr = page.locator("#table-sources thead th", has_text="CTR")
    assert ctr.get_attribute("title") == "Click-through rate: unique clicks ÷ delivered."
    assert page.locator("#table-sources tfoot").inner_text().startswith("All texts")
    assert "$" in page.locator("#table-sources tfoot").inner_text()
    assert "reachable by SMS" in page.locator("#list-health").inner_text()
    assert "America/New_York (E" in page.locator("#store-time").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-dashboard.png"), full_page=True)

    page.locator("#table-sources").get_by_role("link", name="Cart recovery").click()

    page.wait_for_selector("#table-steps")
    cart = Flow.objects.get(store=demo, slug="cart-recovery")
    assert page.url.endswith(f"/reports/flow/{cart.pk}/")
    header = page.locator("#table-steps thead").inner_text().upper()
    assert "CTR" in header and "OPT-OUT RATE" in header and "REVENUE / RECIPIENT" in header
    first_step = page.locator("#table-steps tbody tr").first.inner_text()
    assert "%" in first_step
    page.screenshot(path=str(SCREENSHOTS / "reports-cart-recovery.png"), full_page=True)

    experiment = page.get_by_role("link", name="Cart reminder: plain vs personal")
    experiment.click()
    page.wait_for_selector("#table-variants")
    # Decided by the decision stage only when the demo's evidence is enough; either way the page
    # shows both variants' figures.
    assert page.locator("#table-variants tbody tr").count() >= 2
    if Experiment.objects.get(store=demo).conclusion:
        assert "95 % CI" in page.locator(".conclusion").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "reports-experiment.png"), full_page=True)


def test_the_why_page_shows_store_time_with_its_abbreviation(admin_page, demo):
    page = admin_page
    texted = Message.objects.filter(store=demo, status="delivered").order_by("-pk").first()
    page.goto(f"{page.live_server_url}{reverse('admin:campaigns_message_why', args=[texted.customer_id])}")
    body = page.locator("#content").inner_text()
    assert " EST" in body or " EDT" in body
    assert " UTC" not in body.split("Decisions")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "why-store-time.png"), full_page=True)
