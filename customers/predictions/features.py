"""What each customer had done by a cutoff, and (for past cutoffs) what they did after it.

One aggregate query per cutoff over the store's events, grouped by customer (PostgreSQL and SQLite
both run it): the database does the counting, Python only turns the rows into arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

import numpy as np
from django.db.models import Count, DecimalField, Max, Min, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from customers.models import Event, Store

DAY = 86400.0
LABEL_DAYS = 60  # how far after a past cutoff its outcomes are read
MONEY = DecimalField(max_digits=14, decimal_places=2)
NEVER = 365.0  # days standing in for "not in the last year" (no click, no order)

# (name, words for the customer page: the raw value is formatted into them)
FEATURES: list[tuple[str, str]] = [
    ("recency", "last order {:.0f} days ago"),
    ("orders", "{:.0f} orders"),
    ("orders_90", "{:.0f} orders in the last 90 days"),
    ("spend", "{:,.2f} spent in all"),
    ("gap", "usually orders every {:.0f} days"),
    ("cycle", "{:.1f}× their usual gap since the last order"),
    ("ordered", "has ordered ({:.0f} = yes)"),
    ("tenure", "first seen {:.0f} days ago"),
    ("clicks_30", "{:.0f} text clicks in the last 30 days"),
    ("click_recency", "last clicked a text {:.0f} days ago"),
    ("views_30", "{:.0f} product views in the last 30 days"),
    ("carts_30", "{:.0f} carts or checkouts in the last 30 days"),
    ("discount_share", "a code on {:.0%} of orders"),
]
NAMES = [name for name, _ in FEATURES]


@dataclass
class Snapshot:
    """Every customer seen before `cutoff`: features (`X`, model inputs) and their raw values."""

    cutoff: datetime
    customer_ids: np.ndarray
    raw: dict[str, np.ndarray]
    X: np.ndarray
    # after the cutoff (past cutoffs only): days to the first order (NaN: none within LABEL_DAYS),
    # and what was spent within LABEL_DAYS
    next_order_days: np.ndarray
    spend_after: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_ids)

    def rows(self, start: int, stop: int) -> Snapshot:
        """Rows [start, stop) of every array (views, not copies)."""
        return Snapshot(
            self.cutoff,
            self.customer_ids[start:stop],
            {k: v[start:stop] for k, v in self.raw.items()},
            self.X[start:stop],
            self.next_order_days[start:stop],
            self.spend_after[start:stop],
        )


def _aggregates(store: Store, cutoff: datetime, *, outcomes: bool):
    order, before = Q(type="order_placed"), Q(occurred_at__lt=cutoff)
    month, quarter = (
        Q(occurred_at__gte=cutoff - timedelta(days=30)),
        Q(occurred_at__gte=cutoff - timedelta(days=90)),
    )
    after = Q(occurred_at__gte=cutoff)
    total = Cast(KT("properties__total"), MONEY)
    end = cutoff + timedelta(days=LABEL_DAYS) if outcomes else cutoff
    columns = {
        "first_seen": Min("occurred_at", filter=before),
        "orders": Count("pk", filter=order & before),
        "first_order": Min("occurred_at", filter=order & before),
        "last_order": Max("occurred_at", filter=order & before),
        "spend": Sum(total, filter=order & before),
        "orders_90": Count("pk", filter=order & before & quarter),
        "discounted": Count("pk", filter=order & before & Q(properties__has_key="discount_code")),
        "clicks_30": Count("pk", filter=Q(type="sms_clicked") & before & month),
        "last_click": Max("occurred_at", filter=Q(type="sms_clicked") & before),
        "views_30": Count("pk", filter=Q(type="product_viewed") & before & month),
        "carts_30": Count("pk", filter=Q(type__in=("cart_updated", "checkout_started")) & before & month),
    }
    if outcomes:
        columns["next_order"] = Min("occurred_at", filter=order & after)
        columns["spend_after"] = Sum(total, filter=order & after)
    rows = (
        Event.objects.filter(store_id=store.pk, occurred_at__lt=end)
        .values("customer_id")
        .order_by("customer_id")
        .annotate(**columns)
        .filter(first_seen__isnull=False)
        .values_list("customer_id", *columns)
    )
    return list(columns), rows.iterator(chunk_size=BATCH)


def _days_before(cutoff: datetime, moments) -> np.ndarray:
    at = cutoff.timestamp()
    return np.array([(at - m.timestamp()) / DAY if m is not None else np.nan for m in moments], dtype=float)


MOMENTS = {"first_seen", "first_order", "last_order", "last_click", "next_order"}
BATCH = 50_000


def _columns(cutoff: datetime, names: list[str], rows) -> dict[str, np.ndarray]:
    """The rows as one float array per column (moments as days before the cutoff), a batch at a
    time: a million customers never become a million Python tuples at once."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in ["customer_id", *names]}
    batch = list(islice(rows, BATCH))
    while batch:
        for name, values in zip(["customer_id", *names], zip(*batch, strict=True), strict=True):
            if name in MOMENTS:
                parts[name].append(_days_before(cutoff, values))
            else:
                parts[name].append(np.array([float(v or 0) for v in values], dtype=float))
        batch = list(islice(rows, BATCH))
    return {name: np.concatenate(chunks) if chunks else np.zeros(0) for name, chunks in parts.items()}


def snapshot(*, store: Store, cutoff: datetime, outcomes: bool = True) -> Snapshot:
    names, rows = _aggregates(store, cutoff, outcomes=outcomes)
    data = _columns(cutoff, names, rows)
    n = len(data["customer_id"])

    orders = data["orders"]
    first_order, recency, tenure = data["first_order"], data["last_order"], data["first_seen"]
    own_gap = np.where(orders >= 2, (first_order - recency) / np.maximum(orders - 1, 1), np.nan)
    own_gap = np.maximum(own_gap, 1.0)
    default_gap = float(np.nanmedian(own_gap)) if np.isfinite(own_gap).any() else 30.0
    gap = np.where(np.isnan(own_gap), default_gap, own_gap)
    ordered = orders > 0
    raw = {
        "recency": np.where(ordered, recency, NEVER),
        "orders": orders,
        "orders_90": data["orders_90"],
        "spend": data["spend"],
        "gap": gap,
        "own_gap": own_gap,
        "cycle": np.where(ordered, np.minimum(recency / gap, 10.0), 0.0),
        "ordered": ordered.astype(float),
        "tenure": tenure,
        "clicks_30": data["clicks_30"],
        "click_recency": np.minimum(np.nan_to_num(data["last_click"], nan=NEVER), NEVER),
        "views_30": data["views_30"],
        "carts_30": data["carts_30"],
        "discount_share": np.where(ordered, data["discounted"] / np.maximum(orders, 1), 0.0),
    }
    X = np.column_stack([_model_input(name, raw[name]) for name in NAMES]) if n else np.zeros((0, len(NAMES)))
    if outcomes:
        next_order = -data["next_order"]
        spend_after = data["spend_after"]
    else:
        next_order, spend_after = np.full(n, np.nan), np.zeros(n)
    ids = data["customer_id"].astype(np.int64)
    return Snapshot(cutoff, ids, raw, X, next_order, spend_after)


def _model_input(name: str, values: np.ndarray) -> np.ndarray:
    """Counts, money and day spans on a log scale: the tenth order says less than the second."""
    if name in ("cycle", "ordered", "discount_share"):
        return values
    return np.log1p(np.maximum(values, 0.0))
