"""The segment builder in a real browser: build a segment from dropdowns, watch the count, save."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customers.models import Customer, Event, Segment, Store
from customers.segments import members

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(frozen_now):
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    now = frozen_now
    people = {}
    for n, name in enumerate(["Ana", "Ben", "Cy"]):
        people[name] = Customer.objects.create(
            store=store, phone=f"+1415555010{n}", first_name=name, timezone="UTC", timezone_source="given"
        )

    def event(name: str, kind: str, ago: timedelta) -> None:
        Event.objects.create(
            store=store,
            customer=people[name],
            type=kind,
            occurred_at=now - ago,
            received_at=now,
            idempotency_key=f"{name}-{kind}",
        )

    event("Ana", "cart_updated", timedelta(hours=2))
    event("Ben", "cart_updated", timedelta(hours=3))
    event("Ben", "order_placed", timedelta(hours=1))
    event("Cy", "cart_updated", timedelta(hours=30))
    return store


def count(page) -> str:
    return page.locator("#sp-count").inner_text()


def test_it_builds_cart_without_order_and_saves_it(admin_page, shop, frozen_now):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/segment/add/")
    page.fill("#id_name", "Carted, no order since")
    page.wait_for_function("document.querySelector('#sp-count').textContent === '3'")

    page.select_option(".sb-group[data-path=''] > .sb-group-foot .sb-add-type", "sequence")
    page.click(".sb-group[data-path=''] > .sb-group-foot .sb-add-condition")
    condition = page.locator(".sb-condition[data-path='children[0]']")
    condition.locator("select.sb-event").first.select_option("cart_updated")

    page.wait_for_function("document.querySelector('#sp-count').textContent === '1'")
    assert page.locator("#sp-summary").inner_text() == (
        "Customers who added to cart in the last 24 hours and have not placed an order since."
    )
    assert page.locator("#sp-sample li").all_inner_texts() == ["Ana +14155550100"]

    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    segment = Segment.objects.get(name="Carted, no order since")
    assert segment.rules["children"][0] == {
        "type": "sequence",
        "event": "cart_updated",
        "window": {"last": 24, "unit": "hours"},
        "then_not": {"event": "order_placed"},
    }
    assert [c.first_name for c in members(segment, now=frozen_now)] == ["Ana"]
    # the saved page shows what a change would add and remove
    page.wait_for_function("document.querySelector('#sp-count').textContent === '1'")
    page.locator(".sb-condition[data-path='children[0]'] .sb-window input").first.fill("48")
    page.wait_for_function("document.querySelector('#sp-count').textContent === '2'")
    assert page.locator("#sp-diff").inner_text() == "+1 added · −0 removed vs. saved"


def test_it_shows_a_bad_condition_at_its_row(admin_page, shop):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/segment/add/")
    page.select_option(".sb-group[data-path=''] > .sb-group-foot .sb-add-type", "event")
    page.click(".sb-group[data-path=''] > .sb-group-foot .sb-add-condition")
    page.locator(".sb-condition[data-path='children[0]'] .sb-window input").first.fill("0")
    error = page.locator(".sb-condition[data-path='children[0]'] .sb-error")
    error.wait_for()
    assert error.inner_text() == "In the last: must be at least 1"
    assert count(page) == "—"


def test_it_says_reach_is_estimated_when_only_the_count_is_exact(admin_page, shop, monkeypatch):
    from customers.segments import preview

    monkeypatch.setattr(preview, "EXACT_UP_TO", 1)
    monkeypatch.setattr(preview, "REACH_EXACT_UP_TO", 1)
    Customer.objects.filter(first_name="Ana").update(sms_consent="subscribed")
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/segment/add/")
    page.wait_for_function("document.querySelector('#sp-count').textContent === '3'")
    assert page.locator("#sp-reach").inner_text() == "about 1"
    assert page.locator("#sp-estimate").inner_text().startswith(
        "The count is exact; how many are reachable by SMS is estimated"
    )
