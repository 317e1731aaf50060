from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns.models import Experiment, ExperimentExposure
from campaigns.reports import experiments
from campaigns.reports.lift import control_group_lift, experiment_lift
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tests.history import order


@pytest.mark.django_db
def test_a_variant_is_measured_against_the_holdout():
    store = make_store()
    experiment = Experiment.objects.create(store=store, name="x", holdout_percent=10, started_at=T0)
    people = [make_customer(store) for _ in range(8)]
    arms = ["A", "A", "A", "A", "holdout", "holdout", "holdout", "holdout"]
    ExperimentExposure.objects.bulk_create(
        ExperimentExposure(experiment=experiment, customer=c, arm=a, at=T0)
        for c, a in zip(people, arms, strict=True)
    )
    order(people[0], T0 + timedelta(days=1), "40")
    order(people[1], T0 + timedelta(days=2), "20")
    order(people[1], T0 + timedelta(days=3), "20")
    order(people[2], T0 + timedelta(days=6), "99")  # after the 5-day window
    order(people[4], T0 + timedelta(days=1), "10")

    [(name, result)] = experiment_lift(experiment).items()

    assert name == "A"
    assert (result.group.customers, result.group.converted, result.group.revenue) == (4, 2, 80.0)
    assert (result.baseline.converted, result.baseline.revenue) == (1, 10.0)
    assert result.conversion.difference == pytest.approx(0.25)
    assert result.revenue_difference == pytest.approx(20.0 - 2.5)
    assert result.revenue_low < result.revenue_difference < result.revenue_high


@pytest.mark.django_db
def test_the_program_is_measured_against_the_control_group():
    store = make_store()
    store.control_group_percent = Decimal("50")
    store.save()
    people = [make_customer(store) for _ in range(20)]
    control = [c for c in people if experiments.in_control_group(store=store, customer_id=c.pk)]
    texted = [c for c in people if c not in control]
    for customer in texted[:4]:
        order(customer, T0 + timedelta(days=1), "30")

    result = control_group_lift(store=store, start=T0, end=T0 + timedelta(days=7))

    assert (result.group.customers, result.baseline.customers) == (len(texted), len(control))
    assert result.baseline.converted == 0 and result.group.converted == 4
    assert result.revenue_difference == pytest.approx(120 / len(texted))
