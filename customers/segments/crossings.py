"""What time alone changes in a rule tree: the customers whose membership may differ between two
moments although nothing of theirs changed, because an event or a date of theirs crossed the edge
of a window ("in the last 7 days", "more than 30 days ago", the engagement tiers).

A stored segment's refresh looks at these customers again, beside those whose rows changed, so its
rows slide with the windows without a full rebuild. Each edge is taken closed on both sides: a
customer looked at once too often changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet

from customers.engagement import HOT_DAYS
from customers.models import Customer, Event, Segment, Store
from customers.segments.compiler import UNIT_DELTA
from customers.segments.schema import ATTRIBUTE_PREFIX, DATETIME, PROFILE_FIELDS


class Global(Exception):
    """The tree ranks customers against the whole store: one customer's change moves others."""


def crossing_queries(
    rules: dict, *, store: Store, since: datetime, until: datetime, seen: tuple[int, ...] = ()
) -> list[QuerySet]:
    """Queries of customer ids (flat `values_list`) whose membership may
    have changed from `since` to `until` by time alone; raises `Global` for a tree with a rank."""
    return _Walk(store, since, until, seen).node(rules or {})


def has_rank(rules: dict, *, store: Store, seen: tuple[int, ...] = ()) -> bool:
    return _ranks(rules or {}, store, seen)


def _rules_of(segment_id: int, store: Store) -> dict | None:
    return Segment.objects.filter(pk=segment_id, store=store).values_list("rules", flat=True).first()


def _ranks(node: dict, store: Store, seen: tuple[int, ...]) -> bool:
    kind = node.get("type", "group")
    if kind == "rank":
        return True
    if kind == "group":
        return any(_ranks(child, store, seen) for child in node.get("children", []))
    if kind == "segment" and node["segment"] not in seen:
        nested = _rules_of(node["segment"], store)
        return bool(nested) and _ranks(nested, store, (*seen, node["segment"]))
    return False


def reads_catalogue(node: dict, *, store: Store, seen: tuple[int, ...] = ()) -> bool:
    """Whether the tree reads products' own columns (category, margin, the id an order lists), which
    change without any customer's rows changing."""
    kind = node.get("type", "group")
    if kind == "group":
        return any(reads_catalogue(child, store=store, seen=seen) for child in node.get("children", []))
    if kind == "segment" and node["segment"] not in seen:
        nested = _rules_of(node["segment"], store)
        return bool(nested) and reads_catalogue(nested, store=store, seen=(*seen, node["segment"]))
    filters = list(node.get("filters", [])) + list((node.get("then_not") or {}).get("filters", []))
    special = {"product", "category", "margin_class"}
    return any(f.get("property") in special for f in filters) or node.get("per") == "category"


class _Walk:
    def __init__(self, store: Store, since: datetime, until: datetime, seen: tuple[int, ...]):
        self.store, self.since, self.until, self.seen = store, since, until, seen

    def node(self, node: dict) -> list[QuerySet]:
        kind = node.get("type", "group")
        if kind == "group":
            return [q for child in node.get("children", []) for q in self.node(child)]
        if kind == "rank":
            raise Global
        method = getattr(self, f"_{kind}", None)
        return method(node) if method is not None else []

    # --- customer columns --------------------------------------------------------------------------

    def _column(self, column: str, offsets: list[timedelta]) -> list[QuerySet]:
        """Customers whose `column` crossed `now + offset` for one of the offsets."""
        customers = Customer.objects.filter(store_id=self.store.pk)
        return [
            customers.filter(
                **{f"{column}__gte": self.since + o, f"{column}__lte": self.until + o}
            ).values_list("pk", flat=True)
            for o in offsets
        ]

    def _profile(self, node: dict) -> list[QuerySet]:
        field, op = node["field"], node.get("op", "eq")
        if field.startswith(ATTRIBUTE_PREFIX) or PROFILE_FIELDS[field][0] != DATETIME:
            return []
        if op in ("within_last_days", "more_than_days_ago"):
            return self._column(field, [timedelta(0), -timedelta(days=node["value"])])
        return []

    def _metric(self, node: dict) -> list[QuerySet]:
        metric, value = node["metric"], node.get("value")
        if metric == "engagement_tier":
            days = [0, HOT_DAYS, self.store.cold_after_days]
            return self._column("last_sms_click_at", [-timedelta(days=d) for d in days])
        values = value if isinstance(value, list) else [value]
        if metric == "days_since_last_order":
            return self._column("last_order_at", [-timedelta(days=v) for v in values])
        if metric == "predicted_next_order_in_days":
            return self._column("predicted_next_order_at", [timedelta(days=v) for v in values])
        return []

    # --- events --------------------------------------------------------------------------------------

    def _edges(self, node: dict) -> list[tuple[timedelta, timedelta]]:
        """The window's edges as (far, near) offsets before now; no window is everything up to now."""
        window = node.get("window")
        if window is None:
            return [(timedelta(0), timedelta(0))]
        unit = UNIT_DELTA[window.get("unit", "days")]
        if "last" in window:
            return [(window["last"] * unit, window["last"] * unit), (timedelta(0), timedelta(0))]
        near, far = window["between"]
        return [(far * unit, far * unit), (near * unit, near * unit)]

    def _events_crossing(self, event_type: str, edges: list[tuple[timedelta, timedelta]]) -> list[QuerySet]:
        events = Event.objects.filter(store_id=self.store.pk, type=event_type)
        return [
            events.filter(occurred_at__gte=self.since - far, occurred_at__lte=self.until - near).values_list(
                "customer_id", flat=True
            )
            for far, near in edges
        ]

    def _event(self, node: dict) -> list[QuerySet]:
        return self._events_crossing(node["event"], self._edges(node))

    def _repetition(self, node: dict) -> list[QuerySet]:
        return self._event(node)

    def _sequence(self, node: dict) -> list[QuerySet]:
        later = self._events_crossing(node["then_not"]["event"], [(timedelta(0), timedelta(0))])
        return self._event(node) + later

    def _segment(self, node: dict) -> list[QuerySet]:
        target = node["segment"]
        if target in self.seen:
            return []
        rules = _rules_of(target, self.store)
        if not rules:
            return []
        return _Walk(self.store, self.since, self.until, (*self.seen, target)).node(rules)
