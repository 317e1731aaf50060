"""The customers' stored metrics (orders, spend, clicks, rewards, predictions), kept current with
set-based updates as events arrive, and rebuilt from history on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast, Coalesce

from customers.ingest.batches import chunks, param_limit
from customers.models import Customer, Event, Store
from customers.money import CENT

# --- metrics ----------------------------------------------------------------------------------

MONEY = DecimalField(max_digits=14, decimal_places=2)
METRIC_TYPES = frozenset({"order_placed", "sms_clicked", "reward_balance_changed", "preference_set"})


class NewEvent(NamedTuple):
    """What the metrics read of an event a batch stored."""

    type: str
    customer_id: int
    occurred_at: datetime
    properties: dict


def customers_refresh(events: list[Event] | list[NewEvent]) -> None:
    """Fold what these new events change into their customers' stored metrics.

    Orders and clicks are added to what is stored (a batch costs what it holds, not the customers'
    whole histories); `customer_metrics_recompute` rebuilds the same figures from history and is
    the reference the nightly schedule runs.
    """
    by_type: dict[str, list[Event | NewEvent]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    _orders_add(by_type.get("order_placed", []))
    _clicks_add(by_type.get("sms_clicked", []))
    for ids in chunks(sorted({e.customer_id for e in by_type.get("reward_balance_changed", [])})):
        _rewards_refresh(ids)
    for ids in chunks(sorted({e.customer_id for e in by_type.get("preference_set", [])})):
        _preferences_refresh(ids)


@dataclass
class _OrdersDelta:
    count: int = 0
    total: Decimal = Decimal("0")
    discounted: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, event: Event | NewEvent) -> None:
        self.count += 1
        # each order's total as the column stores it, as the recompute casts it
        self.total += Decimal(str(event.properties.get("total", 0))).quantize(CENT, ROUND_HALF_UP)
        self.discounted += "discount_code" in event.properties
        self.first = min(self.first or event.occurred_at, event.occurred_at)
        self.last = max(self.last or event.occurred_at, event.occurred_at)


def _customers_add(
    rows: list[tuple],
    columns: list[tuple[str, str, str]],
    derived: list[tuple[str, str]] = (),
    changes: str = "",
) -> None:
    """One UPDATE joining each stored customer (first value of a row) to the batch's values.

    `columns` are (column, PostgreSQL type, how the stored value `{c}` takes the batch's `{v}`);
    `derived` (PostgreSQL only) are (column, expression over the table `{t}` and the batch `d`);
    `changes`, over the first column, when the update changes anything (other rows are not
    rewritten: every rewrite adds an entry to each of the customer table's indexes).
    """
    pg = connection.vendor == "postgresql"
    names = ["id", *(name for name, _, _ in columns)]
    if pg:
        types = ["bigint", *(kind for _, kind, _ in columns)]
        source = f"unnest({', '.join(f'%s::{t}[]' for t in types)}) AS d({', '.join(names)})"
        value = "d.{}".format
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        row = "(" + ", ".join(["%s"] * len(names)) + ")"
        source = f"(VALUES {', '.join([row] * len(rows))}) AS d"
        value = lambda name: f"d.column{names.index(name) + 1}"  # noqa: E731
        adapt = connection.ops.adapt_datetimefield_value
        params = [adapt(v) if isinstance(v, datetime) else v for r in rows for v in r]
    with connection.cursor() as cursor:
        cursor.execute(_customers_update_sql(source, value, columns, derived, changes), params)


def _customers_update_sql(
    source: str, value, columns: list[tuple[str, str, str]], derived: list[tuple[str, str]], changes: str
) -> str:
    table = Customer._meta.db_table
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("min", "max")
    sets = ", ".join(
        f"{name} = " + how.format(c=f"{table}.{name}", v=value(name), least=least, greatest=greatest)
        for name, _, how in columns
    )
    sets += "".join(f", {name} = {how.format(t=table)}" for name, how in derived)
    where = f"{table}.id = {value('id')}"
    if changes:
        first = columns[0][0]
        where += " AND (" + changes.format(c=f"{table}.{first}", v=value(first)) + ")"
    return f"UPDATE {table} SET {sets} FROM {source} WHERE {where}"


SUM = "{c} + {v}"
EARLIEST = "{least}(COALESCE({c}, {v}), {v})"
LATEST = "{greatest}(COALESCE({c}, {v}), {v})"
LATER = "{c} IS NULL OR {c} < {v}"  # when LATEST changes the stored value
ORDER_SUMS = [
    ("order_count", "integer", SUM),
    ("total_spent", "numeric", SUM),
    ("discount_order_count", "integer", SUM),
    ("first_order_at", "timestamptz", EARLIEST),
    ("last_order_at", "timestamptz", LATEST),
]


# On PostgreSQL the same UPDATE also writes the ratios `_order_ratios_refresh` derives; every
# expression in SET reads the row as it was, so each new sum is spelled out again.
_COUNT = "({t}.order_count + d.order_count)"
_TOTAL = "({t}.total_spent + d.total_spent)"
_DISCOUNTED = "({t}.discount_order_count + d.discount_order_count)"
_FIRST = "LEAST(COALESCE({t}.first_order_at, d.first_order_at), d.first_order_at)"
_LAST = "GREATEST(COALESCE({t}.last_order_at, d.last_order_at), d.last_order_at)"
ORDER_RATIOS = [
    ("average_order_value", f"CAST({_TOTAL} / {_COUNT} AS numeric(14, 2))"),
    ("discount_order_share", f"CAST({_DISCOUNTED} AS double precision) / CAST({_COUNT} AS double precision)"),
    (
        "predicted_next_order_at",
        f"CASE WHEN {_COUNT} >= 2 THEN {_LAST} + ({_LAST} - {_FIRST}) / ({_COUNT} - 1) END",
    ),
]


def _orders_add(orders: list[Event | NewEvent]) -> None:
    deltas: dict[int, _OrdersDelta] = {}
    for event in orders:
        deltas.setdefault(event.customer_id, _OrdersDelta()).add(event)
    for ids in chunks(sorted(deltas), param_limit() // (len(ORDER_SUMS) + 1)):
        rows = [
            (pk, d.count, str(d.total), d.discounted, d.first, d.last) for pk in ids for d in [deltas[pk]]
        ]
        if connection.vendor == "postgresql":
            _customers_add(rows, ORDER_SUMS, derived=ORDER_RATIOS)
        else:  # SQLite cannot divide an interval: the ratios follow from the stored sums
            _customers_add(rows, ORDER_SUMS)
            _order_ratios_refresh(Customer.objects.filter(pk__in=ids))


def _clicks_add(clicks: list[Event | NewEvent]) -> None:
    last: dict[int, datetime] = {}
    for event in clicks:
        last[event.customer_id] = max(last.get(event.customer_id, event.occurred_at), event.occurred_at)
    for ids in chunks(sorted(last), param_limit() // 2):
        _customers_add(
            [(pk, last[pk]) for pk in ids], [("last_sms_click_at", "timestamptz", LATEST)], changes=LATER
        )


FOLDED_TYPES = frozenset({"order_placed", "sms_clicked"})


def metrics_update_sql(
    event_type: str, occurred_at: datetime, properties: dict, stored: str
) -> tuple[str, list]:
    """PostgreSQL: the UPDATE that adds one order or click to its customer's metrics, as
    `customers_refresh` would, for a WITH clause to run in the statement that stores the event:
    `stored` names the clause whose `customer_id` is the stored event's (none when the event was
    stored before, so nothing is added twice). Orders and clicks only (`FOLDED_TYPES`): the others
    read the customer's history, which a statement does not see its own insert in."""
    if event_type == "order_placed":
        delta = _OrdersDelta()
        delta.add(NewEvent(event_type, 0, occurred_at, properties))
        columns, derived, changes = ORDER_SUMS, ORDER_RATIOS, ""
        values = [delta.count, str(delta.total), delta.discounted, delta.first, delta.last]
    elif event_type == "sms_clicked":
        columns, derived, changes = [("last_sms_click_at", "timestamptz", LATEST)], [], LATER
        values = [occurred_at]
    else:
        raise ValueError(f"{event_type} events are not added in the storing statement")
    picked = ", ".join(f"%s::{kind} AS {name}" for name, kind, _ in columns)
    source = f"(SELECT customer_id AS id, {picked} FROM {stored}) AS d"
    return _customers_update_sql(source, "d.{}".format, columns, derived, changes), values


def customer_metrics_recompute(*, customer_ids: list[int]) -> None:
    """Every event-derived metric of these customers rebuilt from their whole history."""
    customer_metrics_refresh(customer_ids=customer_ids)
    clicks = Event.objects.filter(customer=OuterRef("pk"), type="sms_clicked").order_by()
    Customer.objects.filter(pk__in=customer_ids).update(
        last_sms_click_at=Subquery(clicks.values("customer").annotate(v=Max("occurred_at")).values("v"))
    )
    _rewards_refresh(customer_ids)
    _preferences_refresh(customer_ids)


def store_metrics_recompute(*, store: Store) -> int:
    """The reference: every customer of the store recomputed from history, a chunk at a time."""
    ids = list(Customer.objects.filter(store=store).order_by("pk").values_list("pk", flat=True))
    for chunk in chunks(ids, 2_000):
        customer_metrics_recompute(customer_ids=chunk)
    return len(ids)


def customer_metrics_refresh(*, customer_ids: list[int]) -> None:
    """Order metrics for these customers from their whole order history, in two UPDATE statements."""
    orders = Event.objects.filter(customer=OuterRef("pk"), type="order_placed").order_by().values("customer")

    def aggregate(expression, queryset=orders):
        return Subquery(queryset.annotate(v=expression).values("v"))

    total = Cast(KT("properties__total"), MONEY)
    discounted = orders.filter(properties__has_key="discount_code")
    with transaction.atomic():
        customers = Customer.objects.filter(pk__in=customer_ids)
        customers.update(
            order_count=Coalesce(aggregate(Count("pk")), 0),
            total_spent=Coalesce(aggregate(Sum(total)), Value(Decimal("0")), output_field=MONEY),
            discount_order_count=Coalesce(aggregate(Count("pk"), discounted), 0),
            first_order_at=aggregate(Min("occurred_at")),
            last_order_at=aggregate(Max("occurred_at")),
        )
        _order_ratios_refresh(customers)


def _money_total():
    if connection.vendor == "sqlite":
        # SQLite stores a whole-number sum as an integer, and integer / integer truncates.
        return Cast(F("total_spent"), FloatField())
    return F("total_spent")


def _order_ratios_refresh(customers) -> None:
    """Average order value, discount share and next order, from the stored counts and sums."""
    customers.update(
        average_order_value=Case(
            When(order_count__gt=0, then=Cast(_money_total() / F("order_count"), MONEY)),
            default=Value(Decimal("0")),
        ),
        discount_order_share=Case(
            When(
                order_count__gt=0,
                then=Cast(F("discount_order_count"), FloatField()) / Cast(F("order_count"), FloatField()),
            ),
            default=Value(0.0),
        ),
        predicted_next_order_at=None,
    )
    _predictions_refresh(customers)


def _predictions_refresh(customers) -> None:
    """Next order expected one average gap after the last."""
    repeat = customers.filter(order_count__gte=2)
    if connection.vendor == "postgresql":
        repeat.update(
            predicted_next_order_at=RawSQL(
                "last_order_at + (last_order_at - first_order_at) / (order_count - 1)", []
            )
        )
        return
    # SQLite has no interval division: the dates come out here and go back in one UPDATE per
    # chunk joining the batch's values (a per-row CASE, as `bulk_update` builds, is slow to build).
    stored = repeat.values_list("pk", "first_order_at", "last_order_at", "order_count")
    rows = [(pk, last + (last - first) / (count - 1)) for pk, first, last, count in stored]
    for chunk in chunks(rows, param_limit() // 2):
        _customers_add(chunk, [("predicted_next_order_at", "timestamptz", "{v}")])


def _latest(event_type: str, key: str):
    return Event.objects.filter(customer=OuterRef("pk"), type=event_type, properties__has_key=key).order_by(
        "-occurred_at", "-pk"
    )


def _rewards_refresh(ids: list[int]) -> None:
    latest = _latest("reward_balance_changed", "balance")
    points = _latest("reward_balance_changed", "points")
    status = _latest("reward_balance_changed", "loyalty_status")
    Customer.objects.filter(pk__in=ids).update(
        reward_balance=Coalesce(
            Subquery(latest.annotate(v=Cast(KT("properties__balance"), MONEY)).values("v")[:1]),
            F("reward_balance"),
            output_field=MONEY,
        ),
        reward_points=Coalesce(
            Subquery(points.annotate(v=Cast(KT("properties__points"), IntegerField())).values("v")[:1]),
            F("reward_points"),
        ),
        loyalty_status=Coalesce(
            Subquery(status.annotate(v=KT("properties__loyalty_status")).values("v")[:1]), F("loyalty_status")
        ),
    )


def _preferences_refresh(ids: list[int]) -> None:
    for prop, column in (("topics", "topics"), ("categories", "favorite_categories")):
        latest = _latest("preference_set", prop)
        Customer.objects.filter(pk__in=ids).filter(Exists(latest)).update(
            **{column: Subquery(latest.annotate(v=KeyTransform(prop, "properties")).values("v")[:1])}
        )
