"""Who gets which variant: deterministic assignment per customer and experiment, and the control group.

A customer's bucket (0–9999) is a hash of their id salted per experiment (or per store for the
control group): a multiplicative step then a quadratic one modulo two primes, so that buckets of
different salts are independent (a linear hash alone would tie one experiment's arms to another's).
The same integer arithmetic runs in Python and in SQL, so a campaign's recipients leave out the
control group in the query and a flow batch places its runs without one query per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import F, IntegerField, Q, QuerySet, Value
from django.db.models.functions import Mod

from campaigns.content.first_texts import is_first_text, text_problems
from campaigns.models import Experiment, ExperimentExposure, ExperimentVariant, FlowStep
from campaigns.sending.policy import step_due_after
from customers.models import Customer, Store

BUCKETS = 10_000
# Near irrational fractions of 10,000 (golden ratio, square roots, e, ln 2...): consecutive ids
# scatter.
MULTIPLIERS = (6181, 3819, 4143, 7321, 2361, 5857, 1417, 7183, 2679, 6931, 5773, 8409)
CONTROL_SALT = 7_777
P1, P2 = 99_991, 99_989


def bucket(customer_id: int, salt: int, offset: int = 0) -> int:
    x = ((customer_id - offset) * MULTIPLIERS[salt % len(MULTIPLIERS)] + salt * 13) % P1
    return (x * x + x * 31 + salt) % P2 % BUCKETS


def bucket_sql(salt: int, field: str = "pk", offset: int = 0):
    """`bucket` in SQL; `offset` is subtracted from the id first (buckets of ids relative to a base)."""
    ident = F(field) - Value(offset) if offset else F(field)
    x = Mod(ident * Value(MULTIPLIERS[salt % len(MULTIPLIERS)]) + Value(salt * 13), Value(P1))
    return Mod(
        Mod(x * x + x * Value(31) + Value(salt), Value(P2)), Value(BUCKETS), output_field=IntegerField()
    )


def _percent_buckets(percent: Decimal | int) -> int:
    return int(Decimal(percent) * BUCKETS / 100)


# The store-wide control group -------------------------------------------------------------------


def in_control_group(*, store: Store, customer_id: int) -> bool:
    return bucket(customer_id, CONTROL_SALT + store.pk) < _percent_buckets(store.control_group_percent)


def control_group_q(*, store: Store) -> Q:
    """Customers of the store's control group, as a filter on an annotation `_control_bucket`."""
    return Q(_control_bucket__lt=_percent_buckets(store.control_group_percent))


def control_group_exclude(queryset: QuerySet[Customer], *, store: Store) -> QuerySet[Customer]:
    """The queryset without the store's control group: no marketing text reaches it."""
    if not store.control_group_percent:
        return queryset
    return queryset.alias(_control_bucket=bucket_sql(CONTROL_SALT + store.pk)).exclude(
        control_group_q(store=store)
    )


# Experiments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """What one customer gets in an experiment; `variant` is None for the holdout (no text)."""

    experiment: Experiment
    variant: ExperimentVariant | None

    @property
    def key(self) -> str:
        return self.variant.key if self.variant else ExperimentExposure.HOLDOUT

    @property
    def code(self) -> str:
        return self.experiment.variant_code(self.key)


def arm_for(experiment: Experiment, customer_id: int) -> Arm:
    """Deterministic: the same customer always lands in the same arm of an experiment.

    A stopped variant's customers get the control's text instead; their assignment does not move.
    """
    variants = experiment.arms_cache if hasattr(experiment, "arms_cache") else _arms(experiment)
    b = bucket(customer_id, experiment.pk)
    holdout = _percent_buckets(experiment.holdout_percent)
    if b < holdout or not variants:
        return Arm(experiment, None)
    total = sum(v.share for v in variants) or 1
    point = (b - holdout) * total / (BUCKETS - holdout)
    chosen = variants[-1]
    for variant in variants:
        if point < variant.share:
            chosen = variant
            break
        point -= variant.share
    if chosen.stopped_at:
        chosen = next((v for v in variants if v.is_control), chosen)
    return Arm(experiment, chosen)


def _arms(experiment: Experiment) -> list[ExperimentVariant]:
    experiment.arms_cache = [v for v in experiment.variants.all() if v.share > 0]
    return experiment.arms_cache


def running(*, step_ids: Iterable[int] = (), campaign_ids: Iterable[int] = ()) -> list[Experiment]:
    found = Experiment.objects.filter(status=Experiment.Status.RUNNING).filter(
        Q(flow_step_id__in=list(step_ids)) | Q(campaign_id__in=list(campaign_ids))
    )
    experiments = list(found.prefetch_related("variants").order_by("pk"))
    for experiment in experiments:
        _arms(experiment)
    return experiments


def steps_attach(steps: Iterable[FlowStep]) -> None:
    """Give each step its running experiment (or None), loaded for the whole batch in one query."""
    steps = list(steps)
    by_step = {e.flow_step_id: e for e in running(step_ids=[s.id for s in steps])}
    for step in steps:
        step.experiment = by_step.get(step.id)


def step_due(
    step: FlowStep, *, customer_id: int, previous: datetime, tz: str, best_hour: int | None = None
) -> datetime:
    """When a step runs for this customer: a timing test's variant sets its own delay; a step that
    waits for the best hour to text waits for theirs."""
    experiment = getattr(step, "experiment", None)
    if experiment is None or experiment.lever != Experiment.Lever.TIMING:
        return step_due_after(step, previous, tz, best_hour)
    arm = arm_for(experiment, customer_id)
    if arm.variant is None or arm.variant.delay_minutes is None:
        return step_due_after(step, previous, tz, best_hour)
    shifted = previous - step.delay + timedelta(minutes=arm.variant.delay_minutes)
    return step_due_after(step, shifted, tz, best_hour)


def exposures_record(arms: Iterable[tuple[int, Arm]], *, now: datetime) -> None:
    """Who was placed where, first time only; the holdout too, since it gets no message."""
    ExperimentExposure.objects.bulk_create(
        [
            ExperimentExposure(experiment=arm.experiment, customer_id=cid, arm=arm.key, at=now)
            for cid, arm in arms
        ],
        ignore_conflicts=True,
    )


def campaign_place(
    campaign, customers: list[Customer], *, now: datetime
) -> list[tuple[Arm | None, list[Customer]]]:
    """Split a campaign batch by its running experiment's arms; the holdout and, in an audience
    test, a variant's customers outside its segment get no text. One query per segment."""
    from customers.segments import members

    found = running(campaign_ids=[campaign.pk])
    if not found:
        return [(None, customers)]
    experiment = found[0]
    groups: dict[Arm, list[Customer]] = {}
    for customer in customers:
        groups.setdefault(arm_for(experiment, customer.pk), []).append(customer)
    for arm, group in list(groups.items()):
        audience = arm.variant and experiment.lever == Experiment.Lever.AUDIENCE
        segment = arm.variant.segment if audience else None
        if segment is not None:
            ids = [c.pk for c in group]
            inside = set(members(segment, now=now).filter(pk__in=ids).values_list("pk", flat=True))
            groups[arm] = [c for c in group if c.pk in inside]
    exposures_record(((c.pk, arm) for arm, group in groups.items() for c in group), now=now)
    return [(arm, group) for arm, group in groups.items() if arm.variant is not None and group]


def copy_test_from_variant_b(*, step: FlowStep, body_b: str, now: datetime) -> Experiment:
    """What an old A/B text ("variant B" on a step) is now: a running 50/50 copy experiment."""
    experiment = Experiment.objects.create(
        store_id=step.flow.store_id,
        name=f"{step.flow.name}: step {step.position} copy",
        lever=Experiment.Lever.COPY,
        flow_step=step,
        started_at=now,
    )
    ExperimentVariant.objects.bulk_create(
        [
            ExperimentVariant(experiment=experiment, key="A", name="Original", is_control=True, share=50),
            ExperimentVariant(experiment=experiment, key="B", name="Variant B", share=50, body=body_b),
        ]
    )
    return experiment


def experiment_start(*, experiment: Experiment, now: datetime) -> Experiment:
    """A draft test starts splitting customers now. On a flow's first text every variant's copy must
    be safe to send first (`content.first_texts`); otherwise it stays a draft and this says why."""
    if experiment.flow_step_id and is_first_text(experiment.flow_step):
        store = experiment.store
        problems = [
            f"Variant {variant.key}: {problem}."
            for variant in experiment.variants.exclude(body="")
            for problem in text_problems(variant.body, store=store)
        ]
        if problems:
            raise ValidationError(problems)
    Experiment.objects.filter(pk=experiment.pk, status=Experiment.Status.DRAFT).update(
        status=Experiment.Status.RUNNING, started_at=now
    )
    experiment.refresh_from_db()
    return experiment
