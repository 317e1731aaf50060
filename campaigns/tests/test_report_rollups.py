"""The reports' daily rollup equals the catalogue: on random histories, and after a tap, a late
receipt, a credited order or an erasure reaches a day already counted."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from campaigns.models import Campaign, Flow, Message, ReportDayCounted, ReportDayMark
from campaigns.privacy import customers_texts_erase
from campaigns.reports.attribution import attributions_refresh
from campaigns.reports.metrics import COUNTED, figures, messages_in, recipients
from campaigns.reports.rollups import closed_days, regroup, store_period
from campaigns.reports.tables import (
    Range,
    campaign_tables,
    daily_series,
    figure_cells,
    flow_tables,
    sources_table,
)
from campaigns.sending.answers import messages_status_apply
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tests.history import click, order, text
from campaigns.tests.test_reconcile_random import ADDITIVE, TEXTS, _history
from customers.tests.hostile import FUZZ

UTC_ZONE = ZoneInfo("UTC")


def _catalogue_by_day(store, rng):
    cohort = messages_in(store_ids=[store.pk], start=rng.start, end=rng.end, marketing_only=False)
    return figures(cohort, by="day", tz=rng.tz)


def _assert_days_exact(store, rng):
    by_day = regroup(replace(rng).period(store).parts, lambda p: (p.day,))
    expected = _catalogue_by_day(store, rng)
    assert set(by_day) == set(expected)
    for key, row in expected.items():
        for name in ADDITIVE:
            assert by_day[key].value(name) == row.value(name), (key, name)


@pytest.mark.django_db
@FUZZ
@given(texts=TEXTS, days=st.sampled_from([7, 30, 90]), late=st.integers(0, 30))
def test_it_equals_the_catalogue_on_random_histories_read_at_any_time(texts, days, late):
    store, end = _history(texts)
    now = end + timedelta(hours=late)
    rng = Range(start=end - timedelta(days=days), end=now, tz=ZoneInfo(store.default_timezone), now=now)
    _assert_days_exact(store, rng)
    _assert_days_exact(store, rng)  # the second read is from the rollup alone
    _assert_recipients_exact(store, rng)
    counted = ReportDayCounted.objects.filter(store=store).exists()
    assert counted or not closed_days(rng.start, now, rng.tz, now)


def _catalogue_whole(cohort):
    return next(iter(figures(cohort, by="store").values()))


def _assert_recipients_exact(store, rng):
    """Every people count the sources table, the flow reports and the campaign report show (their
    recipients and revenue per recipient) is the catalogue's over the texts."""
    cohort = messages_in(store_ids=[store.pk], start=rng.start, end=rng.end, marketing_only=False)
    table = sources_table(store, rng)
    by_source = recipients(cohort, by="source")
    flows = dict(Flow.objects.filter(store=store).values_list("name", "pk"))
    for row in table.rows:
        if row[0] in flows:
            assert row[1] == sum(n for k, n in by_source.items() if k[0] == flows[row[0]]), row[0]
    if Message.objects.filter(cohort).exists():
        whole = _catalogue_whole(cohort)
        assert table.total[1:] == [whole.recipients, *figure_cells(whole)]
    for flow in Flow.objects.filter(store=store):
        own = Q(flow_step__flow=flow) | Q(flow_step__isnull=True, flow_run__flow=flow)
        flow_cohort = messages_in(store_ids=[store.pk], start=rng.start, end=rng.end) & own
        if Message.objects.filter(flow_cohort).exists():
            assert flow_tables(flow, rng)[0].total[2:] == figure_cells(_catalogue_whole(flow_cohort))
    for campaign in Campaign.objects.filter(store=store):
        everything = messages_in(store_ids=[store.pk], campaign=campaign, end=rng.now)
        if Message.objects.filter(everything).exists():
            whole = _catalogue_whole(everything)
            shown = campaign_tables(campaign, now=rng.now)[0].rows[0]
            assert shown == [whole.recipients, *figure_cells(whole)]


def _one_text_counted():
    store = make_store("rolled")
    customer = make_customer(store)
    message = text(customer, T0, status="sent")
    now = T0 + timedelta(days=5)
    rng = Range(start=T0 - timedelta(days=3), end=now, tz=UTC_ZONE, now=now)
    assert regroup(replace(rng).period(store).parts, lambda p: ())[()].sent == 1
    assert ReportDayCounted.objects.filter(store=store, day=T0.date()).exists()
    return store, customer, message, rng


def _total(store, rng, key):
    return regroup(replace(rng).period(store).parts, lambda p: ()).get((), None).value(key)


@pytest.mark.django_db
def test_a_late_receipt_for_a_counted_days_text_marks_its_hour_and_the_next_read_counts_it():
    store, _, message, rng = _one_text_counted()
    assert _total(store, rng, "delivered") == 0
    [moved] = messages_status_apply(answers=[(message, "delivered", "")], now=rng.now - timedelta(hours=1))
    assert moved.status == Message.Status.DELIVERED
    assert list(ReportDayMark.objects.filter(store=store).values_list("hour", flat=True)) == [
        message.created_at.replace(minute=0, second=0, microsecond=0)
    ]
    assert _total(store, rng, "delivered") == 1
    assert not ReportDayMark.objects.filter(store=store).exists()


@pytest.mark.django_db
def test_a_tap_on_a_counted_days_text_marks_it_and_the_next_read_counts_it():
    store, _, message, rng = _one_text_counted()
    click(message, rng.now - timedelta(hours=1))
    assert ReportDayMark.objects.filter(store=store).exists()
    assert _total(store, rng, "clicks") == 1
    assert _total(store, rng, "clicked") == 1
    assert not ReportDayMark.objects.filter(store=store).exists()


@pytest.mark.django_db
def test_a_late_delivery_receipt_moves_the_counted_day():
    store, _, message, rng = _one_text_counted()
    message.transition(target=Message.Status.DELIVERED, now=rng.now - timedelta(hours=2))
    assert _total(store, rng, "delivered") == 1


@pytest.mark.django_db
def test_a_batch_of_late_receipts_moves_the_counted_day():
    store, _, message, rng = _one_text_counted()
    Message.objects.filter(pk=message.pk).transition(
        source=Message.Status.SENT, target=Message.Status.UNDELIVERED, now=rng.now
    )
    assert (_total(store, rng, "delivered"), _total(store, rng, "failed")) == (0, 1)


@pytest.mark.django_db
def test_an_order_credited_after_the_day_was_counted_is_in_the_next_read():
    store, customer, message, rng = _one_text_counted()
    Message.objects.filter(pk=message.pk).update(delivered_at=T0)
    order(customer, T0 + timedelta(hours=2), "42.50")
    attributions_refresh(now=rng.now, store_ids=[store.pk], since=T0)
    assert (_total(store, rng, "orders"), str(_total(store, rng, "revenue"))) == (1, "42.50")


@pytest.mark.django_db
def test_an_erased_customers_texts_leave_the_counted_day():
    store, customer, _, rng = _one_text_counted()
    customers_texts_erase(store=store, customers={customer.pk: customer.phone})
    assert regroup(replace(rng).period(store).parts, lambda p: ()) == {}


@pytest.mark.django_db
def test_a_deleted_customers_texts_leave_the_counted_day():
    store, customer, _, rng = _one_text_counted()
    other = make_customer(store)
    text(other, T0, status="sent")
    ReportDayCounted.objects.filter(store=store).delete()
    assert _total(store, rng, "sent") == 2

    customer.delete()

    assert ReportDayMark.objects.filter(store=store).exists()
    assert _total(store, rng, "sent") == 1


@pytest.mark.django_db
def test_a_marked_day_is_counted_again_and_its_marks_go():
    store, _, message, rng = _one_text_counted()
    counted = ReportDayCounted.objects.get(store=store, day=T0.date()).counted_at
    replace(rng).period(store)
    assert ReportDayCounted.objects.get(store=store, day=T0.date()).counted_at == counted
    ReportDayMark.objects.add_one(store_id=store.pk, created_at=message.created_at, now=rng.now)
    hour = timedelta(hours=1)
    later = Range(start=rng.start, end=rng.end + hour, tz=rng.tz, now=rng.now + hour)
    replace(later).period(store)
    assert ReportDayCounted.objects.get(store=store, day=T0.date()).counted_at == later.now
    assert not ReportDayMark.objects.exists()


@pytest.mark.django_db
def test_the_fresh_days_are_counted_live_and_never_kept():
    store = make_store("fresh")
    text(make_customer(store), T0, status="delivered")
    now = T0 + timedelta(hours=12)
    parts = store_period(store, start=T0 - timedelta(days=7), end=now, tz=UTC_ZONE, now=now).parts
    assert [p.figures.delivered for p in parts] == [1]
    assert not ReportDayCounted.objects.filter(store=store, day=T0.date()).exists()


@pytest.mark.django_db
def test_the_report_pages_equal_the_catalogue_on_the_demo_like_history():
    store = make_store("pages")
    people = [make_customer(store) for _ in range(3)]
    for n in range(9):
        at = T0 + timedelta(hours=9 * n)
        message = text(people[n % 3], at, status="delivered", variant="A" if n % 2 else "B")
        if n % 3 == 0:
            click(message, T0 + timedelta(hours=9 * n + 1))
    now = T0 + timedelta(days=6)
    rng = Range(start=T0 - timedelta(days=1), end=now, tz=UTC_ZONE, now=now)
    series = daily_series(store, rng, COUNTED)
    rolled = daily_series(store, rng, ADDITIVE)
    for key in ADDITIVE:
        assert series[key] == rolled[key], key
    table = sources_table(store, rng)
    assert table.total[1] == 3  # recipients, counted once


@pytest.mark.django_db
def test_the_pages_read_the_rollup_with_as_many_queries_for_many_days_as_for_few():
    def queries(days: int) -> int:
        store = make_store(f"n{days}")
        customer = make_customer(store)
        for n in range(days):
            text(customer, T0 + timedelta(days=n), status="delivered")
        now = T0 + timedelta(days=days + 3)
        rng = Range(start=T0 - timedelta(days=1), end=now, tz=UTC_ZONE, now=now)
        sources_table(store, rng)  # counts the days once
        with CaptureQueriesContext(connection) as captured:
            sources_table(store, rng)
        return len(captured)

    assert queries(2) == queries(12)


@pytest.mark.django_db
def test_the_reports_stage_counts_the_closed_days_ahead_of_the_pages():
    from campaigns.reports.stage import reports_tick

    store = make_store("ticked")
    text(make_customer(store), T0, status="delivered")
    now = T0 + timedelta(days=5)
    assert reports_tick(now=now, store_ids=[store.pk]).days_counted > 0
    assert ReportDayCounted.objects.filter(store=store, day=T0.date()).exists()
    assert reports_tick(now=now, store_ids=[store.pk]).days_counted == 0
