"""A rule tree in plain English: "Customers who started checkout in the last 24 hours and ..."."""

from __future__ import annotations

import copy
from typing import Any

from customers.segments.schema import ATTRIBUTE_PREFIX, METRICS, PROFILE_FIELDS

EVENT_PAST = {
    "product_viewed": "viewed a product",
    "cart_updated": "added to cart",
    "checkout_started": "started checkout",
    "order_placed": "placed an order",
    "order_delivered": "had an order delivered",
    "back_in_stock_requested": "requested a back-in-stock alert",
    "reward_balance_changed": "had a reward balance change",
    "preference_set": "set a preference",
    "sms_sent": "were sent an SMS",
    "sms_delivered": "received an SMS",
    "sms_clicked": "clicked an SMS link",
    "sms_opted_out": "opted out of SMS",
}
EVENT_NOUN = {
    "product_viewed": "product view",
    "cart_updated": "add to cart",
    "checkout_started": "checkout",
    "order_placed": "order",
    "order_delivered": "delivery",
    "sms_clicked": "SMS click",
}
OP_WORDS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "in": "is one of",
    "not_in": "is not one of",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "between": "is between",
    "on": "is on",
    "before": "is before",
    "after": "is after",
    "within_last_days": "was in the last",
    "more_than_days_ago": "was more than",
}


def summarize(rules: Any, *, segment_names: dict[int, str] | None = None) -> str:
    try:
        return _summarize(rules, segment_names or {})
    except (RecursionError, KeyError, TypeError, IndexError, ValueError, AttributeError):
        # a tree that fails the schema, e.g. one stored before a bound existed
        return "Customers who match rules that cannot be read."


def _summarize(rules: Any, segment_names: dict[int, str]) -> str:
    if isinstance(rules, dict) and rules.get("type") not in (None, "group"):
        return f"Customers who {phrase(_with_names(copy.deepcopy(rules), segment_names))}."
    if not isinstance(rules, dict) or not rules.get("children"):
        return "Everyone in the store."
    rules = _with_names(copy.deepcopy(rules), segment_names)
    return f"Customers who {_group(rules, nested=False)}."


def _with_names(node: Any, names: dict[int, str]) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "segment" and node.get("segment") in names:
            node["segment_name"] = f"“{names[node['segment']]}”"
        for child in node.get("children", []) if isinstance(node.get("children"), list) else []:
            _with_names(child, names)
    return node


def phrase(node: dict) -> str:
    kind = node.get("type")
    try:
        return globals()[f"_{kind}"](node)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError):
        return "(an incomplete condition)"


def _group(node: dict, nested: bool = True) -> str:
    children = node.get("children", [])
    parts = [phrase(child) for child in children]
    if not parts:
        return "are in the store"
    if len(parts) > 1:
        # "do none of: a; b" runs on into its siblings unless it is closed off
        parts = [f"({part})" if _is_none_group(c) else part for c, part in zip(children, parts, strict=True)]
    match = node.get("match", "all")
    if match == "none":
        return "do none of: " + "; ".join(parts)
    joiner = " and " if match == "all" else " or "
    if len(parts) == 1:
        return parts[0]
    text = joiner.join(parts)
    return f"({text})" if nested else text


def _is_none_group(node: Any) -> bool:
    return isinstance(node, dict) and node.get("type") == "group" and node.get("match") == "none" \
        and bool(node.get("children"))


def _between(op: str, value: Any) -> str:
    """`value` in words; a range reads "10 and 50"."""
    if op == "between" and isinstance(value, list) and len(value) == 2:
        return f"{_value(value[0])} and {_value(value[1])}"
    return _value(value)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(_value, value))
    if isinstance(value, float):
        return f"{value:g}"
    return f"“{value}”" if isinstance(value, str) else str(value)


def _a(label: str) -> str:
    """'an order count', 'an attribute quiz_goal', 'a city'."""
    return f"{'an' if label[:1].lower() in 'aeio' else 'a'} {label}"


def _profile(node: dict) -> str:
    field = node["field"]
    label = (
        f"attribute {field[len(ATTRIBUTE_PREFIX) :]}"
        if field.startswith(ATTRIBUTE_PREFIX)
        else PROFILE_FIELDS[field][1].lower()
    )
    op = node.get("op", "eq")
    if op in ("is_set", "exists", "is_not_empty"):
        return f"have {_a(label)}"
    if op in ("is_not_set", "not_exists", "is_empty"):
        return f"have no {label}"
    if op in ("has", "has_not"):
        return f"{'have' if op == 'has' else 'do not have'} {_value(node['value'])} in their {label}"
    suffix = " days ago" if op == "more_than_days_ago" else " days" if op == "within_last_days" else ""
    return f"have {_a(label)} that {OP_WORDS[op]} {_between(op, node['value'])}{suffix}"


def _consent(node: dict) -> str:
    verb = "are not" if node.get("op") == "is_not" else "are"
    return f"{verb} {node['status']} to SMS" if node["status"] != "none" else f"{verb} without SMS consent"


def _preference(node: dict) -> str:
    what = "topic" if node.get("kind", "topic") == "topic" else "category"
    verb = "chose" if node.get("op", "has") == "has" else "did not choose"
    return f"{verb} the {what} {_value(node['value'])}"


def _loyalty(node: dict) -> str:
    op = node.get("op", "eq")
    if op == "is_set":
        return "have a loyalty status"
    if op == "is_not_set":
        return "have no loyalty status"
    return f"have a loyalty status that {OP_WORDS[op]} {_value(node['value'])}"


def _metric(node: dict) -> str:
    metric, op, value = node["metric"], node.get("op", "eq"), node.get("value")
    if metric == "engagement_tier":
        return f"{'are' if op == 'eq' else 'are not'} {value} (SMS engagement)"
    if metric == "churn_risk":
        return f"{'have' if op == 'eq' else 'do not have'} a {value} churn risk (predicted)"
    if metric == "offer_sensitive":
        verb = "are" if (value == "yes") == (op == "eq") else "are not"
        return f"{verb} offer-sensitive (by offer tests' uplift where they have one, else by code share)"
    if metric == "best_hour":
        return f"have a best hour to text that {OP_WORDS[op]} {_between(op, value)} (their time)"
    if metric == "offer_uplift":
        return f"have a predicted offer uplift that {OP_WORDS[op]} {_between(op, value)} points"
    if metric == "order_probability":
        return f"have a predicted chance of an order in 30 days that {OP_WORDS[op]} {_between(op, value)} %"
    label = METRICS[metric].lower()
    if metric == "discount_order_share" and op != "between":
        return f"have {_a(label)} that {OP_WORDS[op]} {value * 100:g} %"
    return f"have {_a(label)} that {OP_WORDS[op]} {_between(op, value)}"


def _rank(node: dict) -> str:
    label = {"total_spent": "lifetime value", "average_order_value": "average order value"}.get(
        node["metric"], "predicted 12-month value"
    )
    return f"are in the top {node['top_percent']:g} % of the store by {label}"


def _window(node: dict) -> str:
    window = node.get("window")
    if not window:
        return ""
    unit = window.get("unit", "days")
    if "last" in window:
        n = window["last"]
        return f" in the last {n:g} {unit[:-1] if n == 1 else unit}"
    near, far = window["between"]
    return f" between {near:g} and {far:g} {unit} ago"


def _filters(node: dict) -> str:
    parts = []
    for item in node.get("filters", []):
        prop, op = item["property"], item.get("op", "eq")
        label = {"margin_class": "margin"}.get(prop, prop.replace("_", " "))
        if op == "exists":
            parts.append(f"with a {label}")
        elif op == "not_exists":
            parts.append(f"without a {label}")
        else:
            parts.append(f"where {label} {OP_WORDS[op]} {_value(item['value'])}")
    return (" " + " and ".join(parts)) if parts else ""


def _did(event: str) -> str:
    return EVENT_PAST.get(event, f"did {event.replace('_', ' ')}")


def _event(node: dict) -> str:
    count = node.get("count") or {"op": "gte", "value": 1}
    op, n = count.get("op", "gte"), count.get("value", 1)
    base = _did(node["event"]) + _filters(node)
    if op == "zero" or (op in ("eq", "lte") and n == 0):
        return f"have not {_perfect(node['event'])}{_filters(node)}{_window(node)}"
    times = {"gte": "at least", "lte": "at most", "eq": "exactly"}[op]
    count_words = "" if (op == "gte" and n <= 1) else f" {times} {n} {'time' if n == 1 else 'times'}"
    return f"{base}{count_words}{_window(node)}"


def _perfect(event: str) -> str:
    phrase_ = _did(event)
    for past, participle in (
        ("viewed", "viewed"),
        ("added", "added"),
        ("started", "started"),
        ("placed", "placed"),
        ("had", "had"),
        ("requested", "requested"),
        ("set", "set"),
        ("were", "been"),
        ("received", "received"),
        ("clicked", "clicked"),
        ("opted", "opted"),
    ):
        if phrase_.startswith(past + " "):
            return participle + phrase_[len(past) :]
    return phrase_.replace("did ", "done ", 1)


def _sequence(node: dict) -> str:
    follow = node["then_not"]
    same = f" for the same {node['same'].replace('_', ' ')}" if node.get("same") else ""
    first = _did(node["event"]) + _filters(node) + _window(node)
    return f"{first} and have not {_perfect(follow['event'])}{_filters(follow)} since{same}"


def _repetition(node: dict) -> str:
    per = node.get("per", "product")
    per_words = {"product": "the same product", "category": "the same category"}.get(per, f"the same {per}")
    did = "viewed" if node["event"] == "product_viewed" else f"{_did(node['event'])} on"
    return f"{did} {per_words}{_filters(node)} at least {node['at_least']} times{_window(node)}"


def _segment(node: dict) -> str:
    name = node.get("segment_name") or f"segment #{node['segment']}"
    return f"{'are not' if node.get('op') == 'not_in' else 'are'} in {name}"
