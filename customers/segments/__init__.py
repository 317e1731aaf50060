"""Segments: a rule tree compiled to one SQL query.

Contract used by campaigns:
    members(segment, *, now) -> QuerySet[Customer]      # the segment's customers, one query
    members_count(segment, *, now) -> int               # how many, without visiting customers
                                                        # when the rules need no customer column
    rules_members(store, rules, *, now) -> QuerySet[Customer]
    reach(queryset) -> Reach                            # "N customers · M reachable by SMS"

Rule tree (JSON), groups nest to any depth:
    {"type": "group", "match": "all" | "any" | "none", "children": [<group or condition>, ...]}
Conditions include (the full list lives in `schema.py`):
    {"type": "profile", "field": "city", "op": "eq", "value": "Austin"}
    {"type": "consent", "status": "subscribed"}
    {"type": "metric", "metric": "discount_order_share", "op": "gte", "value": 0.5}
    {"type": "event", "event": "cart_updated", "window": {"last": 24, "unit": "hours"}}
A tree that does not validate raises `InvalidRules`, whose `.errors` carry the path of each bad node.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from customers.models import Customer, Segment, Store
from customers.segments.compiler import Only, compile_ids, compile_rules
from customers.segments.schema import InvalidRules, RuleError, check, validate

__all__ = [
    "InvalidRules",
    "RuleError",
    "members",
    "members_count",
    "reach",
    "rules_count",
    "rules_members",
    "segment_errors",
    "validate",
]

EMPTY = {"type": "group", "match": "all", "children": []}
# Reachable by SMS: subscribed. Every count of a set of customers says both numbers.
REACHABLE = Q(sms_consent=Customer.Consent.SUBSCRIBED)


@dataclass(frozen=True)
class Reach:
    customers: int
    reachable: int

    def __str__(self) -> str:
        return f"{self.customers:,} customers · {self.reachable:,} reachable by SMS"


def reach(customers: QuerySet[Customer]) -> Reach:
    """How many customers, and how many of them a marketing text can reach: one query."""
    counted = customers.aggregate(customers=Count("pk"), reachable=Count("pk", filter=REACHABLE))
    return Reach(counted["customers"], counted["reachable"])


def reaches(customers: QuerySet[Customer], groups: dict[str, Q]) -> dict[str, Reach]:
    """`reach` of several groups of these customers in one pass over them."""
    counts = {}
    for name, q in groups.items():
        counts[f"{name}__customers"] = Count("pk", filter=q)
        counts[f"{name}__reachable"] = Count("pk", filter=q & REACHABLE)
    counted = customers.aggregate(**counts)
    return {name: Reach(counted[f"{name}__customers"], counted[f"{name}__reachable"]) for name in groups}


def rules_q(store: Store, rules: dict, *, now: datetime) -> Q:
    """The store's customers matching the rules, as a filter."""
    rules = rules or EMPTY
    check(rules)
    return compile_rules(rules, store=store, now=now)


def rules_members(store: Store, rules: dict, *, now: datetime) -> QuerySet[Customer]:
    return Customer.objects.filter(store=store).filter(rules_q(store, rules, now=now))


def members(segment: Segment, *, now: datetime, only: Only | None = None) -> QuerySet[Customer]:
    """The segment's customers at `now`; with `only`, those of them among these customers."""
    rules = segment.rules or EMPTY
    check(rules)
    seen = (segment.pk,) if segment.pk else ()
    q = compile_rules(rules, store=segment.store, now=now, seen=seen, only=only)
    return Customer.objects.filter(store_id=segment.store_id).filter(q)


def rules_count(
    store: Store, rules: dict, *, now: datetime, seen: tuple[int, ...] = (), size: int | None = None
) -> int:
    """How many customers the tree holds; event-only trees are counted from the event tables.
    `size`: the store's number of customers, when the caller has just counted it."""
    rules = rules or EMPTY
    check(rules)
    ids = compile_ids(rules, store=store, now=now, seen=seen, size=size)
    if ids is not None:
        return ids.count()
    q = compile_rules(rules, store=store, now=now, seen=seen, size=size)
    return Customer.objects.filter(store_id=store.pk).filter(q).count()


def members_count(segment: Segment, *, now: datetime) -> int:
    seen = (segment.pk,) if segment.pk else ()
    return rules_count(segment.store, segment.rules, now=now, seen=seen)


def segment_errors(rules: object, *, store: Store, segment_id: int | None = None) -> list[RuleError]:
    """Schema errors plus references to missing segments or back to `segment_id` (a cycle)."""

    def lookup(pk: int) -> dict | None:
        return Segment.objects.filter(pk=pk, store=store).values_list("rules", flat=True).first()

    return validate(rules, segment_lookup=lookup, self_id=segment_id)
