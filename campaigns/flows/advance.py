"""The tick's advance stage: advance due flow runs in batches and hand their texts to the outbox.

A batch is claimed inside one transaction (on PostgreSQL with SELECT ... FOR UPDATE SKIP LOCKED,
so several workers share the due runs and none takes a run another holds); the runs' new state,
their step visits and their messages are written in that same transaction. A second tick finds
nothing due, and the message's unique idempotency key (`run:<id>:step:<id>`) is the second lock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from campaigns.content.offers import READY, offer_codes_give
from campaigns.content.rendering import render_messages
from campaigns.flows.loaded import LoadedFlows, StepsByFlow, steps_index
from campaigns.models import Flow, FlowRun, FlowStep, FlowStepVisit
from campaigns.reports import experiments
from campaigns.sending import guardrails, policy
from campaigns.sending.outbox import MessageDraft, message_ids_create
from customers.models import Segment
from customers.segments import members

BATCH_SIZE = 1000


def runs_advance_due(
    *,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    flow_id: int | None = None,
    loaded: LoadedFlows | None = None,
) -> tuple[int, int]:
    """`loaded`: the tick's flows, read as it began (else each batch reads its own)."""
    runs = messages = 0
    while True:
        claimed, created = runs_advance_batch(now=now, batch_size=batch_size, flow_id=flow_id, loaded=loaded)
        runs, messages = runs + claimed, messages + created
        if claimed < batch_size:
            return runs, messages


@dataclass
class Cursor:
    run: FlowRun
    step: FlowStep | None
    due: datetime


def runs_advance_batch(
    *,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    flow_id: int | None = None,
    loaded: LoadedFlows | None = None,
) -> tuple[int, int]:
    with transaction.atomic():
        runs = _claim(now=now, batch_size=batch_size, flow_id=flow_id, loaded=loaded)
        if not runs:
            return 0, 0
        flow_ids = {r.flow_id for r in runs}
        steps = (loaded and loaded.steps_of(flow_ids)) or steps_by_flow(flow_ids)
        cursors = [
            Cursor(run=r, step=steps[r.flow_id]["id"].get(r.current_step_id), due=r.next_due_at) for r in runs
        ]
        sends: list[Cursor] = []
        visits: list[FlowStepVisit] = []
        active = cursors
        while active:
            split_members = _split_members(
                [c for c in active if c.step and c.step.kind == FlowStep.Kind.SPLIT], now
            )
            for cursor in active:
                run_advance(cursor, steps[cursor.run.flow_id], split_members, sends, visits, now)
            active = [c for c in active if c.run.state == FlowRun.State.ACTIVE and c.due <= now]
        _save_runs(cursors, now)
        FlowStepVisit.objects.bulk_create(visits, ignore_conflicts=True)
        created = _texts_create(sends, now) if sends else []
    return len(runs), len(created)


def _texts_create(sends: list[Cursor], now: datetime) -> list[int]:
    """The batch's texts into the outbox, with the stores, rules, steps and customers the batch has
    read: the guardrails read none of them again. A run passes each step once and its claim and
    texts commit together, so the keys are new (one stored meanwhile is still skipped by the insert)."""
    stores = {s.run.customer.store_id: s.run.customer.store for s in sends}
    known = guardrails.Known(
        stores=stores, rules=guardrails.state_rules(stores), steps={s.step.id: s.step for s in sends}
    )
    drafts = _drafts(sends, now, known.rules)
    return message_ids_create(drafts=drafts, now=now, new_keys=True, customers_read=True, known=known)


def _claim(
    *, now: datetime, batch_size: int, flow_id: int | None = None, loaded: LoadedFlows | None = None
) -> list[FlowRun]:
    qs = FlowRun.objects.filter(
        state=FlowRun.State.ACTIVE, next_due_at__lte=now, flow__status=Flow.Status.LIVE
    ).order_by("next_due_at")
    if flow_id is not None:  # the tick advances one flow at a time, so one flow's error stops no other
        qs = qs.filter(flow_id=flow_id)
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    runs = list(qs.select_related("customer__prediction")[:batch_size])
    # Flows and stores are few per batch: load each once rather than once per row.
    flow_ids = {r.flow_id for r in runs}
    flows = {f.pk: f for f in loaded.flows if f.pk in flow_ids} if loaded else {}
    if len(flows) < len(flow_ids):
        flows = Flow.objects.select_related("store").in_bulk(flow_ids)
    stores = {f.store_id: f.store for f in flows.values()}
    for run in runs:
        run.flow = flows[run.flow_id]
        run.customer.store = stores[run.customer.store_id]
    return runs


def steps_by_flow(flow_ids: set[int]) -> StepsByFlow:
    steps = FlowStep.objects.filter(flow_id__in=flow_ids).select_related("template", "offer")
    return steps_index(steps.order_by("position"))


def _split_members(cursors: list[Cursor], now: datetime) -> dict[int, set[int]]:
    """Membership of each split segment among the runs standing at it: one query per segment."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for c in cursors:
        if c.step.segment_id:
            wanted[c.step.segment_id].add(c.run.customer_id)
    segments = _loaded_segments(cursors)
    missing = set(wanted) - segments.keys()
    if missing:
        segments |= Segment.objects.select_related("store").in_bulk(list(missing))
    return {
        s.id: set(members(s, now=now).filter(id__in=wanted[s.id]).values_list("id", flat=True))
        for s in segments.values()
        if s.id in wanted
    }


def _loaded_segments(cursors: list[Cursor]) -> dict[int, Segment]:
    """The split segments read with the steps (the tick's flows), given their flow's store."""
    found = {}
    for c in cursors:
        segment = c.step._state.fields_cache.get("segment") if c.step.segment_id else None
        if segment is not None and segment.store_id == c.run.flow.store_id:
            segment.store = c.run.flow.store
            found[segment.id] = segment
    return found


def _next_after(
    step: FlowStep, by_position: dict[int, FlowStep], position: int | None = None
) -> FlowStep | None:
    if position is not None:
        # Branches only go forward, so a run always ends, even if a step was edited past validation.
        return by_position.get(position) if position > step.position else None
    later = [p for p in by_position if p > step.position]
    return by_position[min(later)] if later else None


def run_advance(
    cursor: Cursor, steps: dict, split_members: dict, sends: list, visits: list, now: datetime
) -> None:
    """The step function: one step of one run at `now`, in memory. Appends the text to send and
    the visit, moves the cursor to the next step and its due time; the tick and the backtest
    both walk runs with it."""
    run, step = cursor.run, cursor.step
    if step is None:
        _finish(run, now)
        return
    late = now - cursor.due > run.flow.max_lateness
    following = _next_after(step, steps["position"])
    if step.kind == FlowStep.Kind.SEND:
        if late:
            minutes = int((now - cursor.due).total_seconds() // 60)
            visits.append(
                FlowStepVisit(run=run, step=step, outcome="skipped", reason=f"late by {minutes} min", at=now)
            )
            run.exit_reason = "late"
        else:
            sends.append(Cursor(run=run, step=step, due=cursor.due))
            visits.append(FlowStepVisit(run=run, step=step, outcome="sent", at=now))
            run.exit_reason = ""
    elif step.kind == FlowStep.Kind.SPLIT:
        yes = not step.segment_id or run.customer_id in split_members.get(step.segment_id, set())
        visits.append(FlowStepVisit(run=run, step=step, outcome="yes" if yes else "no", at=now))
        following = (
            _next_after(step, steps["position"], step.yes_next)
            if yes
            else (_next_after(step, steps["position"], step.no_next) if step.no_next else None)
        )
    elif step.kind == FlowStep.Kind.END:
        visits.append(FlowStepVisit(run=run, step=step, outcome="ended", at=now))
        following = None
    else:
        visits.append(FlowStepVisit(run=run, step=step, outcome="waited", at=now))
    if following is None:
        _finish(run, now)
        cursor.step = None
        return
    tz = run.customer.timezone or run.customer.store.default_timezone
    best = policy.best_hour_of(run.customer) if following.best_hour_within else None
    cursor.due = experiments.step_due(
        following, customer_id=run.customer_id, previous=cursor.due, tz=tz, best_hour=best
    )
    cursor.step = following


def _finish(run: FlowRun, now: datetime) -> None:
    run.state = FlowRun.State.SKIPPED if run.exit_reason == "late" else FlowRun.State.DONE
    run.finished_at = now


def _save_runs(cursors: list[Cursor], now: datetime) -> None:
    """Writes the runs' new state with one UPDATE per distinct move (same step, same shift of the
    due time), not one per run: runs of a batch mostly move alike, and a per-row CASE is slow."""
    moves: dict[tuple, list[int]] = defaultdict(list)
    for c in cursors:
        run = c.run
        if run.state == FlowRun.State.ACTIVE:
            moves[(run.state, c.step.id, run.exit_reason, c.due - run.next_due_at)].append(run.id)
        else:
            moves[(run.state, None, run.exit_reason, None)].append(run.id)
    for (state, step_id, reason, shift), ids in moves.items():
        rows = FlowRun.objects.filter(id__in=ids)
        if step_id is None:
            rows.update(state=state, exit_reason=reason, next_due_at=None, finished_at=now)
        else:
            rows.update(current_step_id=step_id, exit_reason=reason, next_due_at=F("next_due_at") + shift)


def _arm(run: FlowRun, step: FlowStep) -> experiments.Arm | None:
    experiment = getattr(step, "experiment", None)
    return experiments.arm_for(experiment, run.customer_id) if experiment else None


def _drafts(sends: list[Cursor], now: datetime, rules: dict) -> list[MessageDraft]:
    """Render the batch's texts a step (and variant) at a time, in bulk: no queries per run.

    The store's control group and an experiment's holdout get no text; where each run was placed
    is recorded so the holdout can be measured.
    """
    valid_until = texts_valid_until(sends, rules)
    groups: dict[tuple[int, experiments.Arm | None], list[Cursor]] = defaultdict(list)
    placed = []
    for send in sends:
        if experiments.in_control_group(store=send.run.customer.store, customer_id=send.run.customer_id):
            continue
        arm = _arm(send.run, send.step)
        if arm is not None:
            placed.append((send.run.customer_id, arm))
            if arm.variant is None:
                continue
        groups[(send.step.id, arm)].append(send)
    experiments.exposures_record(placed, now=now)
    drafts = []
    for (_, arm), group in groups.items():
        step, flow = group[0].step, group[0].run.flow
        variant = arm.variant if arm else None
        keys = [f"run:{send.run.id}:step:{step.id}" for send in group]
        offer = variant.offer if variant and variant.offer_id else step.offer
        given = (
            offer_codes_give(
                offer=offer,
                recipients=[(k, s.run.customer_id) for k, s in zip(keys, group, strict=True)],
                now=now,
            )
            if offer
            else {}
        )
        rendered = render_messages(
            template_body=(variant.body if variant and variant.body else step.text),
            customers=[send.run.customer for send in group],
            snapshots=[send.run.context for send in group],
            utm_campaign=flow.slug,
            utm_content=f"step-{step.position}" + (f"-{arm.key.lower()}" if arm else ""),
            offer_code=(variant.offer_code if variant and variant.offer_code else step.offer_code),
            offer_codes=[given[k].code for k in keys] if offer else None,
        )
        drafts += [
            MessageDraft(
                customer=send.run.customer,
                body=text.body,
                idempotency_key=key,
                offer_state=_offer_state(given, key),
                links=text.links,
                flow_run_id=send.run.id,
                flow_step_id=step.id,
                variant=arm.code if arm else "",
                priority=flow.priority,
                valid_until=valid_until[(send.run.id, step.id)],
            )
            for send, text, key in zip(group, rendered, keys, strict=True)
        ]
    # Rendered a step at a time, stored in the order the runs reached them: a run that passes two
    # send steps in one tick gets its texts in step order, whichever runs share the steps.
    reached = {(send.run.id, send.step.id): i for i, send in enumerate(sends)}
    drafts.sort(key=lambda draft: reached[(draft.flow_run_id, draft.flow_step_id)])
    return drafts


def _offer_state(given: dict, key: str) -> str:
    """What the policy is told of the text's unique code: "" once it exists in the shop."""
    return "" if key not in given or given[key].state == READY else given[key].state


def texts_valid_until(sends: list[Cursor], rules: dict | None = None) -> dict[tuple[int, int], datetime]:
    """A step due outside the recipient's sending window waits for it; max lateness counts from
    the moment the window lets it go, so an evening text goes the next morning. `rules`: the
    `guardrails.state_rules` of the sends' stores, when the caller has read them."""
    if rules is None:
        rules = guardrails.state_rules({s.run.flow.store_id: s.run.flow.store for s in sends})
    result = {}
    for send in sends:
        customer, store = send.run.customer, send.run.flow.store
        region = (customer.region or policy.region_for_phone(customer.phone)).upper()
        opens = guardrails.first_chance(
            at=send.due,
            store=store,
            rule=rules.get((store.id, region)),
            timezone=customer.timezone,
            step=guardrails.step_window(send.step),
        )
        result[(send.run.id, send.step.id)] = opens + send.run.flow.max_lateness
    return result
