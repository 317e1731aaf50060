"""A flow batch hands the guardrails what it has read: its texts are decided without reading the
stores, state rules, steps or customers again, and an empty release or due pass reads once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.flows.advance import runs_advance_due
from campaigns.flows.event_triggers import events_check
from campaigns.flows.recipes import recipe_install
from campaigns.models import Message
from campaigns.sending.queue import messages_due, messages_release_held
from campaigns.tests.flowkit import T0, make_customer, make_store, record

pytestmark = pytest.mark.django_db


def reads(queries, table: str) -> int:
    return sum(1 for q in queries if re.search(rf'\bFROM "{table}"', q["sql"]))


def test_a_flow_batch_reads_rules_steps_stores_and_customers_once():
    store = make_store()
    recipe_install(store=store, name="cart_recovery", live=True)
    customers = [make_customer(store) for _ in range(3)]
    for i, customer in enumerate(customers):
        event = record(customer, "cart_updated", T0, cart_id=f"c{i}", cart_url="https://shop.example.com/c")
        events_check(store_id=store.id, event_ids=[event.id], now=T0)

    with CaptureQueriesContext(connection) as captured:
        runs, created = runs_advance_due(now=T0 + timedelta(minutes=60))

    assert (runs, created) == (3, 3)
    queries = captured.captured_queries
    assert reads(queries, "campaigns_quiethoursrule") == 1
    assert reads(queries, "campaigns_flowstep") == 1
    assert reads(queries, "customers_store") == 0  # read with the flows: rendering and guardrails reuse it
    assert reads(queries, "customers_customer") == 0  # joined to the claimed runs
    texts = Message.objects.filter(customer__in=customers)
    assert {t.status for t in texts} == {Message.Status.QUEUED}


def test_a_pass_with_nothing_held_or_due_is_one_query_each():
    make_store()
    with CaptureQueriesContext(connection) as captured:
        assert messages_release_held(now=T0) == 0
        assert messages_due(now=T0) == []
    assert len(captured.captured_queries) == 2
