"""What the segment list and the API show: counts as last taken (members and reachable by SMS) and
when; a live segment counted again when its rules change or its counts are due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from customers.models import Customer, Segment
from customers.segments.counts import counts_shown, live_counts_refresh
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db
GOLD = {"type": "group", "match": "all", "children": [{"type": "loyalty", "op": "eq", "value": "gold"}]}


@pytest.fixture
def store():
    store = store_make("shop")
    for n, (loyalty, consent) in enumerate([("gold", "subscribed"), ("gold", "none"), ("", "subscribed")]):
        Customer.objects.create(store=store, phone=f"+1415555030{n}", timezone="UTC", timezone_source="given",
                                loyalty_status=loyalty, sms_consent=consent)  # fmt: skip
    return store


def test_a_live_segment_shows_members_reachable_and_when_counted(store):
    gold = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    shown = counts_shown([gold], now=NOW)[gold.pk]
    assert (shown.members, shown.reachable, shown.at) == (2, 1, NOW)


def test_it_counts_again_when_the_rules_change_and_not_before(store):
    gold = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    counts_shown([gold], now=NOW)
    Customer.objects.filter(store=store, loyalty_status="").update(loyalty_status="gold")
    later = NOW + timedelta(minutes=1)
    assert counts_shown([Segment.objects.get(pk=gold.pk)], now=later)[gold.pk].members == 2  # as taken
    gold.rules = {**GOLD, "match": "none"}
    gold.save()
    shown = counts_shown([Segment.objects.get(pk=gold.pk)], now=later)[gold.pk]
    assert (shown.members, shown.at) == (0, later)


def test_the_task_counts_again_the_segments_that_are_due(store, settings):
    settings.SEGMENT_COUNTS_EVERY_MINUTES = 5
    gold = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    counts_shown([gold], now=NOW)
    Customer.objects.filter(store=store, loyalty_status="").update(loyalty_status="gold")
    assert live_counts_refresh(now=NOW + timedelta(minutes=4)) == []
    assert live_counts_refresh(now=NOW + timedelta(minutes=5)) == [gold.pk]
    gold.refresh_from_db()
    assert (gold.counted_members, gold.counted_at) == (3, NOW + timedelta(minutes=5))


def test_a_stored_segment_not_refreshed_yet_has_no_counts(client, store):
    stored = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD, stored=True)
    assert counts_shown([stored], now=NOW) == {stored.pk: None}


def test_the_builder_estimates_the_change_from_a_sample_in_a_large_store(store, monkeypatch):
    from customers.segments import preview

    monkeypatch.setattr(preview, "EXACT_UP_TO", 2)
    monkeypatch.setattr(preview, "SAMPLE_SIZE", 2)
    gold = Segment.objects.create(store=store, name="Gold", slug="gold", rules=GOLD)
    everyone = {"type": "group", "match": "all", "children": []}
    shown = preview.preview_counts(store=store, rules=everyone, segment=gold, now=NOW)
    assert shown.count == 3 and shown.estimate is None  # counted exactly within the budget
    assert shown.diff["estimated"] and shown.diff["removed"] == 0
    assert shown.diff["added"] in (0, 2)  # one sampled customer of two stands for 1.5
    assert len(preview.sample_ids(store, 2)) == 2


def test_the_builder_says_reach_is_an_estimate_when_only_the_count_is_exact(store, monkeypatch):
    from customers.admin.segments import preview as builder_preview
    from customers.segments import preview

    monkeypatch.setattr(preview, "EXACT_UP_TO", 2)
    monkeypatch.setattr(preview, "REACH_EXACT_UP_TO", 1)
    shown = preview.preview_counts(store=store, rules=GOLD, segment=None, now=NOW)
    assert (shown.count, shown.estimate) == (2, None)  # the count exact
    assert shown.reachable == 1 and shown.reachable_estimated  # one of the two gold ones, sampled
    body = builder_preview(store=store, rules=GOLD, segment=None, now=NOW)
    assert (body["count"], body["reachable"], body["reachable_estimated"]) == (2, 1, True)
    monkeypatch.setattr(preview, "REACH_EXACT_UP_TO", 2)
    assert not preview.preview_counts(store=store, rules=GOLD, segment=None, now=NOW).reachable_estimated


def test_a_count_over_the_budget_gives_way_and_the_previews_limits_end_with_it(store, monkeypatch):
    """On PostgreSQL the large-store preview counts without JIT and within a time limit: a count that
    runs over it is cancelled (then estimated), and neither setting outlives the preview in the
    transaction around it."""
    from django.db import connection

    from customers.segments import preview

    if connection.vendor != "postgresql":
        pytest.skip("statement time limits and JIT are PostgreSQL's")

    def shown() -> tuple[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout'), current_setting('jit')")
            return cursor.fetchone()

    before = shown()

    def endless() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM generate_series(1, 1000000000)")
            return cursor.fetchone()[0]

    monkeypatch.setattr(preview, "EXACT_BUDGET_MS", 20)
    with preview._lean():
        assert shown()[1] == "off"
        assert preview._within_budget(endless) is None
        assert preview._within_budget(lambda: Customer.objects.filter(store=store).count()) == 3
        assert shown()[0] == before[0]  # the limit ended with the count it bounded
    assert shown() == before
    monkeypatch.setattr(preview, "EXACT_UP_TO", 2)
    assert preview.preview_counts(store=store, rules=GOLD, segment=None, now=NOW).count == 2
    assert shown() == before


def test_a_large_stores_examples_are_its_newest_members_then_the_samples(store, monkeypatch):
    """The sample and the newest customers are evaluated together: the examples are the newest
    members first, then members of the sample, the same as evaluating each alone."""
    from customers.segments import preview

    for n in range(4):
        Customer.objects.create(store=store, phone=f"+1415555031{n}", timezone="UTC", timezone_source="given",
                                loyalty_status="gold" if n % 2 else "")  # fmt: skip
    monkeypatch.setattr(preview, "EXACT_UP_TO", 2)
    monkeypatch.setattr(preview, "EXACT_BUDGET_MS", 0)  # no limit: the count stays exact
    monkeypatch.setattr(preview, "NEWEST", 2)
    monkeypatch.setattr(preview, "SHOWN", 3)
    gold = list(
        Customer.objects.filter(store=store, loyalty_status="gold")
        .order_by("-pk")
        .values_list("pk", flat=True)
    )
    monkeypatch.setattr(preview, "sample_ids", lambda store, size, total=None: gold[1:] + [gold[0] + 1000])
    shown = preview.preview_counts(store=store, rules=GOLD, segment=None, now=NOW)
    assert shown.count == 4
    newest_gold = gold[0]  # of the newest two customers, one is gold
    assert [c.pk for c in shown.sample] == [newest_gold]  # exact throughout: no sample was read
    monkeypatch.setattr(preview, "REACH_EXACT_UP_TO", 1)  # reach from the sample, and its members shown
    assert [c.pk for c in preview.preview_counts(store=store, rules=GOLD, segment=None, now=NOW).sample] == [
        newest_gold,
        *gold[1:3],
    ]
