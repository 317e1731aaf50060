"""Setting flows live: a flow goes live only with steps and with a safe first text
(`content.first_texts`); the others are left as they were, each with its reasons."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from campaigns.content.first_texts import flow_first_text_problems
from campaigns.models import Flow


def flow_live_problems(flow: Flow) -> list[str]:
    """Why `flow` may not go live, in words; empty when it may."""
    if not flow.steps.exists():
        return ["A flow needs at least one step to go live."]
    return flow_first_text_problems(flow)


def flows_set_status(*, flows: QuerySet[Flow], status: str) -> tuple[int, dict[Flow, list[str]]]:
    """Move the flows to `status`; going live, the ones with problems stay as they are.
    Returns how many moved and the refused flows with their problems."""
    refused: dict[Flow, list[str]] = {}
    if status == Flow.Status.LIVE:
        for flow in flows.select_related("store"):  # the handful chosen in the admin
            problems = flow_live_problems(flow)
            if problems:
                refused[flow] = problems
        flows = flows.exclude(pk__in=[f.pk for f in refused])
    cleared = {"error": "", "error_at": None} if status == Flow.Status.LIVE else {}
    with transaction.atomic():
        moved = flows.update(status=status, **cleared)
    return moved, refused
