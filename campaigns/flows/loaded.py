"""The flows a tick acts on, read once for all of its stages.

Enrolment (events, dates) and advancing each need the live flows, their steps, trigger filters
and running experiments; a tick reads them once, when a stage first needs them, and hands them to
each stage, instead of each stage (and each store's event batch) reading them again. A stage run
on its own (a queued stage task, a test) reads them itself. A flow paused during the tick is still
listed here; the queries that pick runs and events filter on the status themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Prefetch, Q, prefetch_related_objects

from campaigns.models import Flow, FlowStep
from campaigns.reports import experiments

EVENT_TRIGGERS = [Flow.Trigger.EVENT, Flow.Trigger.POST_PURCHASE, Flow.Trigger.REWARD_THRESHOLD]

# The flows a batch of events is checked against: live event-triggered ones (entries), and any
# with exit events.
CHECKED_AGAINST = Q(status=Flow.Status.LIVE, trigger__in=EVENT_TRIGGERS) | ~Q(exit_events="")


def checked_against(flow: Flow) -> bool:
    return (flow.status == Flow.Status.LIVE and flow.trigger in EVENT_TRIGGERS) or bool(flow.exit_events)


StepsByFlow = dict[int, dict[str, dict]]  # flow id → {"id": {id: step}, "position": {position: step}}


class LoadedFlows:
    """Read when first asked: the flows (one query), then their steps, filters and experiments
    (once a stage has runs or events to check), so a tick with nothing to do reads no more."""

    def __init__(self) -> None:
        self._flows: list[Flow] | None = None
        self._steps: StepsByFlow | None = None

    @property
    def flows(self) -> list[Flow]:
        """Every live flow and every flow with exit events, with its store and entry segment."""
        if self._flows is None:
            self._flows = list(
                Flow.objects.filter(Q(status=Flow.Status.LIVE) | ~Q(exit_events=""))
                .select_related("store", "entry_segment")
                .order_by("pk")
            )
        return self._flows

    @property
    def steps(self) -> StepsByFlow:
        if self._steps is None:
            steps = FlowStep.objects.select_related("template", "offer", "segment").order_by("position")
            prefetch_related_objects(self.flows, "filters", Prefetch("steps", queryset=steps))
            every = [step for flow in self.flows for step in flow.steps.all()]
            self._steps = steps_index(every, [flow.pk for flow in self.flows])
        return self._steps

    def of_store(self, store_id: int) -> list[Flow]:
        return [flow for flow in self.flows if flow.store_id == store_id]

    def read_steps(self) -> None:
        """Give each flow its steps, filters and experiments (`flow.steps.all()` reads no more)."""
        self.steps  # noqa: B018

    def live(self, triggers: list[str]) -> list[Flow]:
        return [f for f in self.flows if f.status == Flow.Status.LIVE and f.trigger in triggers]

    def steps_of(self, flow_ids: set[int]) -> StepsByFlow | None:
        """The steps of these flows, or None when one was not live as the tick began."""
        if not flow_ids <= {flow.pk for flow in self.flows}:
            return None
        return {flow_id: self.steps[flow_id] for flow_id in flow_ids}


def steps_index(steps: Iterable[FlowStep], flow_ids: Iterable[int] = ()) -> StepsByFlow:
    """Steps (in position order) by flow, by id and by position, with their running experiments
    attached; each of `flow_ids` is listed even without steps."""
    found: StepsByFlow = defaultdict(lambda: {"id": {}, "position": {}})
    for flow_id in flow_ids:
        found[flow_id]
    for step in steps:
        found[step.flow_id]["id"][step.id] = step
        found[step.flow_id]["position"][step.position] = step
    experiments.steps_attach(step for by in found.values() for step in by["id"].values())
    return found
