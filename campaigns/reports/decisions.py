"""When a variant is called better, when one is stopped, and the testing plan's next step.

The test is a two-proportion z-test at the 5 % level (two-sided), with a 95 % confidence interval
for the difference of the rates (normal approximation, unpooled standard error). Nothing is called
before every variant has `min_recipients` delivered texts. A variant whose opt-out rate is
significantly above the control's is stopped at once, whatever its clicks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from campaigns.content.first_texts import is_first_text, text_problems
from campaigns.models import Experiment, ExperimentDecision, ExperimentVariant, FlowStep
from campaigns.reports.metrics import Figures, figures, messages_in

Z95 = 1.959964
OPT_OUT_ADVICE = (
    "If opt-outs rise, tighten frequency and reduce overlap before changing copy: lower the store's "
    "caps or the overlap hours, or narrow the audience, then test the copy again."
)
NEXT_LEVER = {
    Experiment.Lever.AUDIENCE: Experiment.Lever.TIMING,
    Experiment.Lever.TIMING: Experiment.Lever.COPY,
    Experiment.Lever.COPY: Experiment.Lever.OFFER,
}


@dataclass(frozen=True)
class Comparison:
    """Variant vs control on one rate: difference, its 95 % interval, z and two-sided p."""

    rate: float
    control_rate: float
    difference: float
    low: float
    high: float
    z: float
    p: float

    @property
    def significant(self) -> bool:
        return self.p < 0.05


def two_proportion_test(x: int, n: int, x0: int, n0: int) -> Comparison | None:
    """Variant x successes of n against control x0 of n0."""
    if not n or not n0:
        return None
    p, p0 = x / n, x0 / n0
    pooled = (x + x0) / (n + n0)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / n0))
    se = math.sqrt(p * (1 - p) / n + p0 * (1 - p0) / n0)
    z = (p - p0) / se_pooled if se_pooled else 0.0
    pvalue = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(p, p0, p - p0, p - p0 - Z95 * se, p - p0 + Z95 * se, z, pvalue)


def variant_figures(experiment: Experiment) -> dict[str, Figures]:
    """Each variant's figures, keyed by variant key, from the texts the experiment sent."""
    cohort = messages_in(store_ids=[experiment.store_id], variant__startswith=experiment.variant_code(""))
    rows = figures(cohort, by="variant")
    prefix = len(experiment.variant_code(""))
    return {key[0][prefix:]: row for key, row in rows.items()}


def _goal_counts(experiment: Experiment, row: Figures) -> tuple[int, int]:
    hits = row.clicked if experiment.goal == Experiment.Goal.CLICKS else row.orders
    return hits, row.delivered


def _control(variants: list[ExperimentVariant]) -> ExperimentVariant:
    return next((v for v in variants if v.is_control), variants[0])


def experiment_evaluate(*, experiment: Experiment, now: datetime) -> list[ExperimentDecision]:
    """Stop variants that drive opt-outs; call a winner once the test says so. Safe to run often."""
    variants = list(experiment.variants.all())
    if experiment.status != Experiment.Status.RUNNING or len(variants) < 2:
        return []
    rows = variant_figures(experiment)
    control = _control(variants)
    base = rows.get(control.key, Figures(key=()))
    decisions = []
    with transaction.atomic():
        for variant in variants:
            if variant is control or variant.stopped_at:
                continue
            decision = _opt_out_check(experiment, variant, rows.get(variant.key, Figures(key=())), base, now)
            if decision:
                decisions.append(decision)
        winner = _winner_check(experiment, [v for v in variants if not v.stopped_at], rows, now)
        if winner:
            decisions.append(winner)
    return decisions


def _opt_out_check(experiment, variant, row: Figures, base: Figures, now) -> ExperimentDecision | None:
    if min(row.delivered, base.delivered) < experiment.min_recipients:
        return None
    test = two_proportion_test(row.opt_outs, row.delivered, base.opt_outs, base.delivered)
    if test is None or not (test.significant and test.difference > 0):
        return None
    reason = (
        f"Variant {variant.key} ({variant.name}) stopped: opt-out rate {test.rate:.2%} against the "
        f"control's {test.control_rate:.2%} (difference {test.difference:+.2%}, 95 % CI "
        f"{test.low:+.2%} to {test.high:+.2%}, p = {test.p:.4f}; "
        f"{row.delivered} vs {base.delivered} delivered)."
    )
    variant.stopped_at, variant.stop_reason = now, reason[:300]
    variant.save(update_fields=["stopped_at", "stop_reason"])
    return ExperimentDecision.objects.create(
        experiment=experiment,
        variant=variant,
        kind=ExperimentDecision.Kind.STOPPED,
        reason=reason,
        advice=OPT_OUT_ADVICE,
        figures=_figures_json(test),
        decided_at=now,
    )


def _winner_check(experiment, variants, rows: dict[str, Figures], now) -> ExperimentDecision | None:
    if len(variants) < 2:
        return None
    empty = Figures(key=())
    if min(rows.get(v.key, empty).delivered for v in variants) < experiment.min_recipients:
        return None
    control = _control(variants)
    x0, n0 = _goal_counts(experiment, rows.get(control.key, empty))
    tests = {
        v: two_proportion_test(*_goal_counts(experiment, rows.get(v.key, empty)), x0, n0) for v in variants
    }
    tests.pop(control)
    better = [(v, t) for v, t in tests.items() if t.significant and t.difference > 0]
    worse = [(v, t) for v, t in tests.items() if t.significant and t.difference < 0]
    if better:
        winner, test = max(better, key=lambda vt: vt[1].difference)
    elif len(worse) == len(tests):
        winner, test = control, min((t for _, t in worse), key=lambda t: -t.difference)
    else:
        return None
    goal = experiment.get_goal_display().split(" (")[0].lower()
    reason = (
        f"{winner.key} ({winner.name}) wins on {goal}: "
        + (
            f"{test.rate:.2%} against the control's {test.control_rate:.2%}"
            if winner is not control
            else f"the control's {test.control_rate:.2%} beats every variant (best {test.rate:.2%})"
        )
        + f"; difference {test.difference:+.2%}, "
        + f"95 % CI {test.low:+.2%} to {test.high:+.2%}, p = {test.p:.4f}."
    )
    kept = _winner_apply(experiment, winner)
    if kept:
        reason += f" Its copy was not promoted into the flow: {kept} The step keeps its own text."
    experiment.status, experiment.finished_at = Experiment.Status.FINISHED, now
    experiment.conclusion = reason
    experiment.save(update_fields=["status", "finished_at", "conclusion"])
    return ExperimentDecision.objects.create(
        experiment=experiment,
        variant=winner,
        kind=ExperimentDecision.Kind.WINNER,
        reason=reason,
        advice=_next_advice(experiment),
        figures=_figures_json(test),
        decided_at=now,
    )


def _winner_apply(experiment: Experiment, winner: ExperimentVariant) -> str:
    """From now on the flow step sends what won; a winning copy that would make an unsafe first text
    is not promoted. Returns why it was not, or ""."""
    if not experiment.flow_step_id:
        return ""
    changes = {}
    kept = ""
    if winner.body:
        step = FlowStep.objects.select_related("flow__store").get(pk=experiment.flow_step_id)
        problems = text_problems(winner.body, store=step.flow.store) if is_first_text(step) else []
        if problems:
            kept = f"as the flow's first text, {'; '.join(problems)}."
        else:
            changes |= {"body": winner.body, "template": None}
    if experiment.lever == Experiment.Lever.OFFER:
        changes["offer_code"] = winner.offer_code
    if winner.delay_minutes is not None:
        changes |= {"delay_value": winner.delay_minutes, "delay_unit": FlowStep.Unit.MINUTES}
    if changes:
        FlowStep.objects.filter(pk=experiment.flow_step_id).update(**changes)
    return kept


def _next_advice(experiment: Experiment) -> str:
    following = NEXT_LEVER.get(experiment.lever)
    if following is None:
        return "The plan is complete: keep the winning offer, and retest the audience next season."
    return f"Next in the plan: test {Experiment.Lever(following).label.split('. ', 1)[1].lower()}."


def _figures_json(test: Comparison) -> dict:
    return {k: round(v, 6) for k, v in test.__dict__.items()}


def experiments_evaluate(*, now: datetime, store_ids: list[int] | None = None) -> int:
    decided = 0
    running = Experiment.objects.filter(status=Experiment.Status.RUNNING)
    if store_ids is not None:
        running = running.filter(store_id__in=store_ids)
    for experiment in running.prefetch_related("variants"):
        decided += len(experiment_evaluate(experiment=experiment, now=now))
    return decided


@dataclass
class PlanStep:
    lever: str
    label: str
    experiments: list[Experiment]
    state: str  # "concluded", "running", "next" or "later"


def plan_steps(*, store_ids: list[int]) -> list[PlanStep]:
    """The seed's four steps in order, with what each tested and concluded, and which comes next."""
    by_lever: dict[str, list[Experiment]] = {lever: [] for lever in Experiment.Lever.values}
    for experiment in Experiment.objects.filter(store_id__in=store_ids).order_by("-started_at"):
        by_lever[experiment.lever].append(experiment)
    plan, next_given = [], False
    for lever in Experiment.Lever:
        tests = by_lever[lever.value]
        if any(t.status == Experiment.Status.FINISHED for t in tests):
            state = "concluded"
        elif tests:
            state = "running"
        elif not next_given:
            state, next_given = "next", True
        else:
            state = "later"
        plan.append(PlanStep(lever=lever.value, label=lever.label, experiments=tests, state=state))
    return plan
