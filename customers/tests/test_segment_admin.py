"""The segment admin without a browser: the builder's preview endpoint, presets, copies, scoping."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission

from customers.models import Customer, Event, Segment, Store
from customers.segments.presets import PRESETS

EMPTY = {"type": "group", "match": "all", "children": []}
GOLD = {"type": "group", "match": "all", "children": [{"type": "loyalty", "op": "eq", "value": "gold"}]}


@pytest.fixture
def store(db):
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    for n, loyalty in enumerate(["gold", "gold", "", "silver"]):
        Customer.objects.create(
            store=store,
            phone=f"+1415555010{n}",
            first_name=f"C{n}",
            timezone="UTC",
            timezone_source="given",
            loyalty_status=loyalty,
        )
    return store


def preview(client, **body):
    response = client.post(
        "/admin/customers/segment/preview/", json.dumps(body), content_type="application/json"
    )
    return response.status_code, response.json()


def test_the_preview_counts_samples_and_diffs_against_the_saved_rules(admin_client, store):
    saved = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    silver_too = {**GOLD, "children": [{"type": "loyalty", "op": "in", "value": ["gold", "silver"]}]}

    status, body = preview(admin_client, store=store.pk, segment=saved.pk, rules=silver_too)

    assert status == 200
    assert body["count"] == 3
    assert body["diff"] == {"added": 1, "removed": 0}
    assert [row["name"] for row in body["sample"]] == ["C3", "C1", "C0"]
    assert body["summary"] == "Customers who have a loyalty status that is one of “gold”, “silver”."


def test_the_preview_places_errors_at_their_node(admin_client, store):
    rules = {**EMPTY, "children": [{"type": "event", "event": "cart_updated", "window": {"last": -1}}]}
    status, body = preview(admin_client, store=store.pk, rules=rules)
    assert status == 200
    assert body["count"] is None
    assert body["errors"] == [{"path": "children[0].window.last", "message": "must be at least 1"}]


def test_the_preview_counts_events_relative_to_now(admin_client, store, frozen_now):
    customer = Customer.objects.filter(store=store).first()
    now = frozen_now
    Event.objects.create(
        store=store,
        customer=customer,
        type="cart_updated",
        occurred_at=now - timedelta(hours=1),
        received_at=now,
        idempotency_key="e1",
    )
    rules = {
        **EMPTY,
        "children": [{"type": "event", "event": "cart_updated", "window": {"last": 24, "unit": "hours"}}],
    }
    assert preview(admin_client, store=store.pk, rules=rules)[1]["count"] == 1


def test_saving_refuses_a_segment_that_includes_itself(admin_client, store):
    segment = Segment.objects.create(store=store, name="Loop", slug="loop", rules=EMPTY)
    rules = {**EMPTY, "children": [{"type": "segment", "segment": segment.pk}]}
    response = admin_client.post(
        f"/admin/customers/segment/{segment.pk}/change/",
        {"store": store.pk, "name": "Loop", "slug": "loop", "description": "", "rules": json.dumps(rules)},
    )
    assert response.status_code == 200
    assert f"children[0].segment: refers back to this segment: {segment.pk}" in response.content.decode()
    segment.refresh_from_db()
    assert segment.rules == EMPTY


def test_the_list_shows_each_segments_member_count_in_one_query(
    admin_client, store, django_assert_max_num_queries
):
    Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    Segment.objects.create(
        store=store, name="Broken", slug="broken", rules={**EMPTY, "children": [{"type": "x"}]}
    )
    response = admin_client.get("/admin/customers/segment/")
    cells = [c.strip() for c in response.content.decode().split('class="field-members">')[1:]]
    broken, gold = (c.split("<")[0] for c in cells)
    assert broken.startswith("Cannot be counted (children[0].type: unknown type")
    assert gold == "2 customers · 0 reachable by SMS"


def test_it_installs_presets_from_the_admin(admin_client, store):
    page = admin_client.get("/admin/customers/segment/install-presets/").content.decode()
    response = admin_client.post("/admin/customers/segment/install-presets/", {"store": [store.pk]})
    assert "Offer-sensitive" in page
    assert response.status_code == 302
    assert Segment.objects.filter(store=store).exclude(preset="").count() == len(PRESETS)


def test_it_copies_segments_as_editable_copies(admin_client, store):
    Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD, preset="")
    original = Segment.objects.get(slug="gold")
    admin_client.post(
        "/admin/customers/segment/", {"action": "duplicate", "_selected_action": [original.pk, original.pk]}
    )
    admin_client.post("/admin/customers/segment/", {"action": "duplicate", "_selected_action": [original.pk]})
    assert sorted(Segment.objects.values_list("slug", flat=True)) == ["gold", "gold-copy", "gold-copy-2"]


def test_a_store_owner_sees_only_their_stores_segments(client, django_user_model, store):
    other = Store.objects.create(slug="other", brand_name="Other", site_url="https://o.example.com")
    Segment.objects.create(store=store, name="Mine", slug="mine", rules=EMPTY)
    theirs = Segment.objects.create(store=other, name="Theirs", slug="theirs", rules=EMPTY)
    owners = Group.objects.get_or_create(name="Store owner")[0]
    owners.permissions.set(Permission.objects.filter(codename__endswith="_segment"))
    owner = django_user_model.objects.create_user("owner", password="pw-123456789", is_staff=True)
    owner.groups.add(owners)
    store.owners.add(owner)
    client.force_login(owner)

    listing = client.get("/admin/customers/segment/").content.decode()
    add_form = client.get("/admin/customers/segment/add/").content.decode()

    assert "Mine" in listing and "Theirs" not in listing
    assert client.get(f"/admin/customers/segment/{theirs.pk}/change/").status_code == 302
    assert preview(client, store=other.pk, rules=EMPTY)[0] == 400
    assert "Other" not in add_form


def test_marketing_staff_see_every_store(client, django_user_model, store):
    other = Store.objects.create(slug="other", brand_name="Other", site_url="https://o.example.com")
    Segment.objects.create(store=other, name="Theirs", slug="theirs", rules=EMPTY)
    staff = Group.objects.get_or_create(name="Marketing staff")[0]
    staff.permissions.set(Permission.objects.filter(codename__endswith="_segment"))
    user = django_user_model.objects.create_user("marketer", password="pw-123456789", is_staff=True)
    user.groups.add(staff)
    client.force_login(user)
    assert "Theirs" in client.get("/admin/customers/segment/").content.decode()


def test_counts_say_how_many_customers_and_how_many_are_reachable_by_sms(admin_client, store):
    Customer.objects.filter(store=store, first_name="C0").update(sms_consent=Customer.Consent.SUBSCRIBED)
    Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)

    status, body = preview(admin_client, store=store.pk, rules=GOLD)
    assert status == 200 and (body["count"], body["reachable"]) == (2, 1)

    listed = admin_client.get("/admin/customers/segment/").content.decode()
    assert "2 customers · 1 reachable by SMS" in listed
