"""The segments API as a store's systems see it: Bearer key, counts, pages, explanations."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from customers.models import ApiKey, Customer, Event, Segment, Store

KEY = "sk_test_segments_0123456789"


def group(*children: dict, match: str = "all") -> dict:
    return {"type": "group", "match": match, "children": list(children)}


def make_store(slug: str) -> Store:
    store = Store.objects.create(slug=slug, brand_name=slug.title(), site_url=f"https://{slug}.example.com")
    return store


@pytest.fixture
def store(db):
    store = make_store("shop")
    ApiKey.objects.create(
        store=store, name="test", prefix=KEY[:8], key_hash=hashlib.sha256(KEY.encode()).hexdigest()
    )
    return store


@pytest.fixture
def api(client):
    def get(url: str, key: str | None = KEY):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        return client.get(url, **headers)

    return get


def customer(store: Store, n: int, **fields) -> Customer:
    return Customer.objects.create(
        store=store,
        phone=f"+1415555{n:04d}",
        external_id=f"c{n}",
        timezone="UTC",
        timezone_source="given",
        **fields,
    )


def test_it_lists_segments_with_their_counts(store, api):
    for n in range(5):
        customer(store, n, loyalty_status="gold" if n < 2 else "")
    Segment.objects.create(
        store=store, name="Gold", slug="gold", rules=group({"type": "loyalty", "value": "gold"})
    )
    Segment.objects.create(store=store, name="Everyone", slug="all", rules=group())
    other = make_store("other")
    Segment.objects.create(store=other, name="Not mine", slug="x", rules=group())

    response = api("/api/v1/segments/")

    assert response.status_code == 200
    body = response.json()["segments"]
    assert [(s["name"], s["count"]) for s in body] == [("Everyone", 5), ("Gold", 2)]
    assert body[1]["summary"] == "Customers who have a loyalty status that is “gold”."


def test_it_reports_a_broken_segment_instead_of_failing(store, api):
    Segment.objects.create(
        store=store, name="Broken", slug="b", rules=group({"type": "segment", "segment": 999})
    )
    body = api("/api/v1/segments/").json()["segments"]
    assert body[0]["count"] is None
    assert body[0]["errors"][0]["message"] == "no segment 999 in this store"


def test_it_pages_through_members(store, api):
    for n in range(7):
        customer(store, n)
    segment = Segment.objects.create(store=store, name="All", slug="all", rules=group())

    first = api(f"/api/v1/segments/{segment.pk}/members?page_size=3").json()
    last = api(f"/api/v1/segments/{segment.pk}/members?page=3&page_size=3").json()

    assert (first["count"], first["pages"], len(first["results"])) == (7, 3, 3)
    assert [c["external_id"] for c in last["results"]] == ["c6"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("page=0", "page"), ("page=x", "page"), ("page_size=501", "page_size"), ("page=9", "page")],
)
def test_it_refuses_bad_paging_naming_the_field(store, api, query, field):
    segment = Segment.objects.create(store=store, name="All", slug="all", rules=group())
    response = api(f"/api/v1/segments/{segment.pk}/members?{query}")
    assert response.status_code in (400, 404)
    assert response.json()["errors"][0]["field"] == field


def test_it_explains_why_a_customer_is_not_a_member(store, api, frozen_now):
    now = frozen_now
    ana = customer(store, 1)
    Event.objects.create(
        store=store,
        customer=ana,
        type="cart_updated",
        occurred_at=now - timedelta(hours=1),
        received_at=now,
        idempotency_key="e1",
    )
    segment = Segment.objects.create(
        store=store,
        name="Cart, no order",
        slug="cart",
        rules=group(
            {"type": "event", "event": "cart_updated", "window": {"last": 24, "unit": "hours"}},
            {"type": "consent", "status": "subscribed"},
        ),
    )

    by_phone = api(f"/api/v1/segments/{segment.pk}/explain/+14155550001").json()
    by_id = api(f"/api/v1/segments/{segment.pk}/explain/c1").json()

    assert by_phone == by_id | {"at": by_phone["at"]}
    assert by_phone["member"] is False
    children = by_phone["rules"]["children"]
    assert [(c["description"], c["matched"]) for c in children] == [
        ("added to cart in the last 24 hours", True),
        ("are subscribed to SMS", False),
    ]


def test_it_explains_at_a_given_moment(store, api):
    ana = customer(store, 1)
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    Event.objects.create(
        store=store,
        customer=ana,
        type="order_placed",
        occurred_at=at - timedelta(days=2),
        received_at=at,
        idempotency_key="o1",
    )
    segment = Segment.objects.create(
        store=store,
        name="Recent buyers",
        slug="r",
        rules=group({"type": "event", "event": "order_placed", "window": {"last": 7, "unit": "days"}}),
    )
    assert api(f"/api/v1/segments/{segment.pk}/explain/c1?at=2026-01-01T12:00:00Z").json()["member"] is True
    assert api(f"/api/v1/segments/{segment.pk}/explain/c1?at=2026-02-01T12:00:00Z").json()["member"] is False
    bad = api(f"/api/v1/segments/{segment.pk}/explain/c1?at=yesterday")
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "at")


def test_it_answers_unknown_segments_and_customers_with_404(store, api):
    foreign = Segment.objects.create(store=make_store("other"), name="X", slug="x", rules=group())
    mine = Segment.objects.create(store=store, name="All", slug="all", rules=group())
    assert api(f"/api/v1/segments/{foreign.pk}/members").status_code == 404
    response = api(f"/api/v1/segments/{mine.pk}/explain/+19999999999")
    assert (response.status_code, response.json()["errors"][0]["field"]) == (404, "customer")


@pytest.mark.parametrize("key", [None, "wrong", "revoked"])
def test_it_refuses_requests_without_a_valid_key(store, api, key):
    if key == "revoked":
        ApiKey.objects.filter(store=store).update(revoked=True)
        key = KEY
    response = api("/api/v1/segments/", key=key)
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "Authorization"
