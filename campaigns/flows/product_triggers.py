"""Product triggers: back in stock and price drop, for the customers who showed interest; and the
record of which price and stock changes were checked, shared by the tick and the queued task.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from campaigns.content.templating import format_money
from campaigns.flows import marks
from campaigns.flows.enrol import _enroll_isolated
from campaigns.flows.entries import (
    Entry,
    _events_with_text,
    _item_product_ids,
    _mentions_products,
    product_context,
)
from campaigns.flows.event_triggers import _product_fits
from campaigns.isolation import store_checks_failed
from campaigns.models import Flow, ProductChangeCheckedAhead, ProductChangeCheckMark
from customers.models import ProductChange, Store

# --- product changes ------------------------------------------------------------------------------


def product_changes_check(*, store_id: int, change_ids: list[int], now: datetime) -> int:
    store = Store.objects.get(id=store_id)
    changes = list(
        ProductChange.objects.filter(id__in=change_ids, product__store=store).select_related(
            "product__category"
        )
    )
    created = 0
    for flow in Flow.objects.filter(store=store, status=Flow.Status.LIVE, trigger__in=PRODUCT_TRIGGERS):
        created += _enroll_isolated(flow, lambda f: product_change_entries(f, changes, now=now), now)
    return created


# --- who checks which change: the tick and the queued task share one record (flows/marks.py) ------
# The tick's `products` stage checks what no queued task took, so `manage.py tick` alone (cron, no
# cluster) fires back in stock and price drop.

PRODUCT_TRIGGERS = [Flow.Trigger.BACK_IN_STOCK, Flow.Trigger.PRICE_DROP]
CHECKED = marks.Checked(
    mark=ProductChangeCheckMark,
    ahead=ProductChangeCheckedAhead,
    ahead_field="change_id",
    stored=lambda store_id, above: ProductChange.objects.filter(product__store_id=store_id, id__gt=above)
    .order_by("id")
    .values_list("id", "changed_at"),
    check=lambda *, store_id, ids, now: product_changes_check(store_id=store_id, change_ids=ids, now=now),
)


def product_changes_check_queued(*, store_id: int, change_ids: list[int], now: datetime) -> int:
    """The task queued when changes are stored: checks those the tick has not checked yet."""
    return marks.check_queued(CHECKED, store_id=store_id, ids=change_ids, now=now)


def product_changes_check_pending(*, now: datetime) -> int:
    """The tick's share: every store's changes above its mark, in batches. Returns runs created.

    A change younger than a minute is left for the next tick (its id may be visible before a
    lower one's transaction commits), and so is a change stamped after `now`.
    """
    cutoff = now - marks.SETTLE
    mark = ProductChangeCheckMark.objects.filter(store_id=OuterRef("pk")).values("checked_through")
    unchecked = ProductChange.objects.filter(product__store_id=OuterRef("pk"), id__gt=OuterRef("mark"))
    stores = Store.objects.annotate(mark=Coalesce(Subquery(mark), Value(0))).filter(Exists(unchecked))
    created = 0
    for store_id in stores.values_list("pk", flat=True):
        try:
            created += _store_changes_check_pending(store_id=store_id, cutoff=cutoff, now=now)
        except Exception as error:
            store_checks_failed(store_id=store_id, error=error, now=now)
    return created


def _store_changes_check_pending(*, store_id: int, cutoff: datetime, now: datetime) -> int:
    live = Flow.objects.filter(store_id=store_id, status=Flow.Status.LIVE, trigger__in=PRODUCT_TRIGGERS)
    return marks.check_pending(CHECKED, store_id=store_id, cutoff=cutoff, now=now, checks=live.exists())


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
