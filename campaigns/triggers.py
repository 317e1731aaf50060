"""Who enters which flow, and when: every trigger, set-based.

Each trigger has a selector that only reads (`*_entries`: returns `Entry`s, also used by the
backtest) and shares one writer, `runs_enroll`, which applies the entry segment, the re-entry policy
and earlier exit events with a few queries per flow, never one per customer.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest

from customers.models import Customer, Event, Product, ProductChange, Store
from customers.segments import members

from .isolation import flow_pause_on_error, store_checks_failed, store_checks_recovered
from .models import EventCheckedAhead, EventCheckMark, Flow, FlowRun, FlowTriggerFilter
from .templating import format_money

CART_FLOW_IDS = ("cart_id", "checkout_id")
MIN_LEARNED_INTERVALS = 5


@dataclass
class Entry:
    customer_id: int
    trigger_key: str
    entered_at: datetime
    context: dict = field(default_factory=dict)
    event_id: int | None = None
    cart_id: str = ""
    checkout_id: str = ""


class Epoch(Func):
    """Seconds since 1970 for a datetime column, on SQLite and PostgreSQL alike."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        )


# --- shared helpers -------------------------------------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def filter_matches(rule: FlowTriggerFilter, properties: dict) -> bool:
    have = properties.get(rule.property)
    if rule.op == FlowTriggerFilter.Op.PRESENT:
        return have not in (None, "", [], {})
    if rule.op == FlowTriggerFilter.Op.NE:
        return str(have) != rule.value
    if have is None:
        return False
    if rule.op == FlowTriggerFilter.Op.CONTAINS:
        return rule.value.lower() in str(have).lower()
    if rule.op in (FlowTriggerFilter.Op.GTE, FlowTriggerFilter.Op.LTE):
        left, right = _decimal(have), _decimal(rule.value)
        if left is None or right is None:
            return False
        return left >= right if rule.op == FlowTriggerFilter.Op.GTE else left <= right
    if isinstance(have, bool):
        return str(have).lower() == rule.value.lower()
    return str(have) == rule.value


class Catalog:
    """The store's products an event batch mentions, loaded in one query."""

    def __init__(self, store: Store, events: Iterable[Event]) -> None:
        ids, external = set(), set()
        for event in events:
            if event.product_id:
                ids.add(event.product_id)
            external.update(_item_product_ids(event.properties))
            if event.properties.get("product_id") is not None:
                external.add(str(event.properties["product_id"]))
        products = Product.objects.filter(store=store).filter(Q(id__in=ids) | Q(external_id__in=external))
        products = list(products.select_related("category"))
        self.by_id = {p.id: p for p in products}
        self.by_external = {p.external_id: p for p in products}

    def products_of(self, event: Event) -> list[Product]:
        found = [self.by_id[event.product_id]] if event.product_id in self.by_id else []
        refs = [str(event.properties.get("product_id") or ""), *_item_product_ids(event.properties)]
        for ref in refs:
            product = self.by_external.get(ref)
            if product and product not in found:
                found.append(product)
        return found


def _item_product_ids(properties: dict) -> list[str]:
    items = properties.get("items")
    if not isinstance(items, list):
        return []
    return [str(i["product_id"]) for i in items if isinstance(i, dict) and i.get("product_id") is not None]


def product_context(product: Product) -> dict[str, str]:
    return {
        "product_name": product.name,
        "product_link": product.url,
        "category_name": product.category.name if product.category_id else "",
        "product_tip": product.usage_tip,
    }


def event_context(store: Store, event: Event, catalog: Catalog) -> dict[str, str]:
    props = event.properties
    context: dict[str, str] = {}
    if props.get("cart_url") or props.get("checkout_url"):
        context["cart_link"] = str(props.get("cart_url") or props.get("checkout_url"))
    if props.get("checkout_url"):
        context["checkout_link"] = str(props["checkout_url"])
    products = catalog.products_of(event)
    if products:
        context.update(product_context(products[0]))
    elif isinstance(props.get("items"), list) and props["items"] and isinstance(props["items"][0], dict):
        context["product_name"] = str(props["items"][0].get("name") or "")
    if event.type == "reward_balance_changed" and _decimal(props.get("balance")) is not None:
        context["reward_amount"] = format_money(_decimal(props["balance"]), store.currency)
    if store.rewards_url:
        context["redeem_link"] = store.rewards_url
    for key in CART_FLOW_IDS + ("order_id",):
        if props.get(key) not in (None, ""):
            context[key] = str(props[key])
    return context


def _mentions_products(products: Iterable[Product]) -> Q:
    """Events naming one of the products, by foreign key or in their `items` list.

    `items` is a JSON array; a containment lookup is not portable to SQLite, so the JSON text is
    searched for the `"product_id": "<id>"` pair both databases print the same way.
    """
    products = list(products)
    q = Q(product_id__in=[p.id for p in products])
    for p in products:
        q |= Q(properties_text__contains=f'"product_id": "{p.external_id}"')
        if p.external_id.isdigit():
            q |= Q(properties_text__contains=f'"product_id": {p.external_id}')
    return q


def _events_with_text():
    return Event.objects.annotate(properties_text=Cast("properties", TextField()))


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
    first = steps[0]
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
            next_due_at=first.due_after(e.entered_at, allowed[e.customer_id]),
        )
        for e in entries
    ]
    with transaction.atomic():
        created = FlowRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=1000)
    return len(created)


def _too_old(flow: Flow, steps: list, now: datetime) -> datetime:
    """Entries before this would find every step overdue (e.g. a history import): they start no run."""
    span = sum((step.delay for step in steps), timedelta()) + flow.max_lateness
    if any(step.window_start for step in steps):
        span += timedelta(days=1)
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


def runs_exit_for_events(*, store: Store, events: list[Event], now: datetime) -> int:
    """Ends active runs whose flow names one of these events as its goal: one UPDATE per flow and type."""
    types = {e.type for e in events}
    flows = [
        f for f in Flow.objects.filter(store=store).exclude(exit_events="") if types & set(f.exit_event_types)
    ]
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


# --- event triggers -------------------------------------------------------------------------------


def events_check(*, store_id: int, event_ids: list[int], now: datetime) -> int:
    """Exits, then entries, for one batch of newly recorded events. Returns runs created."""
    store = Store.objects.get(id=store_id)
    events = list(
        Event.objects.filter(store=store, id__in=event_ids)
        .select_related("product__category")
        .order_by("occurred_at", "id")
    )
    if not events:
        return 0
    runs_exit_for_events(store=store, events=events, now=now)
    catalog = Catalog(store, events)
    created = 0
    live = Flow.objects.filter(store=store, status=Flow.Status.LIVE).select_related("store", "entry_segment")
    for flow in live.prefetch_related("filters", "steps"):
        created += _enroll_isolated(flow, lambda f: event_entries(f, events, catalog=catalog), now)
    return created


# --- who checks which event: the queued task and the tick share one record ------------------------
#
# Each store has a mark: every event with an id up to it has been checked. The tick checks what lies
# above the mark and moves it; the task queued on ingestion checks its own events at once and notes
# them as "checked ahead", so the tick skips them. Both take the store's mark row lock first, so an
# event is checked once, whichever path comes first.

EVENT_CHECK_BATCH = 2000
# Ids are handed out when a row is inserted but become visible when its transaction commits, so a
# lower id can appear after a higher one. The tick leaves events younger than this (by received_at)
# for the next tick, and the mark never passes one: an ingest commits well within a minute.
EVENTS_SETTLE = timedelta(minutes=1)
EVENT_TRIGGERS = [Flow.Trigger.EVENT, Flow.Trigger.POST_PURCHASE, Flow.Trigger.REWARD_THRESHOLD]


def _mark_locked(store_id: int) -> EventCheckMark:
    EventCheckMark.objects.get_or_create(store_id=store_id)
    return EventCheckMark.objects.select_for_update().get(store_id=store_id)


def events_check_queued(*, store_id: int, event_ids: list[int], now: datetime) -> int:
    """The task queued on ingestion: checks those of its events the tick has not checked yet."""
    with transaction.atomic():
        mark = _mark_locked(store_id)
        ahead = EventCheckedAhead.objects.filter(event_id__in=event_ids)
        taken = set(ahead.values_list("event_id", flat=True))
        ids = sorted({i for i in event_ids if i > mark.checked_through and i not in taken})
        if not ids:
            return 0
        EventCheckedAhead.objects.bulk_create(EventCheckedAhead(event_id=i, store_id=store_id) for i in ids)
        return events_check(store_id=store_id, event_ids=ids, now=now)


def events_check_pending(*, now: datetime) -> int:
    """The tick's share: every store's events above its mark, in batches. Returns runs created.

    The mark is an event id, so a `--now` in the future moves it only over events that exist: an
    event stored later gets a higher id and is still checked, at its own time.
    """
    cutoff = now - EVENTS_SETTLE
    created = 0
    for store_id in _stores_with_unchecked_events(cutoff):
        try:
            created += _store_events_check_pending(store_id=store_id, cutoff=cutoff, now=now)
        except Exception as error:
            store_checks_failed(store_id=store_id, error=error, now=now)
        else:
            store_checks_recovered(store_id=store_id)
    return created


def _stores_with_unchecked_events(cutoff: datetime) -> list[int]:
    """The stores with events above their mark (settled ones, where the database can tell cheaply)."""
    if connection.vendor != "postgresql":
        mark = EventCheckMark.objects.filter(store_id=OuterRef("pk")).values("checked_through")
        unchecked = Event.objects.filter(
            store_id=OuterRef("pk"), id__gt=OuterRef("mark"), received_at__lte=cutoff
        )
        stores = Store.objects.annotate(mark=Coalesce(Subquery(mark), Value(0))).filter(Exists(unchecked))
        return list(stores.values_list("pk", flat=True))
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
    marks = dict(EventCheckMark.objects.values_list("store_id", "checked_through"))
    return sorted(store_id for store_id, last_id in newest if last_id > marks.get(store_id, 0))


def _store_events_check_pending(*, store_id: int, cutoff: datetime, now: datetime) -> int:
    flows = Flow.objects.filter(store_id=store_id).filter(
        Q(status=Flow.Status.LIVE, trigger__in=EVENT_TRIGGERS) | ~Q(exit_events="")
    )
    checks = flows.exists()  # else the mark just moves on
    created = 0
    while True:
        with transaction.atomic():
            mark = _mark_locked(store_id)
            rows = (
                Event.objects.filter(store_id=store_id, id__gt=mark.checked_through)
                .order_by("id")
                .values_list("id", "received_at")[:EVENT_CHECK_BATCH]
            )
            ids = []
            for event_id, received_at in rows:
                if received_at > cutoff:
                    break
                ids.append(event_id)
            if not ids:
                return created
            ahead = EventCheckedAhead.objects.filter(store_id=store_id, event_id__lte=ids[-1])
            taken = set(ahead.values_list("event_id", flat=True))
            todo = [i for i in ids if i not in taken]
            if checks and todo:
                created += events_check(store_id=store_id, event_ids=todo, now=now)
            ahead.delete()
            EventCheckMark.objects.filter(store_id=store_id).update(checked_through=ids[-1])
        if len(ids) < EVENT_CHECK_BATCH:
            return created


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


# --- product changes ------------------------------------------------------------------------------


def product_changes_check(*, store_id: int, change_ids: list[int], now: datetime) -> int:
    store = Store.objects.get(id=store_id)
    changes = list(
        ProductChange.objects.filter(id__in=change_ids, product__store=store).select_related(
            "product__category"
        )
    )
    created = 0
    for flow in Flow.objects.filter(
        store=store,
        status=Flow.Status.LIVE,
        trigger__in=[Flow.Trigger.BACK_IN_STOCK, Flow.Trigger.PRICE_DROP],
    ):
        created += _enroll_isolated(flow, lambda f: product_change_entries(f, changes, now=now), now)
    return created


def product_change_entries(flow: Flow, changes: list[ProductChange], *, now: datetime) -> list[Entry]:
    if flow.trigger == Flow.Trigger.BACK_IN_STOCK:
        fired = [
            c
            for c in changes
            if c.field == "stock" and c.old_value is not None and c.old_value <= 0 < c.new_value
        ]
        types = ["back_in_stock_requested"] + (["product_viewed"] if flow.include_viewers else [])
    elif flow.trigger == Flow.Trigger.PRICE_DROP:
        fired = [c for c in changes if c.field == "price" and _dropped_enough(c, flow.price_drop_percent)]
        types = ["product_viewed", "cart_updated"]
    else:
        return []
    fired = [c for c in fired if _product_fits(flow, c.product)]
    if not fired:
        return []
    return _interested_entries(flow, fired, types, now=now)


def _dropped_enough(change: ProductChange, percent: Decimal) -> bool:
    if not change.old_value or change.old_value <= 0 or change.new_value >= change.old_value:
        return False
    return (change.old_value - change.new_value) * 100 / change.old_value >= percent


def _interested_entries(
    flow: Flow, fired: list[ProductChange], types: list[str], *, now: datetime
) -> list[Entry]:
    """Everyone who asked for, viewed or carted one of the products in the last `lookback_days`."""
    products = {c.product_id: c.product for c in fired}
    by_external = {p.external_id: p for p in products.values()}
    since = min(c.changed_at for c in fired) - timedelta(days=flow.lookback_days)
    single = Q(product_id__in=products) | Q(properties__product_id__in=list(by_external))
    q = Q(type__in=[t for t in types if t != "cart_updated"]) & single
    if "cart_updated" in types:
        q |= Q(type="cart_updated") & _mentions_products(products.values())
    rows = (
        _events_with_text()
        .filter(store_id=flow.store_id, occurred_at__gte=since, occurred_at__lte=now)
        .filter(q)
        .values_list("customer_id", "product_id", "properties")
    )
    interested: dict[int, set[int]] = defaultdict(set)
    for customer_id, product_id, props in rows:
        named = {product_id} | {by_external[x].id for x in _refs(props) if x in by_external}
        interested[customer_id] |= named & set(products)
    entries = []
    for change in fired:
        context = product_context(change.product)
        if change.field == "price":
            context |= {
                "old_price": format_money(change.old_value, flow.store.currency),
                "new_price": format_money(change.new_value, flow.store.currency),
            }
        entries += [
            Entry(
                customer_id=cid,
                trigger_key=f"change:{change.id}",
                entered_at=change.changed_at,
                context=context,
            )
            for cid, wanted in interested.items()
            if change.product_id in wanted
        ]
    return entries


def _refs(props: dict) -> list[str]:
    single = [str(props["product_id"])] if props.get("product_id") is not None else []
    return single + _item_product_ids(props)


# --- daily, date-based triggers -------------------------------------------------------------------


def date_triggers_check(*, store_id: int, now: datetime) -> int:
    """Win-back, replenishment and date properties; safe to run hourly (one run per trigger key)."""
    created = 0
    for flow in Flow.objects.filter(
        store_id=store_id,
        status=Flow.Status.LIVE,
        trigger__in=[Flow.Trigger.WIN_BACK, Flow.Trigger.REPLENISHMENT, Flow.Trigger.DATE_PROPERTY],
    ).select_related("store"):
        created += _enroll_isolated(flow, lambda f: daily_entries(f, now=now), now)
    return created


def daily_entries(flow: Flow, *, now: datetime) -> list[Entry]:
    if flow.trigger == Flow.Trigger.WIN_BACK:
        return win_back_entries(flow, now=now)
    if flow.trigger == Flow.Trigger.REPLENISHMENT:
        return replenishment_entries(flow, now=now)
    if flow.trigger == Flow.Trigger.DATE_PROPERTY:
        return date_property_entries(flow, now=now)
    return []


CATCH_UP = timedelta(days=2)


def win_back_entries(flow: Flow, *, now: datetime) -> list[Entry]:
    """No order for k × the customer's own average gap (the default gap below two orders)."""
    k = float(flow.winback_multiplier)
    default_gap = flow.winback_default_gap_days * 86400.0
    now_e = now.timestamp()
    last_category = (
        Event.objects.filter(customer_id=OuterRef("pk"), type="order_placed", product__category__isnull=False)
        .order_by("-occurred_at")
        .values("product__category__name")[:1]
    )
    rows = (
        Customer.objects.filter(store_id=flow.store_id, order_count__gte=1, last_order_at__lt=now)
        .annotate(last_e=Epoch("last_order_at"), first_e=Epoch("first_order_at"))
        .annotate(
            gap=Case(
                When(
                    order_count__gte=2,
                    first_order_at__isnull=False,
                    then=Greatest(
                        (F("last_e") - F("first_e")) / (F("order_count") - 1),
                        Value(86400.0),
                        output_field=FloatField(),
                    ),
                ),
                default=Value(default_gap),
                output_field=FloatField(),
            )
        )
        .annotate(due_e=F("last_e") + Value(k) * F("gap"))
        .filter(due_e__lte=now_e, due_e__gt=now_e - CATCH_UP.total_seconds())
        .annotate(last_category=Subquery(last_category))
        .values_list("id", "last_order_at", "last_category")
    )
    return [
        Entry(
            customer_id=cid,
            trigger_key=f"winback:{last:%Y%m%dT%H%M%S}",
            entered_at=now,
            context={"last_category_bought": category or ""},
        )
        for cid, last, category in rows
    ]


def replenishment_windows(*, store_id: int, products: list[Product], default_days: int, now: datetime):
    """Reorder window per product: the median gap between repeat purchases once there are enough,
    else the product's configured window, else the flow's default. Returns {id: (days, source)} and
    the order history it read, {product id: [(customer id, event id, occurred_at), ...]}."""
    history = _consumable_orders(store_id, products, since=now - timedelta(days=730), until=now)
    windows = {}
    for product in products:
        by_customer = defaultdict(list)
        for customer_id, _event_id, at in history[product.id]:
            by_customer[customer_id].append(at)
        intervals = [
            (b - a).total_seconds() / 86400
            for times in by_customer.values()
            for a, b in zip(sorted(times), sorted(times)[1:], strict=False)
            if b > a
        ]
        if len(intervals) >= MIN_LEARNED_INTERVALS:
            windows[product.id] = (max(1, round(statistics.median(intervals))), "learned")
        elif product.reorder_window_days:
            windows[product.id] = (product.reorder_window_days, "product")
        else:
            windows[product.id] = (default_days, "default")
    return windows, history


def _consumable_orders(store_id: int, products: list[Product], *, since: datetime, until: datetime):
    by_external = {p.external_id: p.id for p in products}
    ids = set(by_external.values())
    rows = (
        _events_with_text()
        .filter(store_id=store_id, type="order_placed", occurred_at__gte=since, occurred_at__lte=until)
        .filter(_mentions_products(products))
        .values_list("id", "customer_id", "product_id", "occurred_at", "properties")
    )
    history = defaultdict(list)
    for event_id, customer_id, product_id, at, props in rows:
        named = ({product_id} & ids) | {by_external[x] for x in _refs(props) if x in by_external}
        for pid in named:
            history[pid].append((customer_id, event_id, at))
    return history


def replenishment_entries(flow: Flow, *, now: datetime) -> list[Entry]:
    """N days after an order holding a consumable, unless the customer has bought it again since."""
    products = Product.objects.filter(store_id=flow.store_id, consumable=True).select_related("category")
    products = [p for p in products if _product_fits(flow, p)]
    if not products:
        return []
    windows, history = replenishment_windows(
        store_id=flow.store_id, products=products, default_days=flow.days_after, now=now
    )
    entries = []
    for product in products:
        days, _source = windows[product.id]
        latest: dict[int, tuple[int, datetime]] = {}
        for customer_id, event_id, at in history[product.id]:
            if customer_id not in latest or at > latest[customer_id][1]:
                latest[customer_id] = (event_id, at)
        context = product_context(product) | {"reorder_days": str(days)}
        for customer_id, (event_id, at) in latest.items():
            due = at + timedelta(days=days)
            if now - CATCH_UP < due <= now:
                entries.append(
                    Entry(
                        customer_id=customer_id,
                        trigger_key=f"replenish:{event_id}:{product.id}",
                        event_id=event_id,
                        entered_at=due,
                        context=context,
                    )
                )
    return entries


def date_property_entries(flow: Flow, *, now: datetime) -> list[Entry]:
    """Customers whose date (birthday, anniversary) is today in their own timezone: one query."""
    timezones = (
        Customer.objects.filter(store_id=flow.store_id)
        .values_list("timezone", flat=True)
        .distinct()
        .order_by()
    )
    match = Q(pk__in=[])
    local_dates: dict[str, date] = {}
    for tz in timezones:
        try:
            today = now.astimezone(ZoneInfo(tz)).date()
        except (KeyError, ValueError):
            continue
        local_dates[tz] = today
        match |= Q(timezone=tz) & _date_is(flow.date_property, today)
    rows = Customer.objects.filter(store_id=flow.store_id).filter(match).values_list("id", "timezone")
    return [
        Entry(
            customer_id=cid,
            trigger_key=f"date:{flow.date_property}:{local_dates[tz].isoformat()}",
            entered_at=now,
            context={"date_property": flow.date_property},
        )
        for cid, tz in rows
    ]


def _date_is(prop: str, today: date) -> Q:
    days = [today.day]
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        days.append(29)
    q = Q(pk__in=[])
    for day in days:
        if prop == "birthday":
            q |= Q(birthday__month=today.month, birthday__day=day)
        else:
            q |= Q(**{f"attributes__{prop}__endswith": f"-{today.month:02d}-{day:02d}"})
    return q


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
