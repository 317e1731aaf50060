"""Event triggers (an event, a purchase, a reward threshold): which stored events enter which flows,
and the record of which events were checked, shared by the queued task and the tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    OuterRef,
    Subquery,
)

from campaigns.flows import marks
from campaigns.flows.enrol import _enroll_isolated, runs_exit_for_events
from campaigns.flows.entries import Catalog, Entry, _decimal, event_context, filter_matches, product_context
from campaigns.flows.loaded import CHECKED_AGAINST, EVENT_TRIGGERS, LoadedFlows, checked_against
from campaigns.isolation import store_checks_failed, store_checks_recovered
from campaigns.models import EventCheckedAhead, EventCheckMark, Flow
from customers.models import Customer, Event, Product, Store

# --- event triggers -------------------------------------------------------------------------------


def events_check(
    *, store_id: int, event_ids: list[int], now: datetime, loaded: LoadedFlows | None = None
) -> int:
    """Exits, then entries, for one batch of newly recorded events. Returns runs created.
    `loaded`: the tick's flows, read once for all of its stages."""
    if loaded is None:
        flows = list(
            Flow.objects.filter(CHECKED_AGAINST, store_id=store_id)
            .select_related("store", "entry_segment")
            .prefetch_related("filters", "steps")
        )
    else:
        flows = [f for f in loaded.of_store(store_id) if checked_against(f)]
    if not flows:
        return 0
    live = [f for f in flows if f.status == Flow.Status.LIVE and f.trigger in EVENT_TRIGGERS]
    # Only events a flow enters or leaves on have anything to do here (most are views and the like).
    types = {entry_event_type(f) for f in live} | {t for f in flows for t in f.exit_event_types}
    events = list(
        Event.objects.filter(store_id=store_id, id__in=event_ids, type__in=types)
        .select_related("product__category")
        .order_by("occurred_at", "id")
    )
    if not events:
        return 0
    if loaded is not None:
        loaded.read_steps()
    store = flows[0].store
    runs_exit_for_events(store=store, events=events, now=now, flows=[f for f in flows if f.exit_events])
    catalog = Catalog(store, events)
    entries_of = lambda flow: event_entries(flow, events, catalog=catalog)  # noqa: E731
    return sum(_enroll_isolated(flow, entries_of, now) for flow in live)


# --- who checks which event: the queued task and the tick share one record (flows/marks.py) -------

CHECKED = marks.Checked(
    mark=EventCheckMark,
    ahead=EventCheckedAhead,
    ahead_field="event_id",
    stored=lambda store_id, above: (
        Event.objects.filter(store_id=store_id, id__gt=above).order_by("id").values_list("id", "received_at")
    ),
    check=lambda *, store_id, ids, now: events_check(store_id=store_id, event_ids=ids, now=now),
)


def events_check_queued(*, store_id: int, event_ids: list[int], now: datetime) -> int:
    """The task queued on ingestion: checks those of its events the tick has not checked yet."""
    return marks.check_queued(CHECKED, store_id=store_id, ids=event_ids, now=now)


def events_check_pending(*, now: datetime, loaded: LoadedFlows | None = None) -> int:
    """The tick's share: every store's events above its mark, in batches. Returns runs created.

    The mark is an event id, so a `--now` in the future moves it only over events that exist: an
    event stored later gets a higher id and is still checked, at its own time.
    """
    cutoff = now - marks.SETTLE  # an ingest commits well within a minute
    created = 0
    for store_id, failing in _stores_with_unchecked_events(cutoff):
        try:
            created += _store_events_check_pending(store_id=store_id, cutoff=cutoff, now=now, loaded=loaded)
        except Exception as error:
            store_checks_failed(store_id=store_id, error=error, now=now)
        else:
            if failing:  # its last check failed: the admin's warning goes
                store_checks_recovered(store_id=store_id)
    return created


def _stores_with_unchecked_events(cutoff: datetime) -> list[tuple[int, bool]]:
    """The stores with events above their mark (settled ones, where the database can tell cheaply),
    each with whether its last check failed."""
    if connection.vendor != "postgresql":
        # Written out: built by the ORM, this query took longer to build than to run, every tick.
        stores, events, marks_ = (
            connection.ops.quote_name(model._meta.db_table) for model in (Store, Event, EventCheckMark)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT s.id, COALESCE((SELECT m.error FROM {marks_} m WHERE m.store_id = s.id), '') <> ''
                FROM {stores} s WHERE EXISTS (
                    SELECT 1 FROM {events} e WHERE e.store_id = s.id AND e.received_at <= %s AND e.id >
                        COALESCE((SELECT m.checked_through FROM {marks_} m WHERE m.store_id = s.id), 0)
                ) ORDER BY s.id
                """,
                [connection.ops.adapt_datetimefield_value(cutoff)],
            )
            return [(store_id, bool(failing)) for store_id, failing in cursor.fetchall()]
    # Each store's newest event, one descent of the (store, id) index per store. Asked per store as
    # "any event above the mark?", PostgreSQL may guess that one in every few events is the store's
    # and walk the primary key instead, through every event of 10M for a store that has none (2 s a
    # tick). Ordered by (store, id), only that index can answer. A newest event not yet settled is
    # left to the walk, which stops before it.
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE newest (store_id, id) AS (
                (SELECT store_id, id FROM {table} ORDER BY store_id DESC, id DESC LIMIT 1)
                UNION ALL
                SELECT later.store_id, later.id FROM newest, LATERAL (
                    SELECT store_id, id FROM {table} WHERE store_id < newest.store_id
                    ORDER BY store_id DESC, id DESC LIMIT 1
                ) AS later
            )
            SELECT store_id, id FROM newest
            """
        )
        newest = cursor.fetchall()
    marks = {s: (through, bool(error)) for s, through, error in EventCheckMark.objects.values_list(
        "store_id", "checked_through", "error"
    )}
    return sorted(
        (store_id, marks[store_id][1] if store_id in marks else False)
        for store_id, last_id in newest
        if last_id > marks.get(store_id, (0, False))[0]
    )


def _store_events_check_pending(
    *, store_id: int, cutoff: datetime, now: datetime, loaded: LoadedFlows | None
) -> int:
    if loaded is None:
        checks = Flow.objects.filter(CHECKED_AGAINST, store_id=store_id).exists()
        return marks.check_pending(CHECKED, store_id=store_id, cutoff=cutoff, now=now, checks=checks)
    checks = any(checked_against(flow) for flow in loaded.of_store(store_id))
    check = lambda *, store_id, ids, now: events_check(  # noqa: E731
        store_id=store_id, event_ids=ids, now=now, loaded=loaded
    )
    return marks.check_pending(CHECKED, store_id=store_id, cutoff=cutoff, now=now, checks=checks, check=check)


# The event each family starts a run on; a plain event trigger names its own.
ENTRY_EVENTS = {
    Flow.Trigger.POST_PURCHASE: "order_delivered",
    Flow.Trigger.REWARD_THRESHOLD: "reward_balance_changed",
}


def entry_event_type(flow: Flow) -> str:
    """The event type that can start a run of an event-triggered flow."""
    return ENTRY_EVENTS.get(flow.trigger, flow.event_type)


def event_entries(flow: Flow, events: list[Event], *, catalog: Catalog) -> list[Entry]:
    if flow.trigger == Flow.Trigger.EVENT:
        return _plain_event_entries(flow, events, catalog)
    if flow.trigger == Flow.Trigger.POST_PURCHASE:
        return post_purchase_entries(flow, events, catalog=catalog)
    if flow.trigger == Flow.Trigger.REWARD_THRESHOLD:
        return reward_threshold_entries(flow, events, catalog=catalog)
    return []


def _entry_for(flow: Flow, event: Event, catalog: Catalog, **extra) -> Entry:
    context = event_context(flow.store, event, catalog)
    return Entry(
        customer_id=event.customer_id,
        trigger_key=f"event:{event.id}",
        event_id=event.id,
        entered_at=extra.pop("entered_at", event.occurred_at),
        context={**context, **extra.pop("context", {})},
        cart_id=context.get("cart_id", ""),
        checkout_id=context.get("checkout_id", ""),
    )


def _plain_event_entries(flow: Flow, events: list[Event], catalog: Catalog) -> list[Entry]:
    rules = list(flow.filters.all())
    return [
        _entry_for(flow, e, catalog)
        for e in events
        if e.type == flow.event_type and all(filter_matches(r, e.properties) for r in rules)
    ]


def _product_fits(flow: Flow, product: Product) -> bool:
    if flow.product_id and product.id != flow.product_id:
        return False
    return not flow.category_id or product.category_id == flow.category_id


def post_purchase_entries(flow: Flow, events: list[Event], *, catalog: Catalog) -> list[Entry]:
    """N days after `order_delivered`, for orders holding the flow's product or category."""
    delivered = [e for e in events if e.type == "order_delivered" and e.properties.get("order_id")]
    if not delivered:
        return []
    orders = Event.objects.filter(
        store_id=flow.store_id,
        type="order_placed",
        customer_id__in={e.customer_id for e in delivered},
        properties__order_id__in=[str(e.properties["order_id"]) for e in delivered],
    ).select_related("product__category")
    orders = {(o.customer_id, str(o.properties.get("order_id"))): o for o in orders}
    order_catalog = Catalog(flow.store, orders.values())
    entries = []
    for event in delivered:
        order = orders.get((event.customer_id, str(event.properties["order_id"])))
        products = [p for p in order_catalog.products_of(order) if _product_fits(flow, p)] if order else []
        if not products and (flow.product_id or flow.category_id or not order):
            continue
        extra = product_context(products[0]) if products else {}
        entered_at = event.occurred_at + timedelta(days=flow.days_after)
        entries.append(_entry_for(flow, event, catalog, entered_at=entered_at, context=extra))
    return entries


def reward_threshold_entries(flow: Flow, events: list[Event], *, catalog: Catalog) -> list[Entry]:
    """Balances that cross the threshold upward; a fall, or a rise from above it, enrols no one."""
    changes = [
        e
        for e in events
        if e.type == "reward_balance_changed" and _decimal(e.properties.get("balance")) is not None
    ]
    if not changes:
        return []
    previous = _balances_before(changes)
    threshold = flow.reward_threshold
    entries = []
    for event in changes:
        new = _decimal(event.properties["balance"])
        old = _decimal(event.properties.get("previous_balance"))
        if old is None:
            old = previous.get(event.customer_id, Decimal("0"))
        previous[event.customer_id] = new
        if old < threshold <= new:
            entries.append(_entry_for(flow, event, catalog))
    return entries


def _balances_before(changes: list[Event]) -> dict[int, Decimal]:
    """Each customer's balance before the batch. The earlier event is read whole: a JSON key in a
    subquery comes back as a bare number on SQLite, which the JSON field cannot decode."""
    earliest = min(e.occurred_at for e in changes)
    last_before = (
        Event.objects.filter(
            customer_id=OuterRef("pk"), type="reward_balance_changed", occurred_at__lt=earliest
        )
        .exclude(id__in=[e.id for e in changes])
        .order_by("-occurred_at", "-id")
        .values("id")[:1]
    )
    ids = (
        Customer.objects.filter(id__in={e.customer_id for e in changes})
        .annotate(prev=Subquery(last_before))
        .exclude(prev__isnull=True)
        .values_list("prev", flat=True)
    )
    rows = Event.objects.filter(id__in=list(ids)).values_list("customer_id", "properties")
    return {cid: _decimal(props.get("balance")) or Decimal("0") for cid, props in rows}
