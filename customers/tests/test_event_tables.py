"""The last-event and event-item tables follow the events on every write path."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from customers.ingest.events import events_ingest
from customers.models import Customer, Event, EventItem, EventLast
from customers.tests.stores import NOW, order, store_make

pytestmark = pytest.mark.django_db

MIAMI, SEATTLE = "+13055550123", "+12065550100"


def item(product_id) -> dict:
    return {"product_id": product_id, "price": 10, "quantity": 1}


def last_events() -> list[tuple]:
    return sorted(EventLast.objects.values_list("customer__phone", "type", "last_at"))


def items() -> list[tuple]:
    return sorted(EventItem.objects.values_list("event__idempotency_key", "type", "product_external_id"))


def shop():
    store = store_make()
    events_ingest(
        store=store,
        payloads=[
            order("o1", MIAMI, 20, "2026-11-20T10:00:00Z", items=[item("serum"), item(7)]),
            order("o2", MIAMI, 30, "2026-11-25T10:00:00Z", items=[item("mug")]),
            order("o3", SEATTLE, 10, "2026-11-01T10:00:00Z"),
            {
                "id": "c1",
                "type": "sms_clicked",
                "occurred_at": "2026-11-24T09:00:00Z",
                "customer": {"phone": SEATTLE},
                "properties": {"url": "https://acme.example.com/"},
            },
        ],
        now=NOW,
    )
    return store


def test_it_keeps_each_customers_last_time_per_event_type():
    shop()
    assert last_events() == [
        (SEATTLE, "order_placed", NOW.replace(day=1, hour=10)),
        (SEATTLE, "sms_clicked", NOW.replace(day=24, hour=9)),
        (MIAMI, "order_placed", NOW.replace(day=25, hour=10)),
    ]


def test_it_lists_each_ordered_product_by_the_stores_id():
    shop()
    assert items() == [
        ("o1", "order_placed", "7"),
        ("o1", "order_placed", "serum"),
        ("o2", "order_placed", "mug"),
    ]


def test_it_steps_back_when_the_last_event_is_removed_and_forgets_an_erased_customer():
    shop()
    Event.objects.filter(idempotency_key="o2").delete()
    assert (MIAMI, "order_placed", NOW.replace(day=20, hour=10)) in last_events()
    assert [key for key, _, _ in items()] == ["o1", "o1"]
    Customer.objects.get(phone=MIAMI).delete()
    assert [phone for phone, _, _ in last_events()] == [SEATTLE, SEATTLE]
    assert items() == []


def test_it_follows_an_event_moved_in_time():
    shop()
    Event.objects.filter(idempotency_key="o3").update(occurred_at=NOW - timedelta(hours=1))
    assert (SEATTLE, "order_placed", NOW - timedelta(hours=1)) in last_events()


def test_the_rebuild_gives_what_the_triggers_kept():
    shop()
    kept = (last_events(), items())
    call_command("rebuild_event_tables", stdout=io.StringIO())
    assert (last_events(), items()) == kept


def test_a_recency_rule_still_sees_a_window_event_when_the_last_one_is_after_now():
    from customers.segments import rules_members

    store = shop()
    clicked_this_week = {
        "type": "group",
        "match": "all",
        "children": [{"type": "event", "event": "sms_clicked", "window": {"last": 7, "unit": "days"}}],
    }
    never_ordered_this_week = {
        "type": "group",
        "match": "all",
        "children": [
            {
                "type": "event",
                "event": "order_placed",
                "window": {"last": 7, "unit": "days"},
                "count": {"op": "zero"},
            }
        ],
    }
    def phones(rules, now):
        return sorted(c.phone for c in rules_members(store, rules, now=now))

    asked_at = NOW.replace(day=24, hour=12)  # after Seattle's click and Miami's order of the 20th
    assert phones(clicked_this_week, asked_at) == [SEATTLE]
    assert phones(never_ordered_this_week, asked_at) == [SEATTLE]
    # Miami's last order (the 25th) is after the 22nd, but the one of the 20th is in that week
    assert phones(never_ordered_this_week, NOW.replace(day=22)) == [SEATTLE]
    # on the 18th both of Miami's orders are still to come
    assert phones(never_ordered_this_week, NOW.replace(day=18)) == [SEATTLE, MIAMI]
