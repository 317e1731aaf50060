from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Flow, FlowStep
from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.metrics import figures, messages_in
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tests.history import click, opt_out, order, text


@pytest.fixture
def history(db):
    """Step 1 of a flow: 4 texts (3 delivered, 1 failed); 2 clicks, 1 order of 50, 1 opt-out.
    Step 2: 2 delivered, one order of 30 by delivery."""
    store = make_store()
    flow = Flow.objects.create(store=store, name="Cart", slug="cart", event_type="cart_updated")
    one = FlowStep.objects.create(flow=flow, position=1, body="a")
    two = FlowStep.objects.create(flow=flow, position=2, body="b")
    people = [make_customer(store) for _ in range(4)]
    sent = [text(c, T0, flow_step=one, segments=2) for c in people[:3]]
    text(people[3], T0, status="failed", flow_step=one)
    click(sent[0], T0 + timedelta(hours=1))
    click(sent[0], T0 + timedelta(hours=2))
    click(sent[1], T0 + timedelta(hours=1))
    order(people[0], T0 + timedelta(days=1), "50")
    opt_out(people[2], T0 + timedelta(hours=5))
    text(people[0], T0 + timedelta(days=3), flow_step=two)
    text(people[1], T0 + timedelta(days=3), flow_step=two)
    order(people[1], T0 + timedelta(days=3, hours=2), "30")
    attributions_refresh(now=T0 + timedelta(days=4))
    opt_outs_attribute(now=T0 + timedelta(days=4))
    return store, flow, one, two


def test_step_figures_add_up(history):
    store, flow, one, two = history

    rows = figures(messages_in(store_ids=[store.pk]), by="step")

    first, second = rows[(one.pk,)], rows[(two.pk,)]
    assert (first.sent, first.delivered, first.failed, first.clicked) == (3, 3, 1, 2)
    assert (first.opt_outs, first.orders, first.revenue) == (1, 1, Decimal("50"))
    assert first.ctr == pytest.approx(2 / 3)
    assert first.opt_out_rate == pytest.approx(1 / 3)
    assert first.revenue_per_recipient == Decimal("16.67")
    assert first.segments == 6
    assert first.cost == Decimal("0.0498")  # 6 segments at 0.0083, to the price's precision
    assert (second.sent, second.orders, second.revenue, second.clicked) == (2, 1, Decimal("30"), 0)


def test_flow_figures_and_the_date_range(history):
    store, flow, one, two = history

    whole = figures(messages_in(store_ids=[store.pk]), by="flow")[(flow.pk,)]
    later = figures(messages_in(store_ids=[store.pk], start=T0 + timedelta(days=1)), by="flow")[(flow.pk,)]

    assert (whole.sent, whole.recipients, whole.orders, whole.revenue) == (5, 3, 2, Decimal("80"))
    assert (later.sent, later.orders, later.revenue, later.opt_outs) == (2, 1, Decimal("30"), 0)


def test_it_takes_four_queries_whatever_the_volume(history):
    store, *_ = history
    with CaptureQueriesContext(connection) as queries:
        figures(messages_in(store_ids=[store.pk]), by="step")
    assert len(queries) == 4  # texts, taps, opt-outs, orders
