"""Daily, date-based triggers: win-back, replenishment and a date in the customer's profile.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest

from campaigns.flows.entries import (
    MIN_LEARNED_INTERVALS,
    Entry,
    Epoch,
    _events_with_text,
    _mentions_products,
    product_context,
)
from campaigns.flows.event_triggers import _product_fits
from campaigns.flows.product_triggers import _refs
from campaigns.models import Flow
from customers.models import Customer, EventItem, Product

# --- daily, date-based triggers -------------------------------------------------------------------


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
    last_category = _last_category_bought()
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


def _last_category_bought() -> Subquery:
    """The category of the newest ordered item that has one: orders list their products in
    `items` (the event-item table), not in the event's own product."""
    category = Product.objects.filter(
        store_id=OuterRef("store_id"), external_id=OuterRef("product_external_id"), category__isnull=False
    ).values("category__name")[:1]
    items = (
        EventItem.objects.filter(customer_id=OuterRef("pk"), type="order_placed")
        .annotate(category=Subquery(category))
        .filter(category__isnull=False)
        .order_by("-occurred_at", "-event_id")
        .values("category")[:1]
    )
    return Subquery(items)


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
