"""Stored segments kept fresh incrementally: whatever events arrive, profiles and the catalogue change
and time passes, the rows after each refresh are the members a full rebuild finds at that moment."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.ingest.events import events_ingest
from customers.models import Category, Customer, Event, Product, Segment, SegmentMember, SegmentTouch
from customers.segments import members
from customers.segments.membership import segment_refresh, store_refresh
from customers.tests.stores import NOW, store_make

CUSTOMERS, PRODUCTS = 4, 3
PHONES = [f"+1415555020{n}" for n in range(CUSTOMERS)]


def _window():
    last = st.builds(
        lambda n, u: {"last": n, "unit": u}, st.integers(1, 72), st.sampled_from(["hours", "days"])
    )
    between = st.builds(
        lambda a, b: {"between": [a, a + b], "unit": "days"}, st.integers(0, 5), st.integers(1, 5)
    )
    return st.none() | last | between


EVENT_TYPES = ["product_viewed", "cart_updated", "order_placed", "sms_clicked", "checkout_started"]
FILTERS = st.sampled_from(
    [
        [],
        [{"property": "margin_class", "op": "eq", "value": "low"}],
        [{"property": "category", "value": "Cat 1"}],
    ]
)
COUNTS = st.sampled_from(
    [None, {"op": "gte", "value": 2}, {"op": "zero"}, {"op": "lte", "value": 1}, {"op": "eq", "value": 1}]
)


def _no_none(node: dict) -> dict:
    return {k: v for k, v in node.items() if v is not None}


CONDITIONS = st.one_of(
    st.builds(
        lambda e, w, f, c: _no_none({"type": "event", "event": e, "window": w, "filters": f, "count": c}),
        st.sampled_from(EVENT_TYPES), _window(), FILTERS, COUNTS,
    ),
    st.builds(
        lambda w: _no_none({"type": "sequence", "event": "checkout_started", "window": w,
                            "then_not": {"event": "order_placed"}}),
        _window(),
    ),
    st.builds(
        lambda per, n, w: _no_none({"type": "repetition", "event": "product_viewed", "per": per,
                                    "at_least": n, "window": w}),
        st.sampled_from(["product", "category"]), st.integers(2, 3), _window(),
    ),
    st.builds(lambda v: {"type": "loyalty", "op": "eq", "value": v}, st.sampled_from(["gold", "silver"])),
    st.just({"type": "profile", "field": "attributes.quiz_answer", "op": "exists"}),
    st.builds(
        lambda f, op, d: {"type": "profile", "field": f, "op": op, "value": d},
        st.sampled_from(["last_order_at", "last_sms_click_at"]),
        st.sampled_from(["within_last_days", "more_than_days_ago"]), st.integers(1, 10),
    ),
    st.builds(lambda t: {"type": "metric", "metric": "engagement_tier", "op": "eq", "value": t},
              st.sampled_from(["hot", "warm", "cold"])),
    st.builds(lambda op, d: {"type": "metric", "metric": "days_since_last_order", "op": op, "value": d},
              st.sampled_from(["gt", "lte"]), st.integers(1, 10)),
    st.just({"type": "consent", "status": "subscribed"}),
)  # fmt: skip
RULES = st.builds(
    lambda match, children: {"type": "group", "match": match, "children": children},
    st.sampled_from(["all", "any", "none"]),
    st.lists(CONDITIONS, min_size=1, max_size=3),
)

ACTIONS = st.one_of(
    st.tuples(st.just("event"), st.integers(0, CUSTOMERS - 1), st.sampled_from(EVENT_TYPES),
              st.integers(0, PRODUCTS - 1), st.integers(-24 * 12, 0)),
    st.tuples(st.just("stamped"), st.integers(0, CUSTOMERS - 1), st.sampled_from(EVENT_TYPES),
              st.integers(0, PRODUCTS - 1), st.integers(-24 * 12, 48)),
    st.tuples(st.just("profile"), st.integers(0, CUSTOMERS - 1), st.sampled_from(["gold", "silver", ""]),
              st.booleans(), st.sampled_from(["subscribed", "unsubscribed"])),
    st.tuples(st.just("product"), st.integers(0, PRODUCTS - 1), st.sampled_from(["low", "high"]),
              st.integers(0, 1)),
    st.tuples(st.just("forget"), st.integers(0, CUSTOMERS - 1)),
    st.tuples(st.just("wait"), st.integers(1, 60 * 24 * 3)),
    st.tuples(st.just("refresh")),
)  # fmt: skip


class Rollback(Exception):
    pass


def payload(n: int, kind: str, product: str, at, key: str) -> dict:
    item = {"product_id": product, "price": 10, "quantity": 1}
    properties = {
        "product_viewed": {"product_id": product},
        "cart_updated": {"cart_id": f"k{n}", "cart_url": "https://shop.example.com/c", "items": [item]},
        "checkout_started": {"checkout_id": f"co{n}", "checkout_url": "https://shop.example.com/k",
                             "items": [item]},
        "order_placed": {"order_id": key, "total": 10, "items": [item]},
        "sms_clicked": {"url": "https://shop.example.com/"},
    }[kind]  # fmt: skip
    customer = {"external_id": f"c{n}", "phone": PHONES[n]}
    return {
        "id": key,
        "type": kind,
        "occurred_at": at.isoformat(),
        "customer": customer,
        "properties": properties,
    }


def scenario(rules: dict, actions: list[tuple]) -> None:
    store = store_make("inc")
    categories = [
        Category.objects.create(store=store, external_id=f"k{i}", name=f"Cat {i}") for i in range(2)
    ]
    products = [
        Product.objects.create(store=store, external_id=f"p{i}", name=f"P{i}", url="https://shop.example.com/p",
                               category=categories[i % 2], margin_class="low" if i == 0 else "high")
        for i in range(PRODUCTS)
    ]  # fmt: skip
    for n, phone in enumerate(PHONES):
        Customer.objects.create(
            store=store, phone=phone, external_id=f"c{n}", timezone="UTC", timezone_source="given"
        )
    segment = Segment.objects.create(store=store, name="S", slug="s", rules=rules, stored=True)
    now = NOW
    store_refresh(store=store, now=now)
    for serial, action in enumerate(actions):
        kind = action[0]
        if kind == "event":
            _, n, event_type, p, hours = action
            body = payload(n, event_type, f"p{p}", now + timedelta(hours=hours), f"e{serial}")
            events_ingest(store=store, payloads=[body], now=now)
        elif kind == "stamped":  # written by another path, with any time, even ahead of now
            _, n, event_type, p, hours = action
            Event.objects.create(
                store=store, customer=Customer.objects.get(store=store, external_id=f"c{n}"), type=event_type,
                occurred_at=now + timedelta(hours=hours), received_at=now, product=products[p],
                properties={"items": [{"product_id": f"p{p}"}]}, idempotency_key=f"s{serial}",
            )  # fmt: skip
        elif kind == "profile":
            _, n, loyalty, quiz, consent = action
            customer = Customer.objects.get(store=store, external_id=f"c{n}")
            customer.loyalty_status, customer.sms_consent = loyalty, consent
            customer.attributes = {"quiz_answer": "dry"} if quiz else {}
            customer.save()
        elif kind == "product":
            _, p, margin, category = action
            Product.objects.filter(pk=products[p].pk).update(
                margin_class=margin, category=categories[category]
            )
        elif kind == "forget":
            Event.objects.filter(store=store, customer__external_id=f"c{action[1]}").delete()
        elif kind == "wait":
            now += timedelta(minutes=action[1])
        else:
            store_refresh(store=store, now=now)
            segment.refresh_from_db()
            assert rows(segment) == live(segment, now), f"after {actions[: serial + 1]}"
    store_refresh(store=store, now=now)
    segment.refresh_from_db()
    incremental = rows(segment)
    assert incremental == live(segment, now)
    assert segment.counted_members == len(incremental) and segment.counted_at == now
    assert not SegmentTouch.objects.filter(store=store).exists()
    Segment.objects.filter(pk=segment.pk).update(refreshed_at=None)
    segment_refresh(segment=segment, now=now)
    assert rows(segment) == incremental


def rows(segment: Segment) -> list[int]:
    return sorted(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))


def live(segment: Segment, now) -> list[int]:
    return sorted(members(segment, now=now).values_list("pk", flat=True))


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=RULES, actions=st.lists(ACTIONS, max_size=14))
def test_the_incremental_refresh_equals_the_full_rebuild(rules, actions):
    try:
        with transaction.atomic():
            scenario(rules, actions)
            raise Rollback
    except Rollback:
        pass


LOW_MARGIN_ORDERS = {"type": "group", "match": "all", "children": [
    {"type": "event", "event": "order_placed", "filters": [{"property": "margin_class", "value": "low"}]},
]}  # fmt: skip
VIEWED_TWICE_IN_A_DAY = {"type": "group", "match": "all", "children": [
    {"type": "repetition", "event": "product_viewed", "per": "product", "at_least": 2,
     "window": {"last": 24, "unit": "hours"}},
]}  # fmt: skip


@pytest.mark.parametrize(
    ("rules", "actions"),
    [
        # the catalogue changes under an order: a product becomes low-margin
        (LOW_MARGIN_ORDERS, [("event", 0, "order_placed", 1, -1), ("refresh",), ("product", 1, "low", 0),
                             ("refresh",)]),
        # views slide out of the window with time alone
        (VIEWED_TWICE_IN_A_DAY, [("event", 1, "product_viewed", 2, -20),
                                 ("event", 1, "product_viewed", 2, -2), ("refresh",), ("wait", 60 * 19),
                                 ("refresh",)]),
        # an event stamped ahead of now counts once now reaches it
        (VIEWED_TWICE_IN_A_DAY, [("event", 1, "product_viewed", 2, -2),
                                 ("stamped", 1, "product_viewed", 2, 3), ("refresh",), ("wait", 60 * 4),
                                 ("refresh",)]),
        # a customer whose events are erased leaves
        (LOW_MARGIN_ORDERS, [("event", 2, "order_placed", 0, -1), ("refresh",), ("forget", 2), ("refresh",)]),
    ],
    ids=["catalogue", "window", "ahead", "erased"],
)  # fmt: skip
def test_it_follows_what_moves_members(db, rules, actions):
    scenario(rules, actions)
