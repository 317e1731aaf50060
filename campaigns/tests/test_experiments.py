from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns.broadcasts.materialize import campaign_recipients
from campaigns.content.checks import text_clean
from campaigns.flows.backtest import flow_backtest
from campaigns.flows.event_triggers import events_check
from campaigns.models import (
    Campaign,
    Experiment,
    ExperimentExposure,
    ExperimentVariant,
    FlowRun,
    FlowStep,
    Message,
    MessageTemplate,
)
from campaigns.reports import experiments
from campaigns.tests.flowkit import T0, make_customer, make_store, record
from campaigns.tests.test_flow_engine import enrol, make_flow
from campaigns.tick import tick
from customers.models import Customer, Segment


def experiment_on(step, *, lever="copy", holdout=0, **variant_b):
    experiment = Experiment.objects.create(
        store=step.flow.store,
        name="test",
        lever=lever,
        flow_step=step,
        holdout_percent=holdout,
        started_at=T0,
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="Original", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="New", **variant_b)
    return experiment


def test_assignment_is_stable_and_follows_the_split():
    experiment = Experiment(pk=41, holdout_percent=10)
    experiment.arms_cache = [
        ExperimentVariant(key="A", share=70, is_control=True),
        ExperimentVariant(key="B", share=30),
    ]

    first = Counter(experiments.arm_for(experiment, cid).key for cid in range(1, 20_001))
    again = Counter(experiments.arm_for(experiment, cid).key for cid in range(1, 20_001))

    assert first == again
    assert first["holdout"] / 20_000 == pytest.approx(0.10, abs=0.005)
    assert first["A"] / 20_000 == pytest.approx(0.63, abs=0.01)
    assert first["B"] / 20_000 == pytest.approx(0.27, abs=0.01)


def test_two_experiments_split_independently():
    one, two = Experiment(pk=1, holdout_percent=0), Experiment(pk=2, holdout_percent=0)
    for experiment in (one, two):
        experiment.arms_cache = [ExperimentVariant(key="A", share=50), ExperimentVariant(key="B", share=50)]

    pairs = Counter(
        (experiments.arm_for(one, cid).key, experiments.arm_for(two, cid).key) for cid in range(1, 10_001)
    )

    assert all(n / 10_000 == pytest.approx(0.25, abs=0.03) for n in pairs.values())


@pytest.mark.django_db
def test_the_sql_bucket_is_the_python_bucket():
    store = make_store()
    people = [make_customer(store) for _ in range(30)]

    in_sql = dict(Customer.objects.annotate(b=experiments.bucket_sql(99)).values_list("pk", "b"))

    assert in_sql == {c.pk: experiments.bucket(c.pk, 99) for c in people}


@pytest.mark.django_db
def test_a_copy_test_sends_each_variant_its_text_and_the_holdout_nothing():
    store = make_store()
    flow = make_flow(store)
    step = flow.steps.get(position=1)
    experiment = experiment_on(step, holdout=20, body="Welcome aboard, {{ first_name }}!")
    people = [make_customer(store) for _ in range(60)]
    enrol(flow, people)

    tick(now=T0)

    placed = dict(ExperimentExposure.objects.values_list("customer_id", "arm"))
    sent = dict(Message.objects.values_list("customer_id", "variant"))
    assert len(placed) == 60
    assert {c: f"e{experiment.pk}.{arm}" for c, arm in placed.items() if arm != "holdout"} == sent
    assert set(Counter(placed.values())) == {"A", "B", "holdout"}
    bodies = set(Message.objects.filter(variant=f"e{experiment.pk}.B").values_list("body", flat=True))
    assert bodies == {"Welcome aboard, Ana!"}


@pytest.mark.django_db
def test_a_timing_test_gives_each_variant_its_delay():
    store = make_store()
    flow = make_flow(store)
    wait = flow.steps.get(position=2)
    last = flow.steps.get(position=3)
    FlowStep.objects.filter(pk=wait.pk).update(delay_value=0)
    FlowStep.objects.filter(pk=last.pk).update(delay_value=30, delay_unit="minutes")
    experiment_on(last, lever="timing", delay_minutes=60)
    people = [make_customer(store) for _ in range(20)]
    enrol(flow, people)

    tick(now=T0)

    due = {r.customer_id: r.next_due_at - T0 for r in FlowRun.objects.all()}
    arms = {c: experiments.arm_for(Experiment.objects.get(), c).key for c in due}
    assert {due[c] for c in due if arms[c] == "A"} == {timedelta(minutes=30)}
    assert {due[c] for c in due if arms[c] == "B"} == {timedelta(minutes=60)}


@pytest.mark.django_db
def test_no_marketing_text_reaches_the_control_group():
    store = make_store()
    store.control_group_percent = Decimal("25")
    store.save()
    flow = make_flow(store)
    people = [make_customer(store) for _ in range(40)]
    control = {c.pk for c in people if experiments.in_control_group(store=store, customer_id=c.pk)}
    enrol(flow, people)

    tick(now=T0)

    texted = set(Message.objects.values_list("customer_id", flat=True))
    assert 4 <= len(control) <= 16
    assert texted == {c.pk for c in people} - control
    reachable = experiments.control_group_exclude(Customer.objects.filter(store=store), store=store)
    assert set(reachable.values_list("pk", flat=True)) == {c.pk for c in people} - control
    campaign = Campaign.objects.create(
        store=store,
        name="Drop",
        slug="drop",
        template=MessageTemplate.objects.create(store=store, name="t", body="New drop"),
        segment=Segment.objects.create(store=store, name="All", slug="all", rules={}),
        send_at=T0,
    )
    recipients = set(campaign_recipients(campaign, now=T0).values_list("pk", flat=True))
    assert recipients == {c.pk for c in people} - control


@pytest.mark.django_db
def test_a_campaign_audience_test_texts_each_variant_its_segment_and_the_holdout_nothing():
    from campaigns.broadcasts.materialize import campaign_materialize

    store = make_store()
    people = [make_customer(store, city="Miami" if n % 2 else "Boston") for n in range(60)]
    everyone = Segment.objects.create(store=store, name="All", slug="all", rules={})
    miami = Segment.objects.create(
        store=store,
        name="Miami",
        slug="miami",
        rules={
            "type": "group",
            "children": [{"type": "profile", "field": "city", "op": "eq", "value": "Miami"}],
        },
    )
    campaign = Campaign.objects.create(
        store=store,
        name="Drop",
        slug="drop",
        template=MessageTemplate.objects.create(store=store, name="t", body="New drop"),
        segment=everyone,
        send_at=T0,
        status=Campaign.Status.SCHEDULED,
    )
    experiment = Experiment.objects.create(
        store=store,
        name="Broad vs Miami",
        lever="audience",
        campaign=campaign,
        holdout_percent=20,
        started_at=T0,
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="Everyone", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="Miami only", segment=miami)

    campaign_materialize(campaign_id=campaign.pk, now=T0)

    arms = {c.pk: experiments.arm_for(experiment, c.pk).key for c in people}
    texted = dict(Message.objects.values_list("customer_id", "variant"))
    miami_ids = {c.pk for c in people if c.city == "Miami"}
    expected = {
        c: f"e{experiment.pk}.{arm}"
        for c, arm in arms.items()
        if arm == "A" or (arm == "B" and c in miami_ids)
    }
    assert texted == expected
    held = set(ExperimentExposure.objects.filter(arm="holdout").values_list("customer_id", flat=True))
    assert held == {c for c, arm in arms.items() if arm == "holdout"} and held


@pytest.mark.django_db
def test_an_old_export_with_a_variant_b_imports_as_a_copy_test():
    from campaigns.flows.io import flow_export, flow_import

    store = make_store()
    data = flow_export(flow=make_flow(store))
    data["slug"] = "welcome-old"
    data["steps"][0]["body_b"] = "Welcome aboard, {{ first_name }}!"

    copy = flow_import(store=store, data=data)

    experiment = Experiment.objects.get(flow_step__flow=copy)
    assert (experiment.lever, experiment.flow_step.position, experiment.status) == ("copy", 1, "running")
    assert experiment.variants.get(key="B").body == "Welcome aboard, {{ first_name }}!"


@pytest.mark.django_db
def test_a_copy_variant_with_an_unknown_field_is_refused_like_a_step():
    store = make_store()
    step = make_flow(store).steps.get(position=1)
    experiment = experiment_on(step, holdout=0, body="Welcome aboard, {{ first_name }}!")
    variant = experiment.variants.get(key="B")
    variant.body = "Hi {{ frist_name }}"

    with pytest.raises(ValidationError) as refused:
        text_clean(variant)

    assert "Did you mean first_name?" in refused.value.message_dict["body"][0]


def timed_first_step(store):
    """A flow whose first text waits 30 minutes, with a timing test: variant B waits 60."""
    flow = make_flow(store)
    first = flow.steps.get(position=1)
    FlowStep.objects.filter(pk=first.pk).update(delay_value=30, delay_unit="minutes")
    experiment_on(first, lever="timing", delay_minutes=60)
    return flow


@pytest.mark.django_db
def test_a_timing_test_on_the_first_step_sends_variant_b_thirty_minutes_after_a():
    store = make_store()
    timed_first_step(store)
    people = [make_customer(store) for _ in range(20)]
    events = [record(c, "signed_up", T0) for c in people]
    events_check(store_id=store.id, event_ids=[e.id for e in events], now=T0)
    experiment = Experiment.objects.get()
    arms = {c.pk: experiments.arm_for(experiment, c.pk).key for c in people}

    tick(now=T0 + timedelta(minutes=30))
    at_30 = set(Message.objects.values_list("customer_id", flat=True))
    tick(now=T0 + timedelta(minutes=59))
    at_59 = set(Message.objects.values_list("customer_id", flat=True))
    tick(now=T0 + timedelta(minutes=60))
    at_60 = set(Message.objects.values_list("customer_id", flat=True))

    assert at_30 == at_59 == {c for c, arm in arms.items() if arm == "A"} != set()
    assert at_60 - at_30 == {c for c, arm in arms.items() if arm == "B"} != set()


@pytest.mark.django_db
def test_the_backtest_applies_a_timing_test_on_the_first_step():
    store = make_store()
    flow = timed_first_step(store)
    people = [make_customer(store) for _ in range(20)]
    for c in people:
        record(c, "signed_up", T0)
    arms = Counter(experiments.arm_for(Experiment.objects.get(), c.pk).key for c in people)

    report = flow_backtest(flow=flow, now=T0 + timedelta(minutes=45), days=1)

    first = report.steps[0]
    assert (first.reached, first.waiting) == (arms["A"], arms["B"])
