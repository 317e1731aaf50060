"""Experiments in the admin: a new one is a draft, its step choices name the flow and the step,
starting it checks the copy of a flow's first text, and the report shows the winning copy."""

from __future__ import annotations

import pytest

from campaigns.models import Experiment, ExperimentDecision, ExperimentVariant
from campaigns.tests.flowkit import T0, make_store
from campaigns.tests.test_flow_engine import make_flow


@pytest.fixture
def step(db):
    flow = make_flow(make_store(), status="draft")
    return flow.steps.get(position=1)


def draft_on(step, body_b: str) -> Experiment:
    experiment = Experiment.objects.create(
        store=step.flow.store, name="Welcome copy", flow_step=step, status="draft", started_at=T0
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="Original", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="Bold", body=body_b)
    return experiment


def test_a_new_experiment_is_a_draft_and_its_steps_are_named(admin_client, step):
    page = admin_client.get("/admin/campaigns/experiment/add/").content.decode()

    assert '<option value="draft" selected>Draft (not started)</option>' in page
    assert "Welcome · step 1: “Hi {{ first_name }}, welcome!”" in page
    assert "Welcome · step 3: “Day two, {{ first_name }}.”" in page
    assert "1. Send" not in page


def test_starting_refuses_a_variant_unsafe_as_a_first_text(admin_client, step):
    unsafe = draft_on(step, "BOLD {{ first_name }}")

    response = admin_client.post(
        "/admin/campaigns/experiment/", {"action": "start", "_selected_action": [unsafe.pk]}, follow=True
    )

    page = response.content.decode()
    assert "“Welcome copy” stays a draft: Variant B: first_name can be empty" in page
    assert "0 experiment(s) started." in page
    unsafe.refresh_from_db()
    assert unsafe.status == "draft"

    ExperimentVariant.objects.filter(experiment=unsafe, key="B").update(
        body='BOLD {{ first_name|default:"friend" }}. Reply STOP to opt out.'
    )
    admin_client.post("/admin/campaigns/experiment/", {"action": "start", "_selected_action": [unsafe.pk]})
    unsafe.refresh_from_db()
    assert unsafe.status == "running" and unsafe.started_at > T0


def test_the_report_of_a_finished_experiment_shows_the_winning_copy(admin_client, step):
    experiment = draft_on(step, 'BOLD {{ first_name|default:"friend" }}. Reply STOP to opt out.')
    experiment.status = "finished"
    experiment.save()
    winner = experiment.variants.get(key="B")
    ExperimentDecision.objects.create(
        experiment=experiment, variant=winner, kind="winner", reason="B (Bold) wins.", decided_at=T0
    )

    report = f"/admin/campaigns/experiment/reports/experiment/{experiment.pk}/"
    page = admin_client.get(report).content.decode()
    edit = admin_client.get(f"/admin/campaigns/experiment/{experiment.pk}/change/").content.decode()

    copy = "BOLD {{ first_name|default:&quot;friend&quot; }}. Reply STOP to opt out."
    assert f'id="winning-copy">{copy}<' in page
    assert "<td>winner</td>" in page and "<td>ended</td>" in page and "<td>running</td>" not in page
    assert 'name="variants-1-body"' not in edit  # a finished test's variants are a record


def test_why_this_text_names_the_experiments_variant_in_words(admin_client, step):
    from campaigns.models import Message
    from campaigns.tests.flowkit import make_customer

    experiment = draft_on(step, "BOLD")
    ana = make_customer(step.flow.store)
    Message.objects.create(
        store=step.flow.store, customer=ana, to=ana.phone, body="BOLD", status="delivered", flow_step=step,
        variant=experiment.variant_code("B"), idempotency_key="x", created_at=T0,
    )  # fmt: skip

    page = admin_client.get(f"/admin/campaigns/message/why/{ana.pk}/").content.decode()

    assert "variant B (Bold) of “Welcome copy”" in page
    assert f"variant e{experiment.pk}.B" not in page
