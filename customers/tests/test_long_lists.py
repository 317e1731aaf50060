"""The long admin lists (events, customers, texts): newest first, counts that say "about" past what is
quick to count, filters whose choices need no scan, search through the customers' own index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from playwright.sync_api import expect

from customers.admin import lists
from customers.models import Customer, Event
from customers.search import customer_search
from customers.tests.stores import NOW, store_make


@pytest.fixture
def shop(db):
    store = store_make("shop")
    people = [
        Customer.objects.create(store=store, phone=f"+1415555{n:04d}", external_id=f"c{n}", first_name=name,
                                last_name="Whitfield", email=f"{name.lower()}@example.com", timezone="UTC",
                                timezone_source="given", loyalty_status=loyalty)
        for n, (name, loyalty) in enumerate([("Alexandria", "gold"), ("Bo", "silver"), ("Carmen", "")])
    ]  # fmt: skip
    for n, kind in enumerate(["product_viewed", "cart_updated", "order_placed", "product_viewed"]):
        Event.objects.create(
            store=store, customer=people[n % 3], type=kind, occurred_at=NOW - timedelta(days=n),
            received_at=NOW, properties={}, idempotency_key=f"evt-{n}",
        )  # fmt: skip
    return store, people


def names(queryset) -> list[str]:
    return sorted(queryset.values_list("first_name", flat=True))


def test_search_finds_part_of_a_number_a_name_or_an_email(shop):
    store, _ = shop
    customers = Customer.objects.filter(store=store)
    assert names(customer_search(customers, "555 0001")) == ["Bo"]
    assert names(customer_search(customers, "alexand")) == ["Alexandria"]
    assert names(customer_search(customers, "CARMEN@example")) == ["Carmen"]
    assert names(customer_search(customers, "whitfield car")) == ["Carmen"]
    assert names(customer_search(customers, "(415) 555-0002")) == ["Carmen"]
    assert names(customer_search(customers, "c1")) == ["Bo"]  # short words: a whole external id
    assert names(customer_search(customers, "100%")) == []


def test_the_event_list_is_newest_received_first_and_filters_by_type_without_a_scan(admin_client, shop):
    page = admin_client.get("/admin/customers/event/").content.decode()
    assert "?type=order_placed" in page and "?type=cart_updated" in page
    filtered = admin_client.get("/admin/customers/event/?type=product_viewed")
    assert len(filtered.context["cl"].result_list) == 2
    listed = admin_client.get("/admin/customers/event/").context["cl"].result_list
    assert [e.idempotency_key for e in listed] == [
        "evt-3", "evt-2", "evt-1", "evt-0",
    ]  # fmt: skip


def test_the_event_list_finds_a_customers_events_or_an_event_by_its_id(admin_client, shop):
    found = admin_client.get("/admin/customers/event/?q=alexandria").context["cl"].result_list
    by_id = admin_client.get("/admin/customers/event/?q=evt-2").context["cl"].result_list
    assert sorted(e.idempotency_key for e in found) == ["evt-0", "evt-3"]
    assert [e.idempotency_key for e in by_id] == ["evt-2"]


def test_a_long_list_says_its_count_is_an_estimate(admin_client, shop, monkeypatch):
    monkeypatch.setattr(lists, "EXACT_COUNT_UP_TO", 2)
    page = admin_client.get("/admin/customers/event/").content.decode()
    if connection.vendor == "postgresql":
        assert "(estimated)" in page and "about " in page
    else:  # SQLite lists are small: always counted
        assert "4 events" in page


def test_filter_values_come_from_a_sample_not_a_scan(admin_client, shop):
    page = admin_client.get("/admin/customers/customer/").content.decode()
    assert "?loyalty_status=gold" in page and "?loyalty_status=silver" in page
    chosen = admin_client.get("/admin/customers/customer/?loyalty_status=gold").context["cl"].result_list
    assert [c.first_name for c in chosen] == ["Alexandria"]


def test_the_text_list_filters_by_the_policys_reasons(admin_client, shop):
    page = admin_client.get("/admin/campaigns/message/").content.decode()
    assert "?reason=quiet_hours" in page and "?reason=frequency_cap" in page


@pytest.mark.browser
def test_staff_narrow_the_event_list_in_the_browser(admin_page, transactional_db):
    store = store_make("shop")
    customer = Customer.objects.create(
        store=store, phone="+14155550199", external_id="c9", first_name="Zelda", timezone="UTC",
        timezone_source="given",
    )  # fmt: skip
    for n, kind in enumerate(["product_viewed", "order_placed"]):
        Event.objects.create(store=store, customer=customer, type=kind, occurred_at=NOW, received_at=NOW,
                             properties={}, idempotency_key=f"k{n}")  # fmt: skip
    admin_page.goto(admin_page.live_server_url + "/admin/customers/event/")
    rows = admin_page.locator("#result_list tbody tr")
    admin_page.get_by_role("link", name="order placed").first.click()
    expect(rows).to_have_count(1)  # waits out the navigation the click started
    admin_page.fill("#searchbar", "zelda")
    admin_page.press("#searchbar", "Enter")
    admin_page.wait_for_url("**q=zelda**")
    expect(rows).to_have_count(1)
    assert "2 events" not in admin_page.content()
