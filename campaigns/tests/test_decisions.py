from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.models import Experiment, ExperimentVariant, FlowStep, Link, Message
from campaigns.reports.attribution import opt_outs_attribute
from campaigns.reports.decisions import experiment_evaluate, plan_steps, two_proportion_test
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tests.test_flow_engine import enrol, make_flow
from campaigns.tick import tick
from customers.models import ConsentRecord


def test_a_small_difference_is_not_significant():
    test = two_proportion_test(120, 1000, 100, 1000)
    assert test.z == pytest.approx(1.4293, abs=1e-3)
    assert test.p == pytest.approx(0.1529, abs=1e-3)
    assert not test.significant
    assert test.low < 0 < test.high


def test_a_large_difference_is_significant_with_its_interval():
    test = two_proportion_test(150, 1000, 100, 1000)
    assert test.z == pytest.approx(3.3806, abs=1e-3)
    assert test.p == pytest.approx(0.000723, abs=1e-4)
    assert test.significant
    assert (test.low, test.high) == pytest.approx((0.0206, 0.0794), abs=1e-3)


BOLD = 'BOLD {{ first_name|default:"friend" }}. Reply STOP to opt out.'


@pytest.fixture
def experiment(db):
    store = make_store()
    flow = make_flow(store)
    step = flow.steps.get(position=1)
    experiment = Experiment.objects.create(
        store=store, name="Welcome copy", flow_step=step, min_recipients=50, started_at=T0
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="Original", is_control=True)
    ExperimentVariant.objects.create(
        experiment=experiment, key="B", name="Bold", body=BOLD
    )
    return experiment


def history(experiment, key, *, delivered, clicked=0, opted_out=0):
    store = experiment.store
    people = [make_customer(store) for _ in range(delivered)]
    messages = Message.objects.bulk_create(
        Message(
            store=store,
            customer=c,
            to=c.phone,
            body="hi",
            status="delivered",
            flow_step=experiment.flow_step,
            variant=experiment.variant_code(key),
            idempotency_key=f"{key}-{c.pk}",
            created_at=T0,
            sent_at=T0,
            delivered_at=T0,
        )
        for c in people
    )
    Link.objects.bulk_create(
        Link(
            store=store,
            customer=m.customer,
            message=m,
            code=f"{key}{m.pk}",
            target_url="https://a.b",
            clicks=1,
        )
        for m in messages[:clicked]
    )
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            store=store, customer=c, action="opt_out", source="keyword", occurred_at=T0 + timedelta(hours=1)
        )
        for c in people[:opted_out]
    )


def test_a_variant_driving_opt_outs_is_stopped_with_its_reason(experiment):
    history(experiment, "A", delivered=200, clicked=20, opted_out=1)
    history(experiment, "B", delivered=200, clicked=40, opted_out=14)
    opt_outs_attribute(now=T0 + timedelta(days=1))

    decisions = experiment_evaluate(experiment=experiment, now=T0 + timedelta(days=1))

    stopped = experiment.variants.get(key="B")
    assert stopped.stopped_at is not None
    assert [d.kind for d in decisions] == ["stopped"]
    assert "opt-out rate 7.00% against the control's 0.50%" in decisions[0].reason
    assert decisions[0].advice.startswith("If opt-outs rise, tighten frequency and reduce overlap")
    # its customers now get the control's text
    enrol(
        experiment.flow_step.flow,
        [make_customer(experiment.store) for _ in range(30)],
        at=T0 + timedelta(days=1),
    )
    tick(now=T0 + timedelta(days=1))
    assert not Message.objects.filter(variant=experiment.variant_code("B"), created_at__gt=T0).exists()


def test_a_winner_is_called_with_enough_recipients_and_applied(experiment):
    history(experiment, "A", delivered=200, clicked=20)
    history(experiment, "B", delivered=200, clicked=50)

    [decision] = experiment_evaluate(experiment=experiment, now=T0 + timedelta(days=2))

    experiment.refresh_from_db()
    assert decision.kind == "winner" and decision.variant.key == "B"
    assert "25.00% against the control's 10.00%" in decision.reason and "95 % CI" in decision.reason
    assert experiment.status == "finished"
    assert FlowStep.objects.get(pk=experiment.flow_step_id).body == BOLD
    assert decision.advice == "Next in the plan: test offer (none vs a controlled offer)."


def test_a_winning_copy_that_would_make_an_unsafe_first_text_is_not_promoted(experiment):
    experiment.variants.filter(key="B").update(body="BOLD {{ first_name }}")
    before = FlowStep.objects.get(pk=experiment.flow_step_id).body
    history(experiment, "A", delivered=200, clicked=20)
    history(experiment, "B", delivered=200, clicked=50)

    [decision] = experiment_evaluate(experiment=experiment, now=T0 + timedelta(days=2))

    assert decision.variant.key == "B"
    assert "Its copy was not promoted into the flow" in decision.reason
    assert "does not say how to opt out" in decision.reason
    assert "first_name can be empty" in decision.reason
    assert FlowStep.objects.get(pk=experiment.flow_step_id).body == before


def test_nothing_is_called_below_the_minimum(experiment):
    history(experiment, "A", delivered=40, clicked=2)
    history(experiment, "B", delivered=40, clicked=30)

    assert experiment_evaluate(experiment=experiment, now=T0) == []


def test_the_plan_names_the_next_lever(experiment):
    plan = plan_steps(store_ids=[experiment.store_id])

    assert [(p.lever, p.state) for p in plan] == [
        ("audience", "next"),
        ("timing", "later"),
        ("copy", "running"),
        ("offer", "later"),
    ]
