"""Compile a (validated) rule tree into one Q on Customer: Exists, Subquery and window functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Field,
    Lookup,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from customers.engagement import engagement_tier_q
from customers.models import Customer, Event, EventItem, EventLast, Segment, Store
from customers.segments.conditions import (
    Scope,
    by_product_alone,
    column_condition,
    event_filters,
    json_condition,
    json_path,
    list_condition,
    lookup,
    offer_sensitive_q,
    outer_name,
    products_matching,
)
from customers.segments.schema import (
    ATTRIBUTE_PREFIX,
    DATE,
    DATETIME,
    LIST,
    NUMBER,
    PROFILE_FIELDS,
    InvalidRules,
    RuleError,
    check,
)

EVERYONE = Q(pk__isnull=False)
EMPTY = {"type": "group", "match": "all", "children": []}
RANK_COLUMNS = {"predicted_value": "prediction__predicted_value"}
UNIT_DELTA = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1)}


# What building a Q can still raise for a tree the schema accepts (date arithmetic past
# datetime's range for an unusual `now`): each becomes InvalidRules, so one segment that cannot
# be evaluated never breaks a page that lists many.
EVALUATION_ERRORS = (ArithmeticError, ValueError, TypeError, KeyError, AttributeError)


@dataclass(frozen=True)
class Only:
    """Evaluate a tree for some customers only: a list of ids or a range of them. Every set of
    events the tree reads is narrowed to these customers first, so the per-customer indexes serve
    it; the members found are exactly the full members among them (a rank is still taken over the
    whole store)."""

    ids: tuple[int, ...] | None = None
    low: int | None = None
    high: int | None = None

    def q(self, column: str, *, probed: bool = False) -> Q:
        """`probed`: the rows are also found customer by customer (an index on the customer first),
        so the ids are checked as a filter (a hashed list) rather than as an index condition, which
        PostgreSQL would search again for every customer probed (thousands squared)."""
        if self.ids is not None and connection.vendor == "postgresql":
            lhs = F(column) + Value(0) if probed else F(column)
            return Q(AnyOf(lhs, Value(list(self.ids), output_field=Field())))
        if self.ids is not None:
            return Q(**{f"{column}__in": self.ids})
        bounds = {f"{column}__gte": self.low, f"{column}__lte": self.high}
        return Q(**{lookup: value for lookup, value in bounds.items() if value is not None})


class AnyOf(Lookup):
    """`column = ANY(array)` (PostgreSQL): thousands of ids as one parameter, which plans in a
    fraction of the time of as many `IN (%s, …)` parameters."""

    lookup_name = "any_of"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs}::bigint[])", [*lhs_params, *rhs_params]


def compile_rules(
    rules: dict,
    *,
    store: Store,
    now: datetime,
    seen: tuple[int, ...] = (),
    only: Only | None = None,
    size: int | None = None,
) -> Q:
    """The tree as one Q; InvalidRules when it fails the schema or cannot be evaluated at `now`.
    With `only`, the Q holds for exactly the members among those customers (see `Only`); `size`
    is the store's number of customers when the caller has just counted it (a rank needs it)."""
    rules = rules or EMPTY
    check(rules)
    try:
        q = Compiler(store, now, seen, only, size).node(rules)
        return q & only.q("pk") if only is not None else q
    except InvalidRules:
        raise
    except EVALUATION_ERRORS as exc:
        raise InvalidRules([RuleError("", f"cannot be evaluated: {exc}")]) from exc


@dataclass(frozen=True)
class Ids:
    """A tree's members as a query of customer ids alone, for counting without visiting customers;
    `unique` when no id repeats, so the count needs no DISTINCT. `counted`, when given, is the same
    set in a form cheaper to count than to probe customer by customer; `row`, the same set as a
    condition on the customer's own row, where one reads better than an IN over ids."""

    query: QuerySet
    unique: bool
    counted: QuerySet | None = None
    row: Q | None = None

    def count(self) -> int:
        if self.counted is not None:
            return self.counted.count()
        query = self.query if self.unique else self.query.distinct()
        return query.count()


def compile_ids(
    rules: dict,
    *,
    store: Store,
    now: datetime,
    seen: tuple[int, ...] = (),
    only: Only | None = None,
    size: int | None = None,
) -> Ids | None:
    """The tree as a query of customer ids when it needs no customer column (events, recency, rank),
    else None; the same set as `compile_rules`, which must have accepted the tree first."""
    try:
        ids = Compiler(store, now, seen, only, size).ids(rules or EMPTY)
    except EVALUATION_ERRORS as exc:
        raise InvalidRules([RuleError("", f"cannot be evaluated: {exc}")]) from exc
    if ids is None or only is None:
        return ids
    # a rank is taken over the whole store: narrowed afterwards, through the customers
    narrowed = Customer.objects.filter(only.q("pk"), store_id=store.pk, pk__in=ids.query).values("pk")
    return Ids(narrowed, unique=True)


class Compiler:
    def __init__(
        self,
        store: Store,
        now: datetime,
        seen: tuple[int, ...],
        only: Only | None = None,
        size: int | None = None,
    ):
        self.store = store
        self.now = now
        self.seen = seen
        self.only = only
        self.size = size
        # under an OR or a NOT a set of ids is read whole (a hashed subplan), never probed per
        # customer: narrowing it by an index condition then serves it best
        self.read_whole = False

    def narrowed(self, queryset: QuerySet, column: str = "customer_id") -> QuerySet:
        return queryset.filter(self.only.q(column)) if self.only is not None else queryset

    def node(self, node: dict) -> Q:
        ids = self.ids(node)
        if ids is None:
            return getattr(self, node["type"])(node)
        return ids.row if ids.row is not None else Q(pk__in=ids.query)

    def ids(self, node: dict) -> Ids | None:
        """Customer ids straight from the event, derived or ranking tables, where the node's set is one
        (always for rank, sequence and repetition, so those kinds need no Q method of their own)."""
        kind = node["type"]
        if kind == "group":
            return self.group_ids(node)
        if kind == "event":
            return self.event_ids(node)
        if kind == "rank":
            row = self.top(node)
            return Ids(Customer.objects.filter(row).values("pk"), unique=True, row=row)
        if kind == "sequence":
            return Ids(self.sequence_ids(node), unique=False)
        if kind == "repetition":
            return Ids(self.repetition_ids(node), unique=False)
        return None

    def group_ids(self, node: dict) -> Ids | None:
        children = node.get("children", [])
        if len(children) != 1 or node.get("match", "all") == "none":
            return None
        return self.ids(children[0])

    def group(self, node: dict) -> Q:
        match = node.get("match", "all")
        outer = self.read_whole
        self.read_whole = outer or match in ("any", "none")
        try:
            parts = [self.node(child) for child in node.get("children", [])]
        finally:
            self.read_whole = outer
        if not parts:
            return EVERYONE
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined & part) if match == "all" else (combined | part)
        return ~combined if match == "none" else combined

    # --- customer columns ------------------------------------------------------------------------

    def profile(self, node: dict) -> Q:
        field, op, value = node["field"], node.get("op", "eq"), node.get("value")
        if field.startswith(ATTRIBUTE_PREFIX):
            return json_condition("attributes", field[len(ATTRIBUTE_PREFIX) :], op, value)
        kind = PROFILE_FIELDS[field][0]
        if kind == LIST:
            return list_condition(field, op, value)
        if kind == DATETIME:
            return self.datetime_condition(field, op, value)
        if kind == DATE and op in ("on", "before", "after"):
            lookup = {"on": "exact", "before": "lt", "after": "gt"}[op]
            return Q(**{f"{field}__{lookup}": date.fromisoformat(value[:10])})
        nullable = Customer._meta.get_field(field).null
        return column_condition(field, op, value, nullable=nullable, numeric=kind == NUMBER)

    def datetime_condition(self, field: str, op: str, value: Any) -> Q:
        if op == "within_last_days":
            return Q(**{f"{field}__gte": self.now - timedelta(days=value), f"{field}__lte": self.now})
        if op == "more_than_days_ago":
            return Q(**{f"{field}__lt": self.now - timedelta(days=value)})
        if op in ("before", "after"):
            tz = ZoneInfo(self.store.default_timezone)
            start = datetime.combine(date.fromisoformat(value[:10]), time(), tzinfo=tz)
            if op == "before":
                return Q(**{f"{field}__lt": start})
            return Q(**{f"{field}__gte": start + timedelta(days=1)})
        return Q(**{f"{field}__isnull": op == "is_not_set"})

    def consent(self, node: dict) -> Q:
        q = Q(sms_consent=node["status"])
        return ~q if node.get("op") == "is_not" else q

    def preference(self, node: dict) -> Q:
        field = "topics" if node.get("kind", "topic") == "topic" else "favorite_categories"
        return list_condition(field, node.get("op", "has"), node["value"])

    def loyalty(self, node: dict) -> Q:
        return column_condition("loyalty_status", node.get("op", "eq"), node.get("value"), nullable=False)

    def metric(self, node: dict) -> Q:
        metric, op, value = node["metric"], node.get("op", "eq"), node.get("value")
        if metric == "engagement_tier":
            q = self.engagement(value)
            return ~q if op == "neq" else q
        if metric == "days_since_last_order":
            return self.days_condition("last_order_at", op, value, sign=-1)
        if metric == "predicted_next_order_in_days":
            return self.days_condition("predicted_next_order_at", op, value, sign=1)
        if metric == "churn_risk":  # the store's latest predictions (customers/predictions/)
            q = Q(prediction__churn_band=value)
            return ~q if op == "neq" else q
        if metric in ("order_probability", "offer_uplift"):  # in percent or points: stored as 0–1
            share = [v / 100 for v in value] if op == "between" else value / 100
            return column_condition(f"prediction__{metric}", op, share, nullable=True, numeric=True)
        if metric == "best_hour":
            return column_condition("prediction__best_hour", op, value, nullable=True, numeric=True)
        if metric == "offer_sensitive":
            q = offer_sensitive_q()
            return q if (value == "yes") == (op == "eq") else ~q
        return column_condition(metric, op, value, nullable=False, numeric=True)

    def days_condition(self, field: str, op: str, value: Any, *, sign: int) -> Q:
        """Days between now and a date column: `sign` -1 for days since, +1 for days until."""

        def at(days: float) -> datetime:
            return self.now + sign * timedelta(days=days)

        if op == "between":
            low, high = sorted((at(value[0]), at(value[1])))
            return Q(**{f"{field}__gte": low, f"{field}__lte": high})
        # more days since means an earlier date; more days until means a later one
        flipped = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}[op] if sign < 0 else op
        return Q(**{f"{field}__{flipped}": at(value)})

    def engagement(self, tier: str) -> Q:
        return engagement_tier_q(tier, now=self.now, store=self.store)

    def top(self, node: dict) -> Q:
        """Top N % of the store by a metric, ties kept together: everyone at or above the value of
        the k-th highest, k the largest rank within N % of the store's customers (the same set as
        RANK() <= k over the store, read from the (store, metric) index without ranking everyone)."""
        metric, percent = RANK_COLUMNS.get(node["metric"], node["metric"]), node["top_percent"]
        size = self.size
        if size is None:
            size = Customer.objects.filter(store_id=self.store.pk).count()
        within = top_positions(size, percent)
        if within == 0:
            return Q(pk__in=[])
        positive = Q(store_id=self.store.pk, **{f"{metric}__gt": 0})
        ranked = Customer.objects.filter(positive).order_by(F(metric).desc()).values(metric)
        threshold = ranked[within - 1 : within]
        # fewer positive customers than k: every one of them is within the top N %
        lowest = Coalesce(Subquery(threshold), Value(0), output_field=threshold.query.output_field)
        return positive & Q(**{f"{metric}__gte": lowest})

    # --- events ----------------------------------------------------------------------------------

    def window(self, node: dict) -> Scope:
        window = node.get("window")
        if window is None:
            return Scope(self.store.pk, node["event"], None, self.now)
        unit = UNIT_DELTA[window.get("unit", "days")]
        if "last" in window:
            return Scope(self.store.pk, node["event"], self.now - window["last"] * unit, self.now)
        near, far = window["between"]
        return Scope(self.store.pk, node["event"], self.now - far * unit, self.now - near * unit)

    def events(self, node: dict) -> QuerySet[Event]:
        """The store's events of the node's type, filters and window; not tied to one customer."""
        scope = self.window(node)
        events = Event.objects.filter(
            store_id=scope.store_id, type=scope.event_type, occurred_at__lte=scope.until
        )
        if scope.since is not None:
            events = events.filter(occurred_at__gte=scope.since)
        return self.narrowed(events).filter(event_filters(node.get("filters", []), scope=scope))

    # "Did it" reads the matching events once (an IN over their customer ids, which the event
    # indexes serve); "never did it" is an anti-join (NOT EXISTS) per customer.

    def event(self, node: dict) -> Q:
        """Only the negative forms reach here: every positive form is a set of ids (`event_ids`)."""
        events = self.events(node)
        count = node.get("count") or {"op": "gte", "value": 1}
        op, n = count.get("op", "gte"), count.get("value", 1)
        if op == "gte" and n == 0:
            return EVERYONE
        if op == "zero" or (op in ("eq", "lte") and n == 0):
            scope = self.window(node)
            if not node.get("filters") and scope.until == self.now:
                outer, self.read_whole = self.read_whole, True  # a NOT IN reads its set whole
                try:
                    return ~Q(pk__in=self.recent_ids(node, scope).query)
                finally:
                    self.read_whole = outer
            return ~Q(Exists(events.filter(customer=OuterRef("pk"))))
        return ~Q(pk__in=counted(events, gte=n + 1))  # at most n

    def event_ids(self, node: dict) -> Ids | None:
        count = node.get("count") or {"op": "gte", "value": 1}
        op, n = count.get("op", "gte"), count.get("value", 1)
        if op == "zero" or op == "lte" or (op in ("gte", "eq") and n == 0):
            return None
        scope = self.window(node)
        if op == "gte" and n == 1:
            if not node.get("filters") and scope.until == self.now:
                return self.recent_ids(node, scope)
            if by_product_alone(node.get("filters", [])):
                return Ids(self.product_customers(node["filters"][0], scope), unique=True)
            return Ids(self.events(node).values("customer_id"), unique=False)
        return Ids(counted(self.events(node), gte=n, lte=n if op == "eq" else None), unique=True)

    def recent_ids(self, node: dict, scope: Scope) -> Ids:
        """Who did it at least once since the window opened: one row per customer in the last-event
        table, so the ids are unique.

        The last time is after `now` only for events stamped in the future (or a `now` in the past);
        those few rows are checked against the events themselves. Probed per customer (a page of
        members) one OR reads best; counted, two disjoint index ranges added up do.
        """
        everyone = EventLast.objects.filter(store_id=scope.store_id, type=scope.event_type)
        last = self.narrowed(everyone)
        probe = last
        if self.only is not None and not self.read_whole:
            probe = everyone.filter(self.only.q("customer_id", probed=True))
        current = Q(last_at__lte=scope.until)
        if scope.since is not None:
            current &= Q(last_at__gte=scope.since)
        in_window = self.events(node).filter(customer_id=OuterRef("customer_id"))
        later = Q(last_at__gt=scope.until) & Q(Exists(in_window))
        probed = probe.filter(current | later).values("customer_id")
        counted = (
            last.filter(current)
            .values("customer_id")
            .union(last.filter(later).values("customer_id"), all=True)
        )
        return Ids(probed, unique=True, counted=counted)

    def product_customers(self, item: dict, scope: Scope) -> QuerySet:
        """Customers with an event of the scope about a matching product, its own or among its items:
        read from the event index and the event-item table, without visiting the events themselves."""
        products = products_matching(item["property"], item.get("op", "eq"), item.get("value"), scope=scope)
        window = {"store_id": scope.store_id, "type": scope.event_type, "occurred_at__lte": scope.until}
        if scope.since is not None:
            window["occurred_at__gte"] = scope.since
        own = self.narrowed(Event.objects.filter(**window, product__in=products)).values("customer_id")
        listed = EventItem.objects.filter(**window, product_external_id__in=products.values("external_id"))
        return own.union(self.narrowed(listed).values("customer_id"))

    def sequence_ids(self, node: dict) -> QuerySet:
        follow = node["then_not"]
        later = Event.objects.filter(
            customer=OuterRef("customer"),
            type=follow["event"],
            occurred_at__gt=OuterRef("occurred_at"),
            occurred_at__lte=self.now,
        ).filter(
            event_filters(
                follow.get("filters", []), scope=Scope(self.store.pk, follow["event"], None, self.now)
            )
        )
        same = node.get("same")
        if same:
            path = json_path("properties", same)
            later = later.filter(Q(lookup(path, "exact", OuterRef(outer_name(same)))))
        return self.events(node).filter(~Exists(later)).values("customer_id")

    def repetition_ids(self, node: dict) -> QuerySet:
        per = node.get("per", "product")
        events = self.events(node)
        if per == "product":
            grouped = events.filter(product__isnull=False).values("customer", "product")
        elif per == "category":
            grouped = events.filter(product__category__isnull=False).values("customer", "product__category")
        else:
            grouped = events.annotate(per_key=json_path("properties", per)).filter(per_key__isnull=False)
            grouped = grouped.values("customer", "per_key")
        repeated = grouped.annotate(times=Count("*")).filter(times__gte=node["at_least"])
        return repeated.values("customer")

    def segment(self, node: dict) -> Q:
        target = node["segment"]
        if target in self.seen:
            raise InvalidRules([RuleError("segment", f"segment {target} refers back to itself")])
        rules = (
            Segment.objects.filter(pk=target, store_id=self.store.pk).values_list("rules", flat=True).first()
        )
        if rules is None:
            raise InvalidRules([RuleError("segment", f"no segment {target} in this store")])
        try:
            q = compile_rules(
                rules,
                store=self.store,
                now=self.now,
                seen=(*self.seen, target),
                only=self.only,
                size=self.size,
            )
        except InvalidRules as exc:
            reason = exc.errors[0]
            where = reason.path or "rules"
            raise InvalidRules(
                [RuleError("segment", f"segment {target} is broken ({where}: {reason.message})")]
            ) from exc
        return ~q if node.get("op") == "not_in" else q


def top_positions(size: int, percent: float) -> int:
    """The largest rank r with r × 100 ≤ size × percent, in the floating point the SQL form used."""
    cutoff = float(size) * float(percent)
    within = max(0, int(cutoff // 100))
    while (within + 1) * 100 <= cutoff:
        within += 1
    while within > 0 and within * 100 > cutoff:
        within -= 1
    return within


def counted(events: QuerySet[Event], *, gte: int, lte: int | None = None) -> QuerySet:
    """Customer ids with at least `gte` (and at most `lte`) of the events."""
    grouped = events.values("customer").annotate(times=Count("*")).filter(times__gte=gte)
    grouped = grouped.filter(times__lte=lte) if lte is not None else grouped
    return grouped.values("customer")
