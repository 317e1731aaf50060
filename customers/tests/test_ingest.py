from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from customers.ingest.customers import customers_upsert
from customers.ingest.events import events_ingest
from customers.ingest.products import products_upsert
from customers.ingest.schemas import ValidationFailed
from customers.models import ConsentRecord, Customer, Event, Product, ProductChange
from customers.signals import events_recorded, products_changed
from customers.tests.stores import NOW, order, store_make

pytestmark = pytest.mark.django_db

MIAMI = "+13055550123"
SEATTLE = "+12065550100"


def viewed(key: str, phone: str = MIAMI, **extra) -> dict:
    return {
        "id": key,
        "type": "product_viewed",
        "occurred_at": "2026-11-26T10:00:00Z",
        "customer": {"phone": phone},
        "properties": {"product_id": "sku-1"},
        **extra,
    }


def fields_of(excinfo) -> list[str]:
    return [e.field for e in excinfo.value.errors]


def test_it_creates_the_customer_with_timezone_and_state_from_the_number():
    store = store_make()
    events_ingest(store=store, payloads=[viewed("e1")], now=NOW)
    customer = Customer.objects.get()
    assert (customer.phone, customer.timezone, customer.timezone_source, customer.region) == (
        MIAMI,
        "America/New_York",
        "phone",
        "FL",
    )


def test_it_keeps_a_given_timezone_and_falls_back_to_the_store_for_multi_zone_numbers():
    store = store_make(default_timezone="America/Chicago")
    customers_upsert(
        store=store,
        payloads=[{"phone": MIAMI, "timezone": "Europe/Paris"}, {"phone": "+19075550100"}],
        now=NOW,
    )
    given, alaska = Customer.objects.order_by("phone")
    assert (given.timezone, given.timezone_source) == ("Europe/Paris", "given")
    assert (alaska.timezone, alaska.timezone_source, alaska.region) == ("America/Chicago", "store", "AK")


def test_it_counts_duplicate_ids_in_the_batch_and_in_the_database_once():
    store = store_make()
    first = events_ingest(store=store, payloads=[viewed("e1"), viewed("e1"), viewed("e2")], now=NOW)
    again = events_ingest(store=store, payloads=[viewed("e2"), viewed("e3")], now=NOW)
    assert (first.accepted, first.duplicates) == (2, 1)
    assert (again.accepted, again.duplicates) == (1, 1)
    assert Event.objects.count() == 3


def test_a_retry_without_ids_is_not_stored_twice():
    store = store_make()
    event = viewed("x")
    del event["id"]
    events_ingest(store=store, payloads=[event], now=NOW)
    result = events_ingest(store=store, payloads=[event], now=NOW)
    assert (result.accepted, result.duplicates) == (0, 1)


def test_a_batch_with_one_bad_event_stores_nothing_and_names_the_field():
    store = store_make()
    bad = viewed("e2", phone="+1555")
    with pytest.raises(ValidationFailed) as excinfo:
        events_ingest(store=store, payloads=[viewed("e1"), bad], now=NOW)
    assert fields_of(excinfo) == ["events[1].customer.phone"]
    assert not Event.objects.exists() and not Customer.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "yesterday"}, "events[0].occurred_at"),
        ({"occurred_at": "2026-11-26T10:00:00"}, "events[0].occurred_at"),
        ({"occurred_at": "2026-11-26T15:06:00Z"}, "events[0].occurred_at"),
        ({"type": "Cart Updated"}, "events[0].type"),
        ({"properties": {"product_id": ["x"]}}, "events[0].properties.product_id"),
        ({"properties": {}}, "events[0].properties.product_id"),
        ({"properties": "sku-1"}, "events[0].properties"),
        ({"customer": {"first_name": "Ana"}}, "events[0].customer.phone"),
        ({"customer": {"phone": MIAMI, "email": "nope"}}, "events[0].customer.email"),
        ({"customer": {"phone": MIAMI, "timezone": "Mars/Base"}}, "events[0].customer.timezone"),
        ({"customer": {"external_id": "c-404"}}, "events[0].customer.phone"),
        ({"occured_at": "2026-11-26T10:00:00Z"}, "events[0].occured_at"),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "events[0].occurred_at"),
        ({"id": True}, "events[0].id"),
    ],
)
def test_it_rejects_bad_events_naming_the_field(change, field):
    store = store_make()
    with pytest.raises(ValidationFailed) as excinfo:
        events_ingest(store=store, payloads=[{**viewed("e1"), **change}], now=NOW)
    assert field in fields_of(excinfo)
    assert not Event.objects.exists()


def test_it_checks_the_documented_cart_schema_down_to_the_item():
    store = store_make()
    cart = {
        "id": "c1",
        "type": "cart_updated",
        "customer": {"phone": MIAMI},
        "properties": {
            "cart_id": "cart-1",
            "cart_url": "https://acme.example.com/cart/1",
            "items": [{"product_id": "sku-1", "name": "Tea", "price": "ten", "quantity": 1}],
        },
    }
    with pytest.raises(ValidationFailed) as excinfo:
        events_ingest(store=store, payloads=[cart], now=NOW)
    assert fields_of(excinfo) == ["events[0].properties.items[0].price"]


def test_it_accepts_offsets_and_custom_events_with_free_properties():
    store = store_make()
    custom = {
        "id": "q1",
        "type": "quiz_completed",
        "occurred_at": "2026-11-26T12:00:00+02:00",
        "customer": {"phone": MIAMI},
        "properties": {"skin_type": "dry"},
    }
    events_ingest(store=store, payloads=[custom], now=NOW)
    event = Event.objects.get()
    assert event.occurred_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert event.properties == {"skin_type": "dry"}


def test_it_links_the_event_to_the_known_product():
    store = store_make()
    products_upsert(
        store=store, payloads=[{"id": "sku-1", "name": "Tea", "url": "https://acme.example.com/tea"}], now=NOW
    )
    events_ingest(store=store, payloads=[viewed("e1")], now=NOW)
    assert Event.objects.get().product.name == "Tea"


def test_orders_update_the_customers_metrics():
    store = store_make()
    events_ingest(
        store=store,
        payloads=[
            order("o1", MIAMI, 40, "2026-10-01T10:00:00Z", discount_code="WELCOME10"),
            order("o2", MIAMI, 60.5, "2026-10-21T10:00:00Z", discount_code=""),
            order("o3", SEATTLE, 25, "2026-11-01T10:00:00Z"),
        ],
        now=NOW,
    )
    events_ingest(store=store, payloads=[order("o4", MIAMI, 20, "2026-11-10T10:00:00Z")], now=NOW)
    miami = Customer.objects.get(phone=MIAMI)
    assert miami.order_count == 3
    assert miami.total_spent == Decimal("120.50")
    assert miami.average_order_value == Decimal("40.17")
    assert miami.discount_order_count == 1
    assert miami.discount_order_share == pytest.approx(1 / 3)
    assert miami.first_order_at == datetime(2026, 10, 1, 10, tzinfo=UTC)
    assert miami.last_order_at == datetime(2026, 11, 10, 10, tzinfo=UTC)
    assert miami.predicted_next_order_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    seattle = Customer.objects.get(phone=SEATTLE)
    assert (seattle.order_count, seattle.predicted_next_order_at) == (1, None)


def test_a_late_older_order_does_not_move_the_last_order_back():
    store = store_make()
    events_ingest(store=store, payloads=[order("o2", MIAMI, 10, "2026-11-20T10:00:00Z")], now=NOW)
    events_ingest(store=store, payloads=[order("o1", MIAMI, 10, "2026-11-01T10:00:00Z")], now=NOW)
    miami = Customer.objects.get()
    assert miami.last_order_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert miami.first_order_at == datetime(2026, 11, 1, 10, tzinfo=UTC)


def test_clicks_rewards_and_preferences_land_on_the_profile():
    store = store_make()
    customer = {"phone": MIAMI}
    events_ingest(
        store=store,
        payloads=[
            {"id": "k1", "type": "sms_clicked", "occurred_at": "2026-11-20T10:00:00Z", "customer": customer},
            {"id": "k2", "type": "sms_clicked", "occurred_at": "2026-11-22T10:00:00Z", "customer": customer},
            {
                "id": "r1",
                "type": "reward_balance_changed",
                "occurred_at": "2026-11-22T10:00:00Z",
                "customer": customer,
                "properties": {"balance": 12.5, "points": 1250, "loyalty_status": "Gold"},
            },
            {
                "id": "r0",
                "type": "reward_balance_changed",
                "occurred_at": "2026-11-01T10:00:00Z",
                "customer": customer,
                "properties": {"balance": 3},
            },
            {
                "id": "p1",
                "type": "preference_set",
                "occurred_at": "2026-11-22T10:00:00Z",
                "customer": customer,
                "properties": {"topics": ["Deals", "restocks"], "categories": ["Tea"]},
            },
        ],
        now=NOW,
    )
    miami = Customer.objects.get()
    assert miami.last_sms_click_at == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert (miami.reward_balance, miami.reward_points, miami.loyalty_status) == (
        Decimal("12.50"),
        1250,
        "Gold",
    )
    assert (miami.topics, miami.favorite_categories) == (["deals", "restocks"], ["Tea"])


def test_events_recorded_is_sent_after_commit_with_the_new_ids(django_capture_on_commit_callbacks):
    store = store_make()
    received = []

    def listener(sender, store, event_ids, **kwargs):
        received.append((store.slug, sorted(event_ids)))

    events_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = events_ingest(store=store, payloads=[viewed("e1"), viewed("e1")], now=NOW)
    finally:
        events_recorded.disconnect(listener)
    assert received == [("acme", result.event_ids)] and len(result.event_ids) == 1


def test_a_customer_is_matched_by_external_id_and_updated_in_place():
    store = store_make()
    customers_upsert(store=store, payloads=[{"external_id": "c-1", "phone": MIAMI}], now=NOW)
    result = customers_upsert(
        store=store,
        payloads=[{"external_id": "c-1", "first_name": "Ana", "attributes": {"skin": "dry"}}],
        now=NOW,
    )
    customers_upsert(store=store, payloads=[{"phone": MIAMI, "attributes": {"size": "M"}}], now=NOW)
    customer = Customer.objects.get()
    assert (result.created, result.updated) == (0, 1)
    assert (customer.first_name, customer.attributes) == ("Ana", {"skin": "dry", "size": "M"})


def test_a_phone_of_another_customer_is_refused():
    store = store_make()
    customers_upsert(
        store=store,
        payloads=[{"external_id": "c-1", "phone": MIAMI}, {"external_id": "c-2", "phone": SEATTLE}],
        now=NOW,
    )
    with pytest.raises(ValidationFailed) as excinfo:
        customers_upsert(store=store, payloads=[{"external_id": "c-1", "phone": SEATTLE}], now=NOW)
    assert fields_of(excinfo) == ["customers[0].phone"]


def test_consent_with_evidence_goes_to_the_ledger_once():
    store = store_make()
    payload = {
        "phone": MIAMI,
        "sms_consent": {
            "status": "subscribed",
            "source": "checkout",
            "wording": "Text me offers. Msg & data rates may apply. Reply STOP to opt out.",
            "at": "2026-11-01T09:00:00-05:00",
        },
    }
    customers_upsert(store=store, payloads=[payload], now=NOW)
    customers_upsert(store=store, payloads=[payload], now=NOW)
    record = ConsentRecord.objects.get()
    customer = Customer.objects.get()
    assert (record.action, record.source, customer.sms_consent) == ("opt_in", "checkout", "subscribed")
    assert customer.sms_consent_at == datetime(2026, 11, 1, 14, tzinfo=UTC)


def test_consent_for_many_customers_is_written_in_bulk_with_the_same_ledger_rows():
    store = store_make()
    consent = {"status": "subscribed", "source": "csv", "wording": "Yes to texts"}
    customers_upsert(
        store=store,
        payloads=[{"phone": MIAMI, "sms_consent": consent}, {"phone": SEATTLE, "sms_consent": consent}],
        now=NOW,
    )
    assert ConsentRecord.objects.filter(action="opt_in", source="csv").count() == 2
    assert set(Customer.objects.values_list("sms_consent", flat=True)) == {"subscribed"}


def test_subscribing_without_the_wording_is_refused():
    store = store_make()
    with pytest.raises(ValidationFailed) as excinfo:
        customers_upsert(
            store=store, payloads=[{"phone": MIAMI, "sms_consent": {"status": "subscribed"}}], now=NOW
        )
    assert fields_of(excinfo) == ["customers[0].sms_consent.wording"]


def test_product_price_and_stock_changes_are_kept_and_announced(django_capture_on_commit_callbacks):
    store = store_make()
    product = {"id": "sku-1", "name": "Tea", "url": "https://acme.example.com/tea", "price": 10, "stock": 0}
    products_upsert(store=store, payloads=[{**product, "category": "Tea"}], now=NOW)
    received = []

    def listener(sender, store, product_changes, **kwargs):
        received.extend(product_changes)

    products_changed.connect(listener)
    later = NOW + timedelta(hours=1)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = products_upsert(
                store=store, payloads=[{"id": "sku-1", "price": "8.50", "stock": 12}], now=later
            )
    finally:
        products_changed.disconnect(listener)
    changes = {c.field: (c.old_value, c.new_value, c.changed_at) for c in ProductChange.objects.all()}
    assert changes == {
        "price": (Decimal("10.00"), Decimal("8.50"), later),
        "stock": (Decimal("0"), Decimal("12"), later),
    }
    assert sorted(received) == sorted(result.change_ids)
    tea = Product.objects.get()
    assert (tea.price, tea.stock, tea.category.name) == (Decimal("8.50"), 12, "Tea")


def test_a_new_product_needs_a_name_and_url():
    store = store_make()
    with pytest.raises(ValidationFailed) as excinfo:
        products_upsert(store=store, payloads=[{"id": "sku-1", "price": 3}], now=NOW)
    assert fields_of(excinfo) == ["products[0].name", "products[0].url"]


def test_a_new_number_moves_an_inferred_timezone_but_not_a_given_one():
    store = store_make()
    customers_upsert(
        store=store,
        payloads=[
            {"external_id": "c-1", "phone": MIAMI},
            {"external_id": "c-2", "phone": "+13125550100", "timezone": "America/Chicago"},
        ],
        now=NOW,
    )
    customers_upsert(
        store=store,
        payloads=[{"external_id": "c-1", "phone": SEATTLE}, {"external_id": "c-2", "phone": "+16175550100"}],
        now=NOW,
    )
    moved, kept = Customer.objects.order_by("external_id")
    assert (moved.phone, moved.timezone, moved.timezone_source) == (SEATTLE, "America/Los_Angeles", "phone")
    assert (kept.phone, kept.timezone, kept.timezone_source) == ("+16175550100", "America/Chicago", "given")
