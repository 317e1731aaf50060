from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import Attribution, OptOutAttribution
from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tests.history import click, opt_out, order, text


@pytest.fixture
def store(db):
    return make_store()


def credited(order_event):
    found = Attribution.objects.filter(order=order_event).first()
    return (found.message_id, found.touch, found.revenue) if found else None


def test_it_credits_a_click_within_five_days(store):
    ana = make_customer(store)
    message = text(ana, T0)
    click(message, T0 + timedelta(hours=1))
    placed = order(ana, T0 + timedelta(days=4, hours=23), "42.50")

    attributions_refresh(now=T0 + timedelta(days=5))

    assert credited(placed) == (message.pk, "click", Decimal("42.50"))


def test_it_ignores_a_click_older_than_the_window(store):
    ana = make_customer(store)
    message = text(ana, T0)
    click(message, T0)
    placed = order(ana, T0 + timedelta(days=5, minutes=1), "10")

    attributions_refresh(now=T0 + timedelta(days=6))

    assert credited(placed) is None


def test_a_delivery_counts_within_24_hours_only(store):
    ana, ben = make_customer(store), make_customer(store)
    to_ana, _ = text(ana, T0), text(ben, T0)
    inside = order(ana, T0 + timedelta(hours=23), "20")
    outside = order(ben, T0 + timedelta(hours=25), "20")

    attributions_refresh(now=T0 + timedelta(days=2))

    assert credited(inside) == (to_ana.pk, "delivery", Decimal("20.00"))
    assert credited(outside) is None


def test_the_last_touch_wins(store):
    ana = make_customer(store)
    first = text(ana, T0)
    click(first, T0 + timedelta(hours=1))
    second = text(ana, T0 + timedelta(days=2))
    placed = order(ana, T0 + timedelta(days=2, hours=3), "30")

    attributions_refresh(now=T0 + timedelta(days=3))

    assert credited(placed) == (second.pk, "delivery", Decimal("30.00"))


def test_windows_are_the_stores(store):
    store.attribution_delivery_hours = 48
    store.save()
    ana = make_customer(store)
    message = text(ana, T0)
    placed = order(ana, T0 + timedelta(hours=40), "5")

    attributions_refresh(now=T0 + timedelta(days=3))

    assert credited(placed)[0] == message.pk


def test_each_order_is_credited_once(store):
    ana = make_customer(store)
    click(text(ana, T0), T0)
    order(ana, T0 + timedelta(hours=2), "12")

    assert attributions_refresh(now=T0 + timedelta(days=1)) == 1
    assert attributions_refresh(now=T0 + timedelta(days=1)) == 0
    assert Attribution.objects.count() == 1


def test_an_opt_out_is_tied_to_the_last_text_within_7_days(store):
    ana, ben = make_customer(store), make_customer(store)
    text(ana, T0)
    last = text(ana, T0 + timedelta(days=1))
    text(ben, T0)
    opt_out(ana, T0 + timedelta(days=2))
    opt_out(ben, T0 + timedelta(days=8))

    assert opt_outs_attribute(now=T0 + timedelta(days=8)) == 1
    assert opt_outs_attribute(now=T0 + timedelta(days=8)) == 0

    assert list(OptOutAttribution.objects.values_list("message_id", flat=True)) == [last.pk]
