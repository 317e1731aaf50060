"""The one writer of flow runs: `runs_enroll` applies the entry segment, the re-entry policy and
earlier exit events to a trigger's entries with a few queries per flow, never one per customer;
and exit events end the runs they name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    Q,
)

from campaigns.flows.entries import CART_FLOW_IDS, Entry
from campaigns.isolation import flow_pause_on_error
from campaigns.models import Flow, FlowRun
from campaigns.reports import experiments
from customers.models import Customer, CustomerPrediction, Event, Store
from customers.segments import members

# --- the writer -----------------------------------------------------------------------------------


def runs_enroll(*, flow: Flow, entries: list[Entry], now: datetime) -> int:
    """Creates the runs the flow's entry segment, re-entry policy and exit events allow."""
    if not entries:
        return 0
    steps = sorted(flow.steps.all(), key=lambda step: step.position)
    if not steps:
        return 0
    entries = [e for e in entries if e.entered_at >= _too_old(flow, steps, now)]
    if not entries:
        return 0
    allowed = _eligible_timezones(flow, {e.customer_id for e in entries}, now=now)
    entries = [e for e in entries if e.customer_id in allowed]
    entries = _without_reentry(flow, entries)
    entries = without_earlier_exits(flow, entries)
    if not entries:
        return 0
    first = steps[0]
    if not hasattr(first, "experiment"):  # the tick's flows come with their experiments
        experiments.steps_attach([first])  # a timing test on the first step sets its own delay
    best = _best_hours(first, {e.customer_id for e in entries})
    runs = [
        FlowRun(
            flow=flow,
            customer_id=e.customer_id,
            trigger_key=e.trigger_key,
            trigger_event_id=e.event_id,
            entered_at=e.entered_at,
            created_at=now,
            cart_id=e.cart_id,
            checkout_id=e.checkout_id,
            context=e.context,
            current_step=first,
            next_due_at=experiments.step_due(
                first,
                customer_id=e.customer_id,
                previous=e.entered_at,
                tz=allowed[e.customer_id],
                best_hour=best.get(e.customer_id),
            ),
        )
        for e in entries
    ]
    # Its callers each hold a savepoint of their own around it: the batches need no second one.
    with transaction.atomic(savepoint=False):
        created = FlowRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=1000)
    return len(created)


def _best_hours(step, customer_ids: set[int]) -> dict[int, int]:
    if not step.best_hour_within:
        return {}
    found = CustomerPrediction.objects.filter(customer_id__in=customer_ids, best_hour__isnull=False)
    return dict(found.values_list("customer_id", "best_hour"))


def _too_old(flow: Flow, steps: list, now: datetime) -> datetime:
    """Entries before this would find every step overdue (e.g. a history import): they start no run."""
    span = sum((step.delay for step in steps), timedelta()) + flow.max_lateness
    if any(step.window_start for step in steps):
        span += timedelta(days=1)
    span += timedelta(hours=sum(step.best_hour_within or 0 for step in steps))
    return now - span


def _eligible_timezones(flow: Flow, customer_ids: set[int], *, now: datetime) -> dict[int, str]:
    if flow.entry_segment_id:
        qs = members(flow.entry_segment, now=now)
    else:
        qs = Customer.objects.filter(store_id=flow.store_id)
    return dict(qs.filter(id__in=customer_ids).values_list("id", "timezone"))


def _same_scope(entry: Entry, cart_id: str, checkout_id: str) -> bool:
    if entry.cart_id or entry.checkout_id:
        return bool(
            (entry.cart_id and entry.cart_id == cart_id)
            or (entry.checkout_id and entry.checkout_id == checkout_id)
        )
    return True


def _without_reentry(flow: Flow, entries: list[Entry]) -> list[Entry]:
    if not entries:
        return entries
    earliest = min(e.entered_at for e in entries) - timedelta(days=flow.reentry_days)
    existing = FlowRun.objects.filter(
        flow=flow, customer_id__in={e.customer_id for e in entries}, entered_at__gte=earliest
    ).values_list("customer_id", "cart_id", "checkout_id", "entered_at", "trigger_key")
    return reentry_filter(flow, entries, existing=list(existing))


def reentry_filter(flow: Flow, entries: list[Entry], *, existing: list[tuple]) -> list[Entry]:
    """At most one run per customer (per cart when the trigger names one) in `reentry_days`;
    `existing` holds (customer id, cart id, checkout id, entered at, trigger key) of earlier runs."""
    window = timedelta(days=flow.reentry_days)
    recent: dict[int, list[tuple[str, str, datetime]]] = defaultdict(list)
    taken = set()
    for customer_id, cart_id, checkout_id, entered_at, trigger_key in existing:
        recent[customer_id].append((cart_id, checkout_id, entered_at))
        taken.add((customer_id, trigger_key))
    kept = []
    for e in sorted(entries, key=lambda e: (e.entered_at, e.trigger_key)):
        if (e.customer_id, e.trigger_key) in taken:
            continue
        blocked = flow.reentry_days and any(
            _same_scope(e, cart, checkout) and abs(e.entered_at - at) < window
            for cart, checkout, at in recent[e.customer_id]
        )
        if not blocked:
            kept.append(e)
            taken.add((e.customer_id, e.trigger_key))
            recent[e.customer_id].append((e.cart_id, e.checkout_id, e.entered_at))
    return kept


def without_earlier_exits(flow: Flow, entries: list[Entry]) -> list[Entry]:
    """A late cart event whose order already arrived never starts a run."""
    exit_types = flow.exit_event_types
    if not exit_types or not entries:
        return entries
    found = Event.objects.filter(
        customer_id__in={e.customer_id for e in entries},
        type__in=exit_types,
        occurred_at__gte=min(e.entered_at for e in entries),
    ).values_list("customer_id", "occurred_at", "properties")
    exits = defaultdict(list)
    for customer_id, occurred_at, props in found:
        exits[customer_id].append((occurred_at, props))
    return [e for e in entries if not any(exit_matches(e, at, props) for at, props in exits[e.customer_id])]


def exit_matches(entry: Entry, occurred_at: datetime, props: dict) -> bool:
    cart, checkout = str(props.get("cart_id") or ""), str(props.get("checkout_id") or "")
    if (entry.cart_id or entry.checkout_id) and (cart or checkout):
        return _same_scope(entry, cart, checkout)
    return occurred_at >= entry.entered_at


# --- exits ----------------------------------------------------------------------------------------


def runs_exit_for_events(
    *, store: Store, events: list[Event], now: datetime, flows: Iterable[Flow] | None = None
) -> int:
    """Ends active runs whose flow names one of these events as its goal: one UPDATE per flow and
    type. `flows`, when the caller has loaded them, are the store's flows with exit events."""
    types = {e.type for e in events}
    if flows is None:
        flows = Flow.objects.filter(store=store).exclude(exit_events="")
    flows = [f for f in flows if types & set(f.exit_event_types)]
    ended = 0
    for flow in flows:
        for event_type in types & set(flow.exit_event_types):
            match = Q(pk__in=[])
            for event in (e for e in events if e.type == event_type):
                match |= _exit_q(event)
            ended += (
                FlowRun.objects.filter(flow=flow, state=FlowRun.State.ACTIVE)
                .filter(match)
                .update(
                    state=FlowRun.State.EXITED,
                    exit_reason=f"goal: {event_type}",
                    finished_at=now,
                    next_due_at=None,
                )
            )
    return ended


def _exit_q(event: Event) -> Q:
    cart, checkout = (str(event.properties.get(k) or "") for k in CART_FLOW_IDS)
    same_customer = Q(customer_id=event.customer_id)
    if not (cart or checkout):
        return same_customer & Q(entered_at__lte=event.occurred_at)
    same_cart = Q(cart_id="", checkout_id="", entered_at__lte=event.occurred_at)
    if cart:
        same_cart |= Q(cart_id=cart)
    if checkout:
        same_cart |= Q(checkout_id=checkout)
    return same_customer & same_cart


def _enroll_isolated(flow: Flow, entries_of, now: datetime) -> int:
    """One flow whose trigger check fails is paused with its error (shown in the admin, as the
    tick does); the store's other flows go on with the batch."""
    try:
        with transaction.atomic():
            return runs_enroll(flow=flow, entries=entries_of(flow), now=now)
    except Exception as error:
        flow_pause_on_error(flow_id=flow.pk, error=error, now=now)
        return 0
