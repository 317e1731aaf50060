"""The rule-tree schema: what a segment may say, and clear errors (with a path) when it says it wrong.

A tree is a group; groups nest to any depth:
    {"type": "group", "match": "all" | "any" | "none", "children": [<group or condition>, ...]}

Conditions:
    profile     {"field": "city" | "attributes.<key>", "op": ..., "value": ...}
    consent     {"status": "subscribed", "op": "is" | "is_not"}
    preference  {"kind": "topic" | "category", "value": "deals", "op": "has" | "has_not"}
    loyalty     {"op": "eq" | "neq" | "in" | "is_set" | "is_not_set", "value": "gold"}
    metric      {"metric": "order_count", "op": "gte", "value": 3}
    rank        {"metric": "total_spent" | "average_order_value", "top_percent": 10}
    event       {"event": "cart_updated", "filters": [...], "count": {"op": "gte", "value": 1},
                 "window": {"last": 24, "unit": "hours"} | {"between": [15, 60], "unit": "days"}}
    sequence    {"event": "checkout_started", "filters": [...], "window": ...,
                 "then_not": {"event": "order_placed", "filters": [...]}, "same": "cart_id"}
    repetition  {"event": "product_viewed", "per": "product" | "category" | "<property>",
                 "at_least": 3, "window": ...}
    segment     {"segment": <id>, "op": "in" | "not_in"}
An event filter is {"property": "product" | "category" | "margin_class" | "<property key>",
"op": ..., "value": ...}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MATCHES = ("all", "any", "none")

TEXT, NUMBER, DATE, DATETIME, LIST, ANY = "text", "number", "date", "datetime", "list", "any"

PROFILE_FIELDS: dict[str, tuple[str, str]] = {
    "first_name": (TEXT, "First name"),
    "last_name": (TEXT, "Last name"),
    "email": (TEXT, "Email"),
    "phone": (TEXT, "Phone"),
    "external_id": (TEXT, "External id"),
    "city": (TEXT, "City"),
    "region": (TEXT, "State"),
    "language": (TEXT, "Language"),
    "timezone": (TEXT, "Timezone"),
    "frequency": (TEXT, "Preferred frequency"),
    "preferred_store": (TEXT, "Preferred store"),
    "loyalty_status": (TEXT, "Loyalty status"),
    "sms_consent": (TEXT, "SMS consent"),
    "reward_balance": (NUMBER, "Reward balance"),
    "reward_points": (NUMBER, "Reward points"),
    "order_count": (NUMBER, "Order count"),
    "total_spent": (NUMBER, "Total spent"),
    "average_order_value": (NUMBER, "Average order value"),
    "discount_order_share": (NUMBER, "Share of orders with a discount"),
    "birthday": (DATE, "Birthday"),
    "created_at": (DATETIME, "Signed up"),
    "sms_consent_at": (DATETIME, "Consent changed"),
    "first_order_at": (DATETIME, "First order"),
    "last_order_at": (DATETIME, "Last order"),
    "last_sms_click_at": (DATETIME, "Last SMS click"),
    "topics": (LIST, "Topics"),
    "favorite_categories": (LIST, "Favourite categories"),
}
ATTRIBUTE_PREFIX = "attributes."

OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    TEXT: ("eq", "neq", "contains", "not_contains", "starts_with", "in", "not_in", "is_set", "is_not_set"),
    NUMBER: ("eq", "neq", "gt", "gte", "lt", "lte", "between", "is_set", "is_not_set"),
    DATE: ("on", "before", "after", "is_set", "is_not_set"),
    DATETIME: ("within_last_days", "more_than_days_ago", "before", "after", "is_set", "is_not_set"),
    LIST: ("has", "has_not", "is_empty", "is_not_empty"),
    ANY: ("eq", "neq", "contains", "gt", "gte", "lt", "lte", "exists", "not_exists"),
}
NO_VALUE_OPS = {"is_set", "is_not_set", "is_empty", "is_not_empty", "exists", "not_exists"}

CONSENT_STATUSES = ("none", "pending", "subscribed", "unsubscribed")
TOPICS = ("deals", "drops", "restocks")
LOYALTY_OPS = ("eq", "neq", "in", "is_set", "is_not_set")

METRICS: dict[str, str] = {
    "order_count": "Order count",
    "total_spent": "Total spent (LTV)",
    "average_order_value": "Average order value",
    "days_since_last_order": "Days since last order",
    "discount_order_share": "Share of orders with a discount",
    "predicted_next_order_in_days": "Days until predicted next order",
    "engagement_tier": "Engagement tier",
}
METRIC_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
DAY_METRIC_OPS = ("gt", "gte", "lt", "lte", "between")
ENGAGEMENT_TIERS = ("hot", "warm", "cold")
RANK_METRICS = ("total_spent", "average_order_value")

EVENT_TYPES = (
    "product_viewed",
    "cart_updated",
    "checkout_started",
    "order_placed",
    "order_delivered",
    "back_in_stock_requested",
    "reward_balance_changed",
    "preference_set",
    "sms_sent",
    "sms_delivered",
    "sms_clicked",
    "sms_opted_out",
)
EVENT_FILTER_SPECIAL = {"product": "Product", "category": "Category", "margin_class": "Product margin"}
EVENT_FILTER_OPS = OPS_BY_TYPE[ANY]
COUNT_OPS = ("gte", "lte", "eq", "zero")
UNITS = ("minutes", "hours", "days")
CONDITION_TYPES = (
    "profile",
    "consent",
    "preference",
    "loyalty",
    "metric",
    "rank",
    "event",
    "sequence",
    "repetition",
    "segment",
)
MAX_DEPTH = 12
PROPERTY_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


@dataclass(frozen=True)
class RuleError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class InvalidRules(ValueError):
    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.path or 'rules'}: {e.message}" for e in errors))


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def validate(rules: Any, *, segment_lookup=None, self_id: int | None = None) -> list[RuleError]:
    """Every problem in the tree, each at its node's path.

    `segment_lookup(id)` returns the rules of another segment of the same store (None when it does
    not exist); with it, references are checked and a reference back to `self_id` is refused.
    """
    errors: list[RuleError] = []
    _Checker(errors, segment_lookup, self_id).group(rules, "", depth=0)
    return errors


def check(rules: Any, **kwargs) -> None:
    errors = validate(rules, **kwargs)
    if errors:
        raise InvalidRules(errors)


class _Checker:
    def __init__(self, errors: list[RuleError], segment_lookup, self_id: int | None):
        self.errors = errors
        self.segment_lookup = segment_lookup
        self.self_id = self_id

    def fail(self, path: str, message: str) -> None:
        self.errors.append(RuleError(path, message))

    def node(self, node: Any, path: str, depth: int) -> None:
        if not isinstance(node, dict):
            return self.fail(path, "must be a group or a condition (an object)")
        kind = node.get("type")
        if kind == "group":
            return self.group(node, path, depth + 1)
        if kind not in CONDITION_TYPES:
            options = ", ".join(("group",) + CONDITION_TYPES)
            return self.fail(join(path, "type"), f"unknown type {kind!r}; expected one of {options}")
        getattr(self, kind)(node, path)

    def group(self, node: Any, path: str, depth: int) -> None:
        if depth == 0 and isinstance(node, dict) and node.get("type") in CONDITION_TYPES:
            return self.node(node, path, depth)  # a single condition is a tree of its own
        if not isinstance(node, dict) or node.get("type") != "group":
            return self.fail(path, 'the top of a rule tree must be a group ({"type": "group", ...})')
        if depth > MAX_DEPTH:
            return self.fail(path, f"groups nest at most {MAX_DEPTH} deep")
        if node.get("match", "all") not in MATCHES:
            self.fail(join(path, "match"), "must be one of all, any, none")
        children = node.get("children", [])
        if not isinstance(children, list):
            return self.fail(join(path, "children"), "must be a list")
        for index, child in enumerate(children):
            self.node(child, join(join(path, "children"), index), depth)

    # --- value helpers -------------------------------------------------------------------------

    def number(self, node: dict, key: str, path: str, *, minimum: float | None = None) -> Any:
        value = node.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(join(path, key), "must be a number")
            return None
        if minimum is not None and value < minimum:
            self.fail(join(path, key), f"must be at least {minimum:g}")
        return value

    def choice(self, node: dict, key: str, path: str, options, *, default: Any = None) -> Any:
        value = node.get(key, default)
        if value not in options:
            self.fail(join(path, key), f"must be one of {', '.join(map(str, options))}")
        return value

    def text(self, node: dict, key: str, path: str) -> Any:
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(join(path, key), "must be a non-empty text")
        return value

    def typed_value(self, node: dict, path: str, kind: str, op: str) -> None:
        if op in NO_VALUE_OPS:
            return
        key = join(path, "value")
        if "value" not in node:
            return self.fail(key, "is required")
        value = node["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                self.fail(key, "must be a non-empty list of texts")
        elif op == "between":
            if not (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            ):
                self.fail(key, "must be two numbers [low, high]")
            elif value[0] > value[1]:
                self.fail(key, "the first number must not exceed the second")
        elif kind == NUMBER or op in ("within_last_days", "more_than_days_ago"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(key, "must be a number")
        elif kind in (DATE, DATETIME):
            if not isinstance(value, str) or not _is_iso_date(value):
                self.fail(key, "must be a date, e.g. 2026-11-26")
        elif kind in (TEXT, LIST):
            if not isinstance(value, str):
                self.fail(key, "must be a text")
        elif kind == ANY:
            if op in ("gt", "gte", "lt", "lte") and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                self.fail(key, "must be a number")
            elif op == "contains" and not isinstance(value, str):
                self.fail(key, "must be a text")
            elif not isinstance(value, str | int | float | bool):
                self.fail(key, "must be a text, a number or true/false")

    def window(self, node: dict, path: str) -> None:
        window = node.get("window")
        if window is None:
            return
        path = join(path, "window")
        if not isinstance(window, dict):
            return self.fail(path, "must be an object")
        self.choice(window, "unit", path, UNITS, default="days")
        if "last" in window:
            self.number(window, "last", path, minimum=1)
        elif "between" in window:
            between = window["between"]
            if not (isinstance(between, list) and len(between) == 2) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in between
            ):
                self.fail(join(path, "between"), "must be two numbers [from, to] of at least 0")
            elif between[0] > between[1]:
                self.fail(join(path, "between"), "the first number must not exceed the second")
        else:
            self.fail(path, 'needs "last" (in the last N) or "between" ([N, M] ago)')

    def filters(self, node: dict, path: str) -> None:
        filters = node.get("filters", [])
        if not isinstance(filters, list):
            return self.fail(join(path, "filters"), "must be a list")
        for index, item in enumerate(filters):
            where = join(join(path, "filters"), index)
            if not isinstance(item, dict):
                self.fail(where, "must be an object")
                continue
            self.property_name(item, "property", where)
            op = self.choice(item, "op", where, OPS_BY_TYPE[ANY], default="eq")
            self.typed_value(item, where, ANY, op)

    def property_name(self, node: dict, key: str, path: str) -> None:
        value = node.get(key)
        if not isinstance(value, str) or not PROPERTY_NAME.match(value) or "__" in value:
            self.fail(join(path, key), "must be a property name such as cart_id or items.0.sku")

    def event_name(self, node: dict, path: str) -> None:
        name = node.get("event")
        if (
            not isinstance(name, str)
            or not name
            or not name.replace("_", "").isalnum()
            or name != name.lower()
        ):
            self.fail(join(path, "event"), "must be an event type in lower_snake_case, e.g. cart_updated")

    # --- conditions ----------------------------------------------------------------------------

    def profile(self, node: dict, path: str) -> None:
        field = node.get("field")
        if isinstance(field, str) and field.startswith(ATTRIBUTE_PREFIX):
            kind = ANY
            self.property_name({"field": field[len(ATTRIBUTE_PREFIX) :]}, "field", path)
        elif field in PROFILE_FIELDS:
            kind = PROFILE_FIELDS[field][0]
        else:
            return self.fail(join(path, "field"), "must be a customer field or attributes.<key>")
        op = self.choice(node, "op", path, OPS_BY_TYPE[kind], default="eq")
        self.typed_value(node, path, kind, op)

    def consent(self, node: dict, path: str) -> None:
        self.choice(node, "status", path, CONSENT_STATUSES)
        self.choice(node, "op", path, ("is", "is_not"), default="is")

    def preference(self, node: dict, path: str) -> None:
        kind = self.choice(node, "kind", path, ("topic", "category"), default="topic")
        self.choice(node, "op", path, ("has", "has_not"), default="has")
        if kind == "topic":
            self.choice(node, "value", path, TOPICS)
        else:
            self.text(node, "value", path)

    def loyalty(self, node: dict, path: str) -> None:
        op = self.choice(node, "op", path, LOYALTY_OPS, default="eq")
        self.typed_value(node, path, TEXT, op)

    def metric(self, node: dict, path: str) -> None:
        metric = self.choice(node, "metric", path, tuple(METRICS))
        if metric == "engagement_tier":
            self.choice(node, "op", path, ("eq", "neq"), default="eq")
            self.choice(node, "value", path, ENGAGEMENT_TIERS)
            return
        ops = (
            DAY_METRIC_OPS
            if metric in ("days_since_last_order", "predicted_next_order_in_days")
            else METRIC_OPS
        )
        op = self.choice(node, "op", path, ops, default="eq")
        self.typed_value(node, path, NUMBER, op)

    def rank(self, node: dict, path: str) -> None:
        self.choice(node, "metric", path, RANK_METRICS)
        value = self.number(node, "top_percent", path, minimum=0)
        if value is not None and not 0 < value <= 100:
            self.fail(join(path, "top_percent"), "must be more than 0 and at most 100")

    def event(self, node: dict, path: str) -> None:
        self.event_name(node, path)
        self.filters(node, path)
        self.window(node, path)
        count = node.get("count", {"op": "gte", "value": 1})
        where = join(path, "count")
        if not isinstance(count, dict):
            return self.fail(where, "must be an object")
        op = self.choice(count, "op", where, COUNT_OPS, default="gte")
        if op != "zero":
            value = count.get("value")
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.fail(join(where, "value"), "must be a whole number of at least 0")

    def sequence(self, node: dict, path: str) -> None:
        self.event_name(node, path)
        self.filters(node, path)
        self.window(node, path)
        then_not = node.get("then_not")
        where = join(path, "then_not")
        if not isinstance(then_not, dict):
            return self.fail(
                where, 'must name the event that should not follow, e.g. {"event": "order_placed"}'
            )
        self.event_name(then_not, where)
        self.filters(then_not, where)
        if node.get("same") not in (None, ""):
            self.property_name(node, "same", path)

    def repetition(self, node: dict, path: str) -> None:
        self.event_name(node, path)
        self.filters(node, path)
        self.window(node, path)
        self.property_name({"per": node.get("per", "product")}, "per", path)
        at_least = node.get("at_least")
        if isinstance(at_least, bool) or not isinstance(at_least, int) or at_least < 1:
            self.fail(join(path, "at_least"), "must be a whole number of at least 1")

    def segment(self, node: dict, path: str) -> None:
        self.choice(node, "op", path, ("in", "not_in"), default="in")
        target = node.get("segment")
        if isinstance(target, bool) or not isinstance(target, int):
            return self.fail(join(path, "segment"), "must be a segment id")
        if self.segment_lookup is None:
            return
        trail = self._reference_trail(target, seen=[])
        if trail is None:
            self.fail(join(path, "segment"), f"no segment {target} in this store")
        elif trail:
            self.fail(join(path, "segment"), "refers back to this segment: " + " → ".join(map(str, trail)))

    def _reference_trail(self, target: int, seen: list[int]) -> list[int] | None:
        """[] when `target` is fine, the cycle's ids when it leads back, None when it does not exist."""
        if target == self.self_id or target in seen:
            return [*seen, target]
        rules = self.segment_lookup(target)
        if rules is None:
            return None if not seen else []
        for child in referenced_segments(rules):
            trail = self._reference_trail(child, [*seen, target])
            if trail:
                return trail
        return []


def referenced_segments(node: Any) -> list[int]:
    if not isinstance(node, dict):
        return []
    if node.get("type") == "segment" and isinstance(node.get("segment"), int):
        return [node["segment"]]
    found: list[int] = []
    for child in node.get("children", []) if isinstance(node.get("children"), list) else []:
        found.extend(referenced_segments(child))
    return found


def _is_iso_date(value: str) -> bool:
    from datetime import date

    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True
