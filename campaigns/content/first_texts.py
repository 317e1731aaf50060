"""The first text a customer may get from a flow: it must say how to opt out, and every field that
can be empty for some customers (first name, city...) needs a fallback. A flow whose first text
falls short cannot go live, and an experiment's winning copy is not promoted into it.

A customer first hears from a flow at any send step reachable from its start without passing
another send step (a split leads to two). Fields the trigger fills (cart link, the product) are
the trigger's to give; the checks on save warn about those.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from campaigns.content.checks import check_template
from campaigns.content.fields import FIELDS
from campaigns.models import Experiment, ExperimentVariant, Flow, FlowStep
from customers.models import Store

OPT_OUT_EXAMPLE = "Reply STOP to opt out"


def first_send_steps(steps: Sequence[FlowStep]) -> list[FlowStep]:
    """The send steps a run may reach first, in position order (steps need not be saved)."""
    by_position = {s.position: s for s in steps if s.position is not None}
    order = sorted(by_position)
    found: dict[int, FlowStep] = {}
    todo, seen = ([order[0]] if order else []), set()
    while todo:
        position = todo.pop()
        step = by_position.get(position)
        if step is None or position in seen:
            continue
        seen.add(position)
        later = [p for p in order if p > position]
        following = later[0] if later else None
        if step.kind == FlowStep.Kind.SEND:
            found[position] = step
        elif step.kind == FlowStep.Kind.SPLIT:
            todo += [p for p in (step.yes_next or following, step.no_next) if p and p > position]
        elif step.kind != FlowStep.Kind.END and following is not None:
            todo.append(following)
    return [found[p] for p in sorted(found)]


def text_problems(body: str, *, store: Store | None = None) -> list[str]:
    """What a first text lacks, in words; empty when it is safe to send first."""
    problems = []
    for check in check_template(body, store=store, is_first_in_flow=True):
        if check.code == "no_opt_out":
            problems.append(f'it does not say how to opt out: add "{OPT_OUT_EXAMPLE}"')
        elif check.code == "no_fallback" and _customer_field(check.field):
            problems.append(
                f"{check.field} can be empty for some customers and has no fallback: write "
                f'{{{{ {check.field}|default:"..." }}}}'
            )
        elif check.level == "error":
            problems.append(check.message)
    return problems


def _customer_field(name: str) -> bool:
    spec = FIELDS.get(name)
    return spec is not None and spec.source != "trigger" and not spec.is_link


def steps_problems(
    steps: Sequence[FlowStep], *, store: Store | None, variants: Iterable[ExperimentVariant] = ()
) -> list[str]:
    """Each problem of the flow's first texts (and of copy variants tested on them), naming the step."""
    first = first_send_steps(steps)
    tested: dict[int, list[ExperimentVariant]] = {}
    for variant in variants:
        tested.setdefault(variant.experiment.flow_step_id, []).append(variant)
    found = []
    for step in first:
        texts = [("", step.template.body if step.template_id else step.body)]
        texts += [(f" (variant {v.key}, “{v.name}”)", v.body) for v in tested.get(step.pk, []) if v.body]
        for label, body in texts:
            found += [
                f"Step {step.position}{label}: {problem}." for problem in text_problems(body, store=store)
            ]
    return found


def flow_first_text_problems(flow: Flow, *, replace: dict[int, str] | None = None) -> list[str]:
    """Why `flow` may not be live, in words; `replace` maps a step id to the text it would send instead."""
    steps = list(flow.steps.select_related("template").order_by("position"))
    for step in steps:
        if replace and step.pk in replace:
            step.body, step.template_id = replace[step.pk], None
    return steps_problems(steps, store=flow.store, variants=running_variants(steps))


def running_variants(steps: Sequence[FlowStep]) -> list[ExperimentVariant]:
    ids = [s.pk for s in steps if s.pk]
    return list(
        ExperimentVariant.objects.filter(
            experiment__flow_step_id__in=ids, experiment__status=Experiment.Status.RUNNING
        )
        .exclude(body="")
        .select_related("experiment")
    )


def is_first_text(step: FlowStep) -> bool:
    """Whether a customer may hear from the flow first at this step."""
    steps = list(FlowStep.objects.filter(flow_id=step.flow_id).order_by("position"))
    return step.pk in {s.pk for s in first_send_steps(steps)}
