from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.demo_history import demo_history_build
from campaigns.flows.going_live import flow_live_problems
from campaigns.models import Attribution, Experiment, Flow, Message, OptOutAttribution
from campaigns.reports.tables import Range, flow_tables
from customers.demo import demo_load
from customers.models import ConsentRecord

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_demo_store_has_past_texts_orders_and_a_decided_experiment():
    summary = demo_load(now=NOW, customers=400, seed=7)

    store = summary.store
    cart = Flow.objects.get(store=store, slug="cart-recovery")
    assert Flow.objects.filter(store=store, slug="back-in-stock", status="live").exists()
    assert Message.objects.filter(flow_step__flow=cart, status="delivered").count() > 300
    assert Attribution.objects.filter(message__flow_step__flow=cart).exists()
    assert OptOutAttribution.objects.filter(store=store).exists()
    experiment = Experiment.objects.get(store=store)
    assert experiment.status == "finished" and "95 % CI" in experiment.conclusion
    assert "not promoted" not in experiment.conclusion
    for flow in Flow.objects.filter(store=store, status="live"):  # the winner promoted, and still safe
        assert flow_live_problems(flow) == [], flow.name
    first = cart.steps.get(position=1).body
    assert "Reply STOP" in first and '{{ first_name|default:"Hi" }}' in first
    assert any("Past texts:" in line for line in summary.lines())
    texted = Message.objects.filter(store=store).values("customer_id")
    opted_out = ConsentRecord.objects.filter(store=store, action="opt_out", customer_id__in=texted).count()
    assert opted_out > 0 and any(f" {opted_out} opt-outs" in line for line in summary.lines())  # each once

    steps = flow_tables(cart, Range(start=datetime(2026, 10, 1, tzinfo=UTC), end=NOW, tz=UTC))[0]
    first = steps.rows[0]
    assert first[6].endswith("%") and first[10] > 0  # CTR and attributed revenue

    again = demo_history_build(store=store, now=NOW)
    assert again.texts == 0
