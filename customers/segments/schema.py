"""The rule-tree schema: what a segment may say, and clear errors (with a path) when it says it wrong.

A tree is a group; groups nest to any depth:
    {"type": "group", "match": "all" | "any" | "none", "children": [<group or condition>, ...]}

Conditions:
    profile     {"field": "city" | "attributes.<key>", "op": ..., "value": ...}
    consent     {"status": "subscribed", "op": "is" | "is_not"}
    preference  {"kind": "topic" | "category", "value": "deals", "op": "has" | "has_not"}
    loyalty     {"op": "eq" | "neq" | "in" | "is_set" | "is_not_set", "value": "gold"}
    metric      {"metric": "order_count", "op": "gte", "value": 3}  ("churn_risk": a band, eq / neq)
    rank        {"metric": "total_spent" | "average_order_value" | "predicted_value", "top_percent": 10}
    event       {"event": "cart_updated", "filters": [...], "count": {"op": "gte", "value": 1},
                 "window": {"last": 24, "unit": "hours"} | {"between": [15, 60], "unit": "days"}}
    sequence    {"event": "checkout_started", "filters": [...], "window": ...,
                 "then_not": {"event": "order_placed", "filters": [...]}, "same": "cart_id"}
    repetition  {"event": "product_viewed", "per": "product" | "category" | "<property>",
                 "at_least": 3, "window": ...}
    segment     {"segment": <id>, "op": "in" | "not_in"}
An event filter is {"property": "product" | "category" | "margin_class" | "<property key>",
"op": ..., "value": ...}.

Every tree is bounded (depth, children, texts, numbers, windows, dates: the MAX_* below), so a tree
that validates can always be compiled and run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from customers.ingest.schemas import UNCLEAN_MESSAGE, is_clean_text

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
    "churn_risk": "Churn risk (predicted)",
    "order_probability": "Chance of an order in 30 days, % (predicted)",
    "offer_uplift": "Offer uplift, points (predicted)",
    "offer_sensitive": "Offer-sensitive (offer tests' uplift, else code share)",
    "best_hour": "Best hour to text, 0–23 their time (predicted)",
}
METRIC_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
DAY_METRIC_OPS = ("gt", "gte", "lt", "lte", "between")
ENGAGEMENT_TIERS = ("hot", "warm", "cold")
CHURN_BANDS = ("low", "medium", "high")
YES_NO = ("yes", "no")
CHOICE_METRICS = {"engagement_tier": ENGAGEMENT_TIERS, "churn_risk": CHURN_BANDS, "offer_sensitive": YES_NO}
RANK_METRICS = ("total_spent", "average_order_value", "predicted_value")

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
CONDITION_TYPES = ("profile", "consent", "preference", "loyalty", "metric", "rank", "event", "sequence",
                   "repetition", "segment")
# Bounds that keep every stored tree cheap to evaluate and inside what the database and datetime
# arithmetic can hold: a window of 10**30 days overflows Python's datetime, 5,000 children make
# a query no database plans quickly.
MAX_DEPTH = 10
MAX_CHILDREN = 50
MAX_NODES = 500
MAX_TEXT = 200
MAX_LIST = 100
MAX_NUMBER = 1_000_000_000
MAX_COUNT = 1_000_000
MAX_DAYS = 36_500  # a hundred years
UNIT_DAYS = {"minutes": 1 / 1440, "hours": 1 / 24, "days": 1}
MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_ERRORS = 50
MAX_INDEX_DIGITS = 4
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
    scalar_errors: list[RuleError] = []
    if _scalars(rules, scalar_errors):
        _Checker(errors, segment_lookup, self_id).group(rules, "", depth=0)
    errors += scalar_errors  # after the checker's, so its more specific message wins for a path
    first_per_path = {}
    for error in errors:
        first_per_path.setdefault(error.path, error)
    return list(first_per_path.values())[:MAX_ERRORS]


def check(rules: Any, **kwargs) -> None:
    errors = validate(rules, **kwargs)
    if errors:
        raise InvalidRules(errors)


def _scalars(rules: Any, errors: list[RuleError]) -> bool:
    """Bounds on every text and number anywhere in the tree; False when the tree is too big to check.

    Walks without recursion, so a tree nested a thousand deep is refused rather than overflowing
    the stack.
    """
    stack: list[tuple[Any, str, int]] = [(rules, "", 0)]
    nodes = 0
    while stack and len(errors) < MAX_ERRORS:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            nodes += 1
            if depth > 4 * MAX_DEPTH + 10 or nodes > MAX_NODES * 4:
                errors.append(RuleError(path, f"the rule tree is too large (at most {MAX_DEPTH} nested "
                                              f"groups and {MAX_NODES} conditions)"))
                return False
            if isinstance(value, list) and len(value) > MAX_LIST:
                errors.append(RuleError(path, f"has {len(value):,} items; at most {MAX_LIST}"))
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in reversed(list(items)):
                if isinstance(key, str) and not is_clean_text(key):
                    errors.append(RuleError(path, f"has a key that {UNCLEAN_MESSAGE}"))
                    continue
                stack.append((item, join(path, key), depth + 1))
        elif isinstance(value, str):
            if not is_clean_text(value):
                errors.append(RuleError(path, UNCLEAN_MESSAGE))
            elif len(value) > MAX_TEXT:
                errors.append(RuleError(path, f"must be at most {MAX_TEXT} characters"))
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(RuleError(path, "must be a finite number"))
        elif isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > 2**53:
            # past what a float holds exactly and near what a 64-bit database integer holds
            errors.append(RuleError(path, "is too large a number"))
    return len(errors) < MAX_ERRORS


class _Checker:
    def __init__(self, errors: list[RuleError], segment_lookup, self_id: int | None):
        self.errors = errors
        self.segment_lookup = segment_lookup
        self.self_id = self_id
        self.conditions = 0

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
        self.conditions += 1
        if self.conditions == MAX_NODES + 1:
            return self.fail(path, f"a segment has at most {MAX_NODES} conditions")
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
        if len(children) > MAX_CHILDREN:
            return self.fail(join(path, "children"), f"a group holds at most {MAX_CHILDREN} conditions")
        for index, child in enumerate(children):
            self.node(child, join(join(path, "children"), index), depth)

    # --- value helpers -------------------------------------------------------------------------

    def number(
        self, node: dict, key: str, path: str, *, minimum: float | None = None, maximum: float = MAX_NUMBER
    ) -> Any:
        value = node.get(key)
        if not _is_number(value):
            self.fail(join(path, key), "must be a number")
            return None
        if minimum is not None and value < minimum:
            self.fail(join(path, key), f"must be at least {minimum:g}")
            return None
        if abs(value) > maximum:
            self.fail(join(path, key), f"must be at most {maximum:,}")
            return None
        return value

    def choice(self, node: dict, key: str, path: str, options, *, default: Any = None) -> Any:
        value = node.get(key, default)
        if not isinstance(value, str | int | type(None)) or value not in options:
            self.fail(join(path, key), f"must be one of {', '.join(map(str, options))}")
            return None
        return value

    def text(self, node: dict, key: str, path: str) -> Any:
        value = node.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(join(path, key), "must be a non-empty text")
        return value

    def typed_value(self, node: dict, path: str, kind: str, op: str, *, days: bool = False) -> None:
        if op in NO_VALUE_OPS:
            return
        key = join(path, "value")
        if "value" not in node:
            return self.fail(key, "is required")
        value = node["value"]
        limit = MAX_DAYS if days else MAX_NUMBER
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                self.fail(key, "must be a non-empty list of texts")
            elif len(value) > MAX_LIST:
                self.fail(key, f"must list at most {MAX_LIST} texts")
        elif op == "between":
            if not (isinstance(value, list) and len(value) == 2 and all(map(_is_number, value))):
                self.fail(key, "must be two numbers [low, high]")
            elif value[0] > value[1]:
                self.fail(key, "the first number must not exceed the second")
            elif max(abs(value[0]), abs(value[1])) > limit:
                self.fail(key, f"must be numbers of at most {limit:,}")
        elif op in ("within_last_days", "more_than_days_ago"):
            self.number(node, "value", path, minimum=0, maximum=MAX_DAYS)
        elif kind == NUMBER:
            self.number(node, "value", path, maximum=limit)
        elif kind in (DATE, DATETIME):
            if not isinstance(value, str) or not _is_iso_date(value):
                self.fail(key, f"must be a date from {MIN_YEAR} to {MAX_YEAR}, e.g. 2026-11-26")
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
        unit = self.choice(window, "unit", path, UNITS, default="days") or "days"
        longest = round(MAX_DAYS / UNIT_DAYS[unit])
        if "last" in window:
            self.number(window, "last", path, minimum=1, maximum=longest)
        elif "between" in window:
            between = window["between"]
            if not (isinstance(between, list) and len(between) == 2) or not all(
                _is_number(v) and v >= 0 for v in between
            ):
                self.fail(join(path, "between"), "must be two numbers [from, to] of at least 0")
            elif between[0] > between[1]:
                self.fail(join(path, "between"), "the first number must not exceed the second")
            elif between[1] > longest:
                self.fail(join(path, "between"), f"reaches back at most {longest:,} {unit} (100 years)")
        else:
            self.fail(path, 'needs "last" (in the last N) or "between" ([N, M] ago)')

    def filters(self, node: dict, path: str) -> None:
        filters = node.get("filters", [])
        if not isinstance(filters, list):
            return self.fail(join(path, "filters"), "must be a list")
        if len(filters) > MAX_CHILDREN:
            return self.fail(join(path, "filters"), f"at most {MAX_CHILDREN} filters")
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
        elif _huge_index(value):
            self.fail(join(path, key), f"a list index in a name has at most {MAX_INDEX_DIGITS} digits")

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
        elif isinstance(field, str) and field in PROFILE_FIELDS:
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
        if metric in CHOICE_METRICS:
            self.choice(node, "op", path, ("eq", "neq"), default="eq")
            self.choice(node, "value", path, CHOICE_METRICS[metric])
            return
        days = metric in ("days_since_last_order", "predicted_next_order_in_days")
        op = self.choice(node, "op", path, DAY_METRIC_OPS if days else METRIC_OPS, default="eq")
        self.typed_value(node, path, NUMBER, op, days=days)

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
            if not _is_whole(value, 0, MAX_COUNT):
                message = f"must be a whole number of at least 0 and at most {MAX_COUNT:,}"
                self.fail(join(where, "value"), message)

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
        if not _is_whole(at_least, 1, MAX_COUNT):
            message = f"must be a whole number of at least 1 and at most {MAX_COUNT:,}"
            self.fail(join(path, "at_least"), message)

    def segment(self, node: dict, path: str) -> None:
        self.choice(node, "op", path, ("in", "not_in"), default="in")
        target = node.get("segment")
        if isinstance(target, bool) or not isinstance(target, int) or not 0 < target < 2**31:
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


def _huge_index(name: str) -> bool:
    """A part of digits is a list index in the database's JSON path: past 4 digits no list is that
    long, and past 18 the database cannot read it as an integer."""
    return any(part.isdigit() and len(part) > MAX_INDEX_DIGITS for part in name.split("."))


def _is_whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_number(value: Any) -> bool:
    # An int is never made a float here: a 401-digit one would overflow; the bounds compare ints.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def _is_iso_date(value: str) -> bool:
    from datetime import date

    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return False
    return MIN_YEAR <= day.year <= MAX_YEAR
