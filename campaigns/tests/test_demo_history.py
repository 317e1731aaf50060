"""The demo store's past is the engine's: caps, windows and consent held for every text, and the
dashboard's figures reconcile with the catalogue's SQL and with their rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.demo.history import demo_history_play
from campaigns.flows.diagram import flow_diagram
from campaigns.models import Experiment, Flow, GuardrailDecision, Message
from campaigns.reports.decisions import experiment_evaluate, variant_figures
from campaigns.reports.metrics import CATALOGUE, COUNTED, catalogue_figures, store_figures
from campaigns.reports.tables import Range, daily_series, sources_table
from customers.demo import Timeline, demo_load, demo_store_delete
from customers.models import ConsentRecord

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        summary = demo_load(now=NOW, customers=300, seed=7)
        yield summary
        demo_store_delete(summary.store)  # outside the tests' transactions: leave no store behind


@pytest.mark.django_db
def test_the_weeks_are_played_by_the_engine_with_a_decided_experiment(demo):
    store = demo.store
    cart = Flow.objects.get(store=store, slug="cart-recovery")
    assert Message.objects.filter(flow_step__flow=cart, status="delivered").count() > 100
    bodies = set(Message.objects.filter(flow_step__flow=cart).values_list("flow_step__position", "body"))
    assert len({position for position, _ in bodies}) >= 2  # each step its own copy
    experiment = Experiment.objects.get(store=store)
    # Decided by the decision stage as the texts went: once finished, nothing is left to decide;
    # still running, the evidence at the end is not yet enough for it either.
    if experiment.status == Experiment.Status.FINISHED:
        assert experiment.decisions.exists() and experiment.conclusion
    else:
        assert experiment_evaluate(experiment=experiment, now=NOW) == []
    assert variant_figures(experiment)["A"].delivered and variant_figures(experiment)["B"].delivered
    assert any("played forward by the engine" in line for line in demo.lines())
    again = demo_history_play(store=store, now=NOW, timeline=Timeline(store, NOW, [], []))
    assert again.texts == 0


@pytest.mark.django_db
def test_no_past_text_broke_the_rules_the_store_shows(demo):
    """Each text that went out, checked against the store's rules at its own time."""
    store = demo.store
    went = list(
        Message.objects.filter(store=store, kind="marketing", status__in=Message.ACCEPTED)
        .select_related("customer")
        .order_by("customer_id", "sent_at")
    )
    assert went
    opted_out = {}
    for record in ConsentRecord.objects.filter(store=store, action="opt_out").order_by("occurred_at"):
        opted_out.setdefault(record.customer_id, record.occurred_at)
    for message in went:
        local = message.sent_at.astimezone(ZoneInfo(message.customer.timezone)).time()
        assert store.send_window_start <= local < store.send_window_end, message.pk
        assert message.customer_id not in opted_out or message.sent_at < opted_out[message.customer_id]
        refused = GuardrailDecision.objects.filter(message=message, outcome="suppress")
        assert not refused.exists()
    week = timedelta(days=7)
    for i, message in enumerate(went):
        same = [m for m in went[max(0, i - 20) : i] if m.customer_id == message.customer_id]
        runs = {m.flow_run_id for m in same if message.sent_at - m.sent_at < week} | {message.flow_run_id}
        # A flow run is one conversation: the week's cap counts conversations, not their steps.
        assert len(runs) <= store.cap_per_week, message.pk


@pytest.mark.django_db
def test_the_dashboard_totals_are_the_catalogue_sql_and_the_sum_of_their_rows(demo):
    store = demo.store
    rng = Range(start=NOW - timedelta(days=30), end=NOW, tz=ZoneInfo(store.default_timezone))
    total = store_figures(store, start=rng.start, end=rng.end)
    by_sql = catalogue_figures(store, start=rng.start, end=rng.end)
    assert {key: total.value(key) for key in COUNTED} == by_sql
    table = sources_table(store, rng)
    additive = ["sent", "delivered", "failed", "clicks", "clicked", "opt_outs", "orders", "revenue"]
    additive += ["segments", "cost"]
    columns = [c.label for c in table.columns]
    for key in additive:
        at = columns.index(CATALOGUE[key].label)
        assert sum(row[at] for row in table.rows) == table.total[at], key
    series = daily_series(store, rng, additive)
    for key in additive:
        assert sum(series[key]) == total.value(key), key


@pytest.mark.django_db
def test_each_diagram_step_accounts_for_everyone_who_entered_it(demo):
    """entered = sent + held + suppressed + ... + exited + waiting, every part named on the step."""
    for flow in Flow.objects.filter(store=demo.store, status=Flow.Status.LIVE):
        for node in flow_diagram(flow)["nodes"]:
            labels = [label for _, label in node.parts]
            assert sum(n for n, _ in node.parts) == node.entered, (flow.slug, node.step.position)
            assert "texts no longer stored" not in labels
            if node.step.kind == "send":
                accepted = Message.objects.filter(flow_step=node.step, status__in=Message.ACCEPTED).count()
                assert dict((label, n) for n, label in node.parts).get("sent", 0) == accepted
