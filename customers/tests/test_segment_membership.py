"""Stored segments: membership rows refreshed by the scheduled task, read by counts and member pages,
never by sends."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time as clock
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection

from customers.admin.store_time import store_zone
from customers.models import ApiKey, Customer, Segment, SegmentMember, Store
from customers.segments import members, members_count, membership
from customers.segments.membership import id_ranges, segment_refresh, segments_refresh
from customers.segments.presets import STORED_PRESETS, presets_install
from customers.tasks import segments_refresh_task

NOW = datetime(2026, 11, 26, 10, 42, tzinfo=UTC)
KEY = "sk_test_membership_0123456789"
GOLD = {"type": "group", "match": "all", "children": [{"type": "loyalty", "op": "eq", "value": "gold"}]}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(db):
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    for n, loyalty in enumerate(["gold", "gold", "", "silver"]):
        Customer.objects.create(
            store=store,
            phone=f"+1415555010{n}",
            external_id=f"c{n}",
            timezone="UTC",
            timezone_source="given",
            loyalty_status=loyalty,
        )
    ApiKey.objects.create(
        store=store, name="test", prefix=KEY[:8], key_hash=hashlib.sha256(KEY.encode()).hexdigest()
    )
    return store


@pytest.fixture
def gold(store):
    return Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD, stored=True)


def rows(segment: Segment) -> list[int]:
    return sorted(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))


def live_ids(segment: Segment, now: datetime) -> list[int]:
    return sorted(members(segment, now=now).values_list("pk", flat=True))


def test_the_task_stores_each_stored_segments_members(store, gold, frozen_now):
    live = Segment.objects.create(store=store, name="Live", slug="live", rules=GOLD)
    report = segments_refresh_task()
    gold.refresh_from_db()
    assert report["refreshed"] == [gold.pk] and report["failed"] == {}
    assert rows(gold) == live_ids(gold, frozen_now) and len(rows(gold)) == 2
    assert gold.refreshed_at is not None
    assert rows(live) == []


def test_a_refresh_replaces_the_rows_with_the_members_at_its_now(store, gold):
    segments_refresh(now=NOW)
    Customer.objects.filter(store=store, external_id="c0").update(loyalty_status="")
    Customer.objects.filter(store=store, external_id="c2").update(loyalty_status="gold")
    assert segment_refresh(segment=gold, now=NOW + timedelta(minutes=10))
    gold.refresh_from_db()
    assert (
        rows(gold)
        == live_ids(gold, NOW)
        == sorted(Customer.objects.filter(external_id__in=["c1", "c2"]).values_list("pk", flat=True))
    )
    assert gold.refreshed_at == NOW + timedelta(minutes=10)
    assert gold.refreshed_count == 2


def test_it_is_idempotent_and_never_goes_back_in_time(store, gold):
    assert segment_refresh(segment=gold, now=NOW)
    before = rows(gold)
    Customer.objects.filter(store=store, external_id="c2").update(loyalty_status="gold")
    assert not segment_refresh(segment=gold, now=NOW)
    assert not segment_refresh(segment=gold, now=NOW - timedelta(minutes=5))
    gold.refresh_from_db()
    assert rows(gold) == before and gold.refreshed_at == NOW


def test_a_segment_another_worker_is_refreshing_is_skipped(store, gold):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serializes writers itself")
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"], port=s["PORT"], user=s["USER"], password=s["PASSWORD"], dbname=s["NAME"]
    ) as other:
        other.execute("SELECT pg_advisory_lock(7311, %s)", [gold.pk])
        assert segments_refresh(now=NOW).skipped == [gold.pk]
    assert rows(gold) == []
    assert segments_refresh(now=NOW).refreshed == [gold.pk]


def test_a_failing_segment_is_recorded_and_the_others_still_refresh(store, gold, admin_client):
    gone = Segment.objects.create(store=store, name="Gone", slug="gone", rules=GOLD)
    gone_id = gone.pk
    broken = Segment.objects.create(
        store=store,
        name="Broken",
        slug="broken",
        stored=True,
        rules={"type": "group", "match": "all", "children": [{"type": "segment", "segment": gone.pk}]},
    )
    gone.delete()
    report = segments_refresh(now=NOW)
    broken.refresh_from_db()
    assert report.refreshed == [gold.pk]
    assert report.failed == {broken.pk: broken.refresh_error}
    assert broken.refresh_error == f"segment: no segment {gone_id} in this store"
    assert broken.refresh_failed_at == NOW and broken.refreshed_at is None
    page = admin_client.get("/admin/customers/segment/").content.decode()
    # Staff pages show the store's time with its abbreviation.
    failed_at = NOW.astimezone(store_zone(store))
    assert f"not refreshed yet · last refresh failed at {failed_at:%H:%M %Z}" in page
    assert "no segment" in page


def test_the_api_says_when_and_why_a_stored_segments_latest_refresh_failed(store, gold, client):
    segments_refresh(now=NOW)
    later = NOW + timedelta(minutes=10)
    Segment.objects.filter(pk=gold.pk).update(
        rules={"type": "group", "match": "all", "children": [{"type": "segment", "segment": 999_999}]}
    )
    segments_refresh(now=later)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {KEY}"}
    [listed] = client.get("/api/v1/segments/", **auth).json()["segments"]
    assert (listed["count"], listed["as_of"]) == (2, NOW.isoformat())
    assert listed["refresh_failed"] == {
        "at": later.isoformat(),
        "error": "segment: no segment 999999 in this store",
    }


def test_the_admin_list_shows_the_stored_count_as_of_the_refresh_and_counts_live_on_click(
    store, gold, admin_client
):
    segments_refresh(now=NOW)
    Customer.objects.filter(store=store, external_id="c2").update(loyalty_status="gold")
    page = admin_client.get("/admin/customers/segment/").content.decode()
    as_of = f"{NOW.astimezone(store_zone(store)):%H:%M %Z}"
    assert f"2 customers · 0 reachable by SMS<br><small>as of {as_of}" in page
    link = f"/admin/customers/segment/{gold.pk}/live-count/"
    assert link in page
    response = admin_client.get(link, follow=True)
    assert "Gold: 3 members now" in response.content.decode()
    assert rows(gold) != live_ids(gold, NOW)  # counting live stores nothing


def test_the_change_page_shows_the_membership(store, gold, admin_client):
    segments_refresh(now=NOW)
    page = admin_client.get(f"/admin/customers/segment/{gold.pk}/change/").content.decode()
    as_of = f"{NOW.astimezone(store_zone(store)):%H:%M %Z}"
    assert f"2 customers · 0 reachable by SMS<br><small>as of {as_of}" in page


def test_the_api_reads_the_rows_and_says_as_of_when(store, gold, client):
    segments_refresh(now=NOW)
    Customer.objects.filter(store=store, external_id="c2").update(loyalty_status="gold")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {KEY}"}
    [listed] = client.get("/api/v1/segments/", **auth).json()["segments"]
    assert (listed["count"], listed["as_of"], listed["refresh_failed"]) == (2, NOW.isoformat(), None)
    body = client.get(f"/api/v1/segments/{gold.pk}/members", **auth).json()
    assert body["count"] == 2 and body["as_of"] == NOW.isoformat()
    assert sorted(c["external_id"] for c in body["results"]) == ["c0", "c1"]


def test_sends_read_the_live_rules_not_the_rows(store, gold):
    segments_refresh(now=NOW)
    Customer.objects.filter(store=store, external_id="c0").update(loyalty_status="")
    assert [c.external_id for c in members(gold, now=NOW)] == ["c1"]
    assert members_count(gold, now=NOW) == 1


def test_heavy_presets_are_installed_as_stored_segments(store):
    installed = presets_install(store=store)
    assert {s.preset for s in installed if s.stored} == STORED_PRESETS


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_refreshes_a_stored_segment(store, gold):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): qcluster runs in another process")
    from django_q.tasks import async_task

    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
        "Q_SYNC": "false",
        "Q_WORKERS": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async_task("customers.tasks.segments_refresh_task", sync=False)
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline and not SegmentMember.objects.filter(segment=gold).exists():
            clock.sleep(0.2)  # waiting on another process, not on the app's clock
    finally:
        worker.send_signal(signal.SIGTERM)  # one SIGTERM: two can deadlock qcluster's shutdown
        worker.wait(timeout=30)
    gold.refresh_from_db()
    assert len(rows(gold)) == 2 and gold.refreshed_at is not None


def test_a_store_owner_cannot_count_another_stores_segment(client, django_user_model, store, gold):
    other = Store.objects.create(slug="other", brand_name="Other", site_url="https://o.example.com")
    owners = Group.objects.get_or_create(name="Store owner")[0]
    owners.permissions.set(Permission.objects.filter(codename__endswith="_segment"))
    owner = django_user_model.objects.create_user("owner", password="pw-123456789", is_staff=True)
    owner.groups.add(owners)
    other.owners.add(owner)
    client.force_login(owner)
    assert client.get(f"/admin/customers/segment/{gold.pk}/live-count/").status_code == 404
    assert client.get("/admin/customers/segment/0/live-count/").status_code == 404


def test_ranges_of_ids_cover_the_bounds_without_gaps(store):
    ids = sorted(Customer.objects.filter(store=store).values_list("pk", flat=True))
    assert id_ranges(store.pk, 2) == [(None, ids[1]), (ids[1] + 1, ids[3]), (ids[3] + 1, None)]
    assert id_ranges(store.pk, 2, low=ids[1], high=ids[3]) == [(ids[1], ids[2]), (ids[2] + 1, ids[3])]
    assert id_ranges(store.pk, 9, low=ids[1], high=ids[2]) == [(ids[1], ids[2])]


def test_a_rebuild_a_range_at_a_time_equals_the_members_and_a_bounded_one_stays_within(
    store, gold, monkeypatch
):
    monkeypatch.setattr(membership, "RANGE", 1)
    ids = sorted(Customer.objects.filter(store=store).values_list("pk", flat=True))
    membership._rebuild(gold, NOW)
    assert rows(gold) == live_ids(gold, NOW) == ids[:2]
    Customer.objects.filter(pk__in=ids[:2]).update(loyalty_status="")
    Customer.objects.filter(pk__in=ids[2:]).update(loyalty_status="gold")
    membership._rebuild(gold, NOW, low=ids[1], high=ids[2])
    assert rows(gold) == [ids[0], ids[2]]  # the first and the last customers are outside the bounds
