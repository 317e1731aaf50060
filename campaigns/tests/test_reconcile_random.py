"""On random histories (texts of flows, of a campaign, of no source left, replies; any status; taps,
orders, opt-outs at any time), the dashboard's totals are the catalogue's SQL and the sum of the rows
shown, and its daily series add up to the same totals."""

from __future__ import annotations

import itertools
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.models import Campaign, Flow, FlowStep, Message, MessageTemplate
from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.metrics import CATALOGUE, COUNTED, catalogue_figures, store_figures
from campaigns.reports.tables import Range, daily_series, sources_table
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tests.history import click, opt_out, order, text
from campaigns.tests.inbound_helpers import everyone
from customers.tests.hostile import FUZZ

ADDITIVE = ["sent", "delivered", "failed", "clicks", "clicked", "opt_outs", "orders", "revenue", "segments"]
ADDITIVE += ["cost"]
SOURCES = ["flow a", "flow b", "campaign", "no source", "reply"]
STATUSES = ["delivered", "failed", "undelivered", "sent"]
_stores = itertools.count()

TEXTS = st.lists(
    st.fixed_dictionaries(
        {
            "customer": st.integers(0, 3),
            "source": st.sampled_from(SOURCES),
            "status": st.sampled_from(STATUSES),
            "hours": st.integers(0, 24 * 40),
            "segments": st.integers(1, 3),
            "taps": st.lists(st.integers(0, 48), max_size=2),
            "order": st.none() | st.tuples(st.integers(0, 24 * 8), st.decimals("1", "200", places=2)),
            "opt_out": st.none() | st.integers(0, 24 * 8),
        }
    ),
    max_size=8,
)


def _history(texts: list[dict]):
    store = make_store(f"random-{next(_stores)}")
    flows = [
        Flow.objects.create(store=store, name=f"Flow {n}", slug=f"flow-{n}", event_type="cart_updated")
        for n in "ab"
    ]
    steps = {
        f"flow {n}": FlowStep.objects.create(flow=f, position=1, body="x")
        for n, f in zip("ab", flows, strict=True)
    }
    template = MessageTemplate.objects.create(store=store, name="Sale", body="Sale today")
    campaign = Campaign.objects.create(
        store=store, name="Sale", slug="sale", template=template, segment=everyone(store),
        send_at=T0, status=Campaign.Status.DONE,
    )  # fmt: skip
    people = [make_customer(store) for _ in range(4)]
    for drawn in texts:
        at = T0 + timedelta(hours=drawn["hours"])
        fields = {"segments": drawn["segments"]}
        if drawn["source"] in steps:
            fields["flow_step"] = steps[drawn["source"]]
        elif drawn["source"] == "campaign":
            fields["campaign"] = campaign
        elif drawn["source"] == "reply":
            fields["kind"] = Message.Kind.REPLY
        customer = people[drawn["customer"]]
        message = text(customer, at, status=drawn["status"], **fields)
        if drawn["status"] in ("delivered", "sent"):
            for hours in drawn["taps"]:
                click(message, at + timedelta(hours=hours))
        if drawn["order"]:
            hours, total = drawn["order"]
            order(customer, at + timedelta(hours=hours), str(total))
        if drawn["opt_out"] is not None:
            opt_out(customer, at + timedelta(hours=drawn["opt_out"]))
    end = T0 + timedelta(days=50)
    attributions_refresh(now=end, store_ids=[store.pk])
    opt_outs_attribute(now=end, store_ids=[store.pk])
    return store, end


@pytest.mark.django_db
@FUZZ
@given(texts=TEXTS, days=st.sampled_from([7, 30, 90]))
def test_random_histories_reconcile(texts, days):
    store, end = _history(texts)
    rng = Range(start=end - timedelta(days=days), end=end, tz=ZoneInfo(store.default_timezone))
    total = store_figures(store, start=rng.start, end=rng.end)
    by_sql = catalogue_figures(store, start=rng.start, end=rng.end)
    assert {key: total.value(key) for key in COUNTED} == by_sql
    table = sources_table(store, rng)
    columns = [c.label for c in table.columns]
    for key in ADDITIVE:
        at = columns.index(CATALOGUE[key].label)
        assert sum(row[at] for row in table.rows) == table.total[at], key
        assert table.total[at] == total.value(key), key
    series = daily_series(store, rng, ADDITIVE)
    for key in ADDITIVE:
        assert sum(series[key]) == total.value(key), key
