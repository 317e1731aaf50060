"""Every preset on a store whose members are known, with window edges and non-UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from customers.models import Category, Customer, Event, Product, Segment, Store
from customers.segments import members
from customers.segments.presets import PRESETS, presets_install

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EVERYONE_ELSE = "__rest__"

# preset key -> who is in it (the rest of the store is not)
EXPECTED = {
    "added-to-cart-24h": {"cart_edge"},
    "checkout-not-completed": {"checkout_open"},
    "viewed-same-product-repeatedly": {"viewer"},
    "clicked-sms-30d": {"clicker"},
    "back-in-stock-requested": {"waiter"},
    # 31 customers: the top 10 % is the first 3 ranks
    "vip-top-ltv": {"whale", "big", "aov_higher"},
    "high-aov": {"big", "aov_higher", "aov_high"},
    "low-margin-buyers": {"low_buyer"},
    "frequent-repeat-buyers": {"regular", "whale", "mostly_full_price"},
    "prefers-deals": {"deals"},
    "prefers-drops": {"drops"},
    "prefers-restocks": {"restocks"},
    "category-browsers": {"viewer", "viewer_late", "browser"},
    "quiz-or-onboarding-answer": {"quiz", "quiz_goal", "onboarded"},
    "loyalty-members": {"gold"},
    "engagement-hot": {"hot_edge"},
    "engagement-warm": {"clicker", "old_clicker", "warm_edge"},
    "engagement-cold": {EVERYONE_ELSE, "cold_edge"},
    "offer-sensitive": {"coupon"},
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def store(db):
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    presets_install(store=store)
    skin = Category.objects.create(store=store, external_id="skin", name="Skincare")
    product = {
        key: Product.objects.create(
            store=store,
            external_id=key,
            name=key,
            url=f"https://shop.example.com/{key}",
            category=skin,
            margin_class="low" if key == "cleanser" else "high",
        )
        for key in ("serum", "toner", "cleanser")
    }
    people: dict[str, Customer] = {}

    def person(name: str, **fields) -> Customer:
        people[name] = Customer.objects.create(
            store=store,
            phone=f"+1415555{len(people):04d}",
            first_name=name,
            timezone="UTC",
            timezone_source="given",
            **fields,
        )
        return people[name]

    def event(name: str, kind: str, when: str | datetime, item: str | None = None, items=()) -> None:
        occurred = at(when) if isinstance(when, str) else when
        Event.objects.create(
            store=store,
            customer=people[name],
            type=kind,
            occurred_at=occurred,
            properties={"items": [{"product_id": i, "quantity": 1} for i in items]} if items else {},
            received_at=NOW,
            product=product[item] if item else None,
            idempotency_key=f"{name}-{kind}-{item}-{occurred.isoformat()}",
        )

    # exactly 24 hours before NOW, written in New York time; one second more is outside
    person("cart_edge")
    event("cart_edge", "cart_updated", "2026-11-25T07:00:00-05:00")
    person("cart_late")
    event("cart_late", "cart_updated", "2026-11-25T06:59:59-05:00")
    person("checkout_open")
    event("checkout_open", "checkout_started", "2026-11-24T14:00:00+02:00")
    person("checkout_done")
    event("checkout_done", "checkout_started", "2026-11-24T14:00:00+02:00")
    event("checkout_done", "order_placed", "2026-11-24T13:00:00Z")
    # three views of one product, the first exactly 7 days ago in Tokyo time
    person("viewer")
    for when in ("2026-11-19T21:00:00+09:00", "2026-11-22T10:00:00Z", "2026-11-26T11:00:00Z"):
        event("viewer", "product_viewed", when, "serum")
    person("viewer_late")
    for when in ("2026-11-19T20:59:59+09:00", "2026-11-22T10:00:00Z", "2026-11-26T11:00:00Z"):
        event("viewer_late", "product_viewed", when, "toner")
    person("browser")
    for item in ("serum", "toner", "cleanser"):
        event("browser", "product_viewed", "2026-11-10T09:00:00-08:00", item)
    person("clicker", last_sms_click_at=NOW - timedelta(days=30))
    event("clicker", "sms_clicked", "2026-10-27T08:00:00-04:00")  # 30 days exactly
    person("old_clicker", last_sms_click_at=NOW - timedelta(days=30, minutes=1), sms_consent="subscribed")
    event("old_clicker", "sms_clicked", NOW - timedelta(days=30, minutes=1))
    person("hot_edge", last_sms_click_at=NOW - timedelta(days=14))
    person("warm_edge", last_sms_click_at=NOW - timedelta(days=60))
    person("cold_edge", last_sms_click_at=NOW - timedelta(days=60, seconds=1))
    person("waiter")
    event("waiter", "back_in_stock_requested", NOW - timedelta(days=89), "serum")
    person("waited_too_long")
    event("waited_too_long", "back_in_stock_requested", NOW - timedelta(days=91), "serum")
    person("whale", total_spent=5000, order_count=10, average_order_value=50)
    person("big", total_spent=3000, order_count=2, average_order_value=1500)
    person("aov_high", total_spent=400, order_count=1, average_order_value=400)
    person("aov_higher", total_spent=600, order_count=1, average_order_value=600)
    person("regular", total_spent=90, order_count=3, average_order_value=30)
    # an order names its products in `items`, as ingestion stores it
    person("low_buyer")
    event("low_buyer", "order_placed", "2025-12-01T10:00:00-06:00", items=["serum", "cleanser"])
    person("low_buyer_old")
    event("low_buyer_old", "order_placed", "2025-11-20T10:00:00-06:00", items=["cleanser"])
    person("high_buyer")
    event("high_buyer", "order_placed", "2026-11-01T10:00:00Z", items=["serum", "toner"])
    person("deals", topics=["deals"])
    person("drops", topics=["drops"])
    person("restocks", topics=["restocks"])
    person("quiz", attributes={"quiz_answer": "dry skin"})
    person("quiz_goal", attributes={"quiz_goal": "glow"})
    person("onboarded")
    event("onboarded", "preference_set", "2026-09-01T10:00:00Z")
    person("gold", loyalty_status="gold")
    person("coupon", order_count=2, discount_order_count=1, discount_order_share=0.5)
    person("mostly_full_price", order_count=3, discount_order_count=1, discount_order_share=1 / 3)
    return store, people


def test_it_installs_every_preset_once_and_keeps_edits(db):
    store = Store.objects.create(slug="s", brand_name="S", site_url="https://s.example.com")
    Segment.objects.create(
        store=store, name="Mine", slug="vip-top-ltv", rules={"type": "group", "children": []}
    )
    assert len(presets_install(store=store)) == len(PRESETS)
    Segment.objects.filter(store=store, preset="engagement-hot").update(name="Hot (edited)")

    assert presets_install(store=store) == []
    assert Segment.objects.filter(store=store).count() == len(PRESETS) + 1
    assert Segment.objects.get(store=store, preset="engagement-hot").name == "Hot (edited)"
    assert Segment.objects.get(store=store, preset="vip-top-ltv").slug == "vip-top-ltv-2"


def test_the_command_installs_presets_for_every_store(db, capsys):
    for slug in ("a", "b"):
        Store.objects.create(slug=slug, brand_name=slug, site_url="https://s.example.com")
    call_command("install_presets")
    call_command("install_presets", "--store", "a")
    out = capsys.readouterr().out
    assert f"a: {len(PRESETS)} preset segment(s) installed" in out
    assert "a: 0 preset segment(s) installed" in out
    assert Segment.objects.filter(store__slug="b").count() == len(PRESETS)


@pytest.mark.parametrize("command", ["install_presets", "recompute_metrics", "install_keywords"])
def test_a_store_command_names_an_unknown_slug_and_changes_nothing(db, command):
    Store.objects.create(slug="a", brand_name="A", site_url="https://s.example.com")
    with pytest.raises(CommandError, match="No store with slug 'nope'"):
        call_command(command, "--store", "nope")
    assert not Segment.objects.exists()


def test_every_preset_has_an_expectation():
    assert set(EXPECTED) == {preset.key for preset in PRESETS}


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_preset_finds_exactly_its_members(store, key):
    store, people = store
    expected = set(EXPECTED[key])
    if EVERYONE_ELSE in expected:
        clicked_recently = {"hot_edge", "clicker", "old_clicker", "warm_edge"}
        expected = (set(people) - clicked_recently) | (expected - {EVERYONE_ELSE})
    segment = Segment.objects.get(store=store, preset=key)
    assert {c.first_name for c in members(segment, now=NOW)} == expected
