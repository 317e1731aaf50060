"""Segments: a rule tree compiled to one SQL query.

Contract used by campaigns:
    members(segment, *, now) -> QuerySet[Customer]      # the segment's customers, one query
    rules_members(store, rules, *, now) -> QuerySet[Customer]

Rule tree (JSON), groups nest to any depth:
    {"type": "group", "match": "all" | "any" | "none", "children": [<group or condition>, ...]}
Conditions include (the full list lives in the schema):
    {"type": "profile", "field": "city", "op": "eq", "value": "Austin"}
    {"type": "consent", "status": "subscribed"}
    {"type": "metric", "metric": "discount_order_share", "op": "gte", "value": 0.5}
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from customers.models import Customer, Segment, Store

OPS = {"eq": "", "gte": "__gte", "lte": "__lte", "gt": "__gt", "lt": "__lt"}


def _compile(node: dict) -> Q:
    kind = node.get("type")
    if kind == "group":
        parts = [_compile(child) for child in node.get("children", [])]
        if not parts:
            return Q()
        combined = parts[0]
        for part in parts[1:]:
            combined = combined | part if node.get("match") == "any" else combined & part
        return ~combined if node.get("match") == "none" else combined
    if kind == "consent":
        return Q(sms_consent=node["status"])
    if kind in ("profile", "metric"):
        name = node.get("field") or node.get("metric")
        return Q(**{f"{name}{OPS[node.get('op', 'eq')]}": node["value"]})
    raise ValueError(f"unknown condition type {kind!r}")


def rules_members(store: Store, rules: dict, *, now: datetime) -> QuerySet[Customer]:
    return Customer.objects.filter(store=store).filter(_compile(rules or {"type": "group", "children": []}))


def members(segment: Segment, *, now: datetime) -> QuerySet[Customer]:
    return rules_members(segment.store, segment.rules, now=now)
