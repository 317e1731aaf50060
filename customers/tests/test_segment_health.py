"""List health as the dashboard shows it: counted and kept with when, read while fresh, counted
live when no fresh count is kept, and always equal to counting live at the moment it was taken."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customers.models import Customer, ListHealth
from customers.segments import Reach
from customers.segments.health import FRESH_FOR, list_health, list_health_count, list_health_refresh
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = store_make("shop")
    clicks = [NOW - timedelta(days=1), NOW - timedelta(days=30), None, NOW - timedelta(days=200)]
    consents = ["subscribed", "subscribed", "none", "subscribed"]
    for n, (clicked, consent) in enumerate(zip(clicks, consents, strict=True)):
        Customer.objects.create(store=store, phone=f"+1415555040{n}", timezone="UTC", timezone_source="given",
                                last_sms_click_at=clicked, sms_consent=consent)  # fmt: skip
    return store


def test_the_kept_count_equals_counting_live_at_the_same_moment(store):
    list_health_refresh(now=NOW)

    kept = list_health(store, now=NOW + timedelta(minutes=1))

    assert kept == list_health_count(store, now=NOW)
    assert kept.groups["all"] == Reach(4, 3)
    tiers = (kept.groups["hot"], kept.groups["warm"], kept.groups["cold"])
    assert tiers == (Reach(1, 1), Reach(1, 1), Reach(2, 1))


def test_the_dashboard_reads_the_kept_count_until_the_next_one(store):
    list_health_refresh(now=NOW)
    Customer.objects.filter(store=store).update(sms_consent="subscribed")

    assert list_health(store, now=NOW + timedelta(minutes=4)).groups["all"] == Reach(4, 3)
    list_health_refresh(now=NOW + timedelta(minutes=5))
    shown = list_health(store, now=NOW + timedelta(minutes=6))
    assert (shown.groups["all"], shown.taken_at) == (Reach(4, 4), NOW + timedelta(minutes=5))


def test_a_stale_or_missing_count_is_counted_live(store):
    later = NOW + FRESH_FOR + timedelta(seconds=1)
    assert list_health(store, now=NOW).taken_at == NOW  # nothing kept yet
    list_health_refresh(now=NOW)
    Customer.objects.filter(store=store).update(sms_consent="subscribed")

    shown = list_health(store, now=later)

    assert (shown.groups["all"], shown.taken_at) == (Reach(4, 4), later)


def test_a_count_taken_after_the_moment_asked_about_is_not_used(store):
    list_health_refresh(now=NOW + timedelta(minutes=1))
    Customer.objects.filter(store=store).update(sms_consent="subscribed")

    assert list_health(store, now=NOW).groups["all"] == Reach(4, 4)


def test_refreshing_again_keeps_one_row_per_store(store):
    other = store_make("other")
    assert list_health_refresh(now=NOW) == 2
    assert list_health_refresh(now=NOW + timedelta(minutes=5), store_ids=[other.pk]) == 1
    assert ListHealth.objects.count() == 2
    assert ListHealth.objects.get(store=store).taken_at == NOW
