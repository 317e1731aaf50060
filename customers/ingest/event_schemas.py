"""What each event type's properties must be: the full check with errors, and the quick path that
accepts a well-formed event without building any.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from customers.ingest.schemas import (
    CLOCK_SKEW,
    MAX_FREE_CHARS,
    MAX_FREE_KEYS,
    MAX_KEY_CHARS,
    TOPICS,
    UNCLEAN,
    Errors,
    free_object,
    identifier,
    integer,
    join,
    number,
    obj,
    string_list,
    text,
    url,
)
from customers.money import CENT

# --- event properties -------------------------------------------------------------------------

Check = tuple[str, bool]  # (kind, required)

ITEM: dict[str, Check] = {
    "product_id": ("id", True),
    "name": ("text", False),
    "price": ("number", True),
    "quantity": ("quantity", True),
    "url": ("url", False),
    "category": ("text", False),
}

EVENT_SCHEMAS: dict[str, dict[str, Check]] = {
    "product_viewed": {
        "product_id": ("id", True),
        "name": ("text", False),
        "price": ("number", False),
        "url": ("url", False),
    },
    "cart_updated": {
        "cart_id": ("id", True),
        "cart_url": ("url", True),
        "items": ("items", True),
        "total": ("number", False),
    },
    "checkout_started": {
        "checkout_id": ("id", True),
        "cart_id": ("id", False),
        "checkout_url": ("url", True),
        "items": ("items", True),
        "total": ("number", False),
    },
    "order_placed": {
        "order_id": ("id", True),
        "cart_id": ("id", False),
        "checkout_id": ("id", False),
        "total": ("number", True),
        "items": ("items", True),
        "discount_code": ("code", False),
    },
    "order_delivered": {"order_id": ("id", True)},
    "back_in_stock_requested": {"product_id": ("id", True)},
    "reward_balance_changed": {
        "balance": ("number", True),
        "points": ("points", False),
        "loyalty_status": ("text", False),
    },
    "preference_set": {"topics": ("topics", False), "categories": ("strings", False)},
    "sms_clicked": {"url": ("url", False)},
}


def _one(kind: str, value: Any, path: str, errors: Errors) -> Any:
    if kind == "id":
        return identifier(value, path, errors)
    if kind == "text":
        return text(value, path, errors)
    if kind == "code":
        return None if value is None else text(value, path, errors, max_length=100)
    if kind == "number":
        cleaned = number(value, path, errors)
        return None if cleaned is None else float(cleaned)
    if kind == "quantity":
        return integer(value, path, errors, minimum=1)
    if kind == "points":
        return integer(value, path, errors, minimum=None)
    if kind == "url":
        return url(value, path, errors)
    if kind == "topics":
        return string_list(value, path, errors, choices=TOPICS)
    if kind == "strings":
        return string_list(value, path, errors)
    if kind == "items":
        return _items(value, path, errors)
    raise ValueError(kind)


def _items(value: Any, path: str, errors: Errors) -> list[dict] | None:
    if not isinstance(value, list):
        errors.add(path, "must be a list of items")
        return None
    return [_fields(item, ITEM, join(path, index), errors) for index, item in enumerate(value)]


def _fields(value: Any, schema: dict[str, Check], path: str, errors: Errors) -> dict:
    if obj(value, path, errors) is None:
        return {}
    cleaned = dict(value)
    for name, (kind, required) in schema.items():
        if name not in value or (value[name] is None and kind != "code"):
            if required:
                errors.add(join(path, name), "is required")
            cleaned.pop(name, None)
            continue
        result = _one(kind, value[name], join(path, name), errors)
        if result in (None, ""):
            cleaned.pop(name, None)
        else:
            cleaned[name] = result
    return cleaned


def event_properties(event_type: str, value: Any, path: str, errors: Errors) -> dict:
    """Documented types are checked field by field; other types keep free properties."""
    if value is None:
        value = {}
    if free_object(value, path, errors) is None:
        return {}
    schema = EVENT_SCHEMAS.get(event_type)
    if schema is None:
        return value
    cleaned = _fields(value, schema, path, errors)
    if (
        event_type == "preference_set"
        and isinstance(value, dict)
        and not ({"topics", "categories"} & set(value))
    ):
        errors.add(path, "needs topics or categories")
    return cleaned


# --- the quick path ---------------------------------------------------------------------------
# Most events are well formed. These checks clear such an event without building a field path
# per value; on anything they do not clear they answer UNCLEARED, and the checks above then run
# and name the error. They only accept what the checks above accept, cleaned the same way.

UNCLEARED = object()
MAX_INT = 2**31 - 1


def _quick_text(value: Any, max_length: int) -> Any:
    if type(value) is not str:
        return UNCLEARED
    value = value.strip()
    if len(value) > max_length or UNCLEAN.search(value):
        return UNCLEARED
    return value


def _quick_number(value: Any) -> Any:
    if type(value) is not float and type(value) is not int:
        return UNCLEARED
    cleaned = Decimal(str(value))
    if not cleaned.is_finite() or cleaned < 0 or cleaned.adjusted() >= 10:
        return UNCLEARED
    cleaned = cleaned.quantize(CENT)
    return UNCLEARED if cleaned.adjusted() >= 10 else float(cleaned)


def _quick_integer(value: Any, minimum: int | None) -> Any:
    if type(value) is not int or abs(value) > MAX_INT or (minimum is not None and value < minimum):
        return UNCLEARED
    return value


def _quick_url(value: Any) -> Any:
    cleaned = _quick_text(value, 500)
    if cleaned is UNCLEARED:
        return UNCLEARED
    parts = urlsplit(cleaned)
    return cleaned if parts.scheme in ("http", "https") and parts.netloc else UNCLEARED


def _quick_items(value: Any) -> Any:
    if type(value) is not list:
        return UNCLEARED
    cleaned = []
    for item in value:
        fields = _quick_fields(item, ITEM)
        if fields is UNCLEARED:
            return UNCLEARED
        cleaned.append(fields)
    return cleaned


QUICK = {
    "id": lambda v: identifier_quick(v),
    "text": lambda v: _quick_text(v, 200),
    "code": lambda v: _quick_text(v, 100),
    "number": _quick_number,
    "quantity": lambda v: _quick_integer(v, 1),
    "points": lambda v: _quick_integer(v, None),
    "url": _quick_url,
    "items": _quick_items,
}


def _quick_fields(value: Any, schema: dict[str, Check]) -> Any:
    if type(value) is not dict:
        return UNCLEARED
    cleaned = dict(value)
    for name, (kind, required) in schema.items():
        given = value.get(name)
        if given is None:  # absent, or null: the same to every kind
            if required:
                return UNCLEARED
            cleaned.pop(name, None)
            continue
        quick = QUICK.get(kind)
        result = UNCLEARED if quick is None else quick(given)
        if result is UNCLEARED:
            return UNCLEARED
        if result == "":
            cleaned.pop(name, None)
        else:
            cleaned[name] = result
    return cleaned


def _json_fits(value: Any, limit: int) -> bool:
    """Whether `json.dumps(value)` is surely at most `limit` characters, from an upper bound on each
    part (a character escapes to at most 12); False when unsure."""
    total, stack = 0, [value]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str:
            total += 12 * len(value) + 2
        elif kind is dict:
            total += 2 + 4 * len(value)
            for key, item in value.items():
                if type(key) is not str:
                    return False
                total += 12 * len(key) + 2
                stack.append(item)
        elif kind is list:
            total += 2 + 2 * len(value)
            stack.extend(value)
        elif kind is float or kind is bool or value is None:
            total += 24  # the longest float repr, "-1.7976931348623157e+308"
        elif kind is int and -(10**20) < value < 10**20:
            total += 21
        else:
            return False
        if total > limit:
            return False
    return True


def event_properties_quick(event_type: str, value: Any) -> Any:
    """`event_properties` for a well-formed value, else UNCLEARED."""
    if value is None:
        value = {}
    if type(value) is not dict or len(value) > MAX_FREE_KEYS or not _json_fits(value, MAX_FREE_CHARS):
        return UNCLEARED
    if max(map(len, value), default=0) > MAX_KEY_CHARS:
        return UNCLEARED
    schema = EVENT_SCHEMAS.get(event_type)
    if schema is None:
        return value
    if event_type == "preference_set":
        return UNCLEARED
    return _quick_fields(value, schema)


def moment_quick(value: Any, *, now: datetime) -> Any:
    """`moment` for a well-formed value, else UNCLEARED."""
    if type(value) is not str:
        return UNCLEARED
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return UNCLEARED
    if parsed.tzinfo is None or parsed.year < 1970 or parsed > now + CLOCK_SKEW:
        return UNCLEARED
    return parsed


def identifier_quick(value: Any, *, max_length: int = 100) -> Any:
    """`identifier` for a well-formed value, else UNCLEARED."""
    if type(value) is int:
        value = str(value)
    cleaned = _quick_text(value, max_length)
    return UNCLEARED if cleaned == "" else cleaned
