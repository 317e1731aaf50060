"""Input checks shared by the API, the CSV import and the demo.

Each check appends `FieldError`s with a dotted path (`events[3].properties.items[0].price`) and
returns the cleaned value, so a whole batch is checked before anything is written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

CLOCK_SKEW = timedelta(minutes=5)
# NUL: PostgreSQL refuses it in text and jsonb. A lone UTF-16 surrogate ("\ud800", valid JSON):
# no database encodes it, so it would fail at write time instead of here.
UNCLEAN = re.compile("[\x00\ud800-\udfff]")
UNCLEAN_MESSAGE = "must not contain NUL characters or lone UTF-16 surrogates such as \\ud800"
MIN_YEAR, MAX_YEAR = 1900, 2200
# Free JSON (a customer's attributes, an event's properties): enough for any order, not a dump.
MAX_FREE_KEYS, MAX_KEY_CHARS, MAX_FREE_CHARS = 200, 100, 64_000
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TOPICS = ("deals", "drops", "restocks")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class ValidationFailed(Exception):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class Errors(list):
    def add(self, field: str, message: str) -> None:
        self.append(FieldError(field, message))


def join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    name = name or '""'  # an empty key still gets a field name the client can read
    return f"{path}.{name}" if path else name


def is_clean_text(value: str) -> bool:
    return not UNCLEAN.search(value)


def json_problem(value: Any, path: str = "") -> FieldError | None:
    """The first key or value in parsed JSON that no database stores faithfully, else None: a text
    with NUL or a lone surrogate, or a number too large for a float (JSON's 1e400 reads as inf).

    Walks without recursion: a body nested as deep as the JSON parser allows is still read.
    """
    if _json_clean(value):
        return None
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not is_clean_text(value):
                return FieldError(path or "body", UNCLEAN_MESSAGE)
        elif isinstance(value, float):
            if not math.isfinite(value):
                return FieldError(path or "body", "must be a finite number")
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and not is_clean_text(key):
                    return FieldError(path or "body", f"has a key that {UNCLEAN_MESSAGE}")
                stack.append((item, join(path, key)))
        elif isinstance(value, list):
            stack.extend((item, join(path, index)) for index, item in enumerate(value))
    return None


def _json_clean(value: Any) -> bool:
    """`json_problem` finds nothing: the same walk without building a path to each value."""
    stack = [value]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is str:
            if UNCLEAN.search(value):
                return False
        elif kind is dict:
            for key in value:
                if type(key) is not str or UNCLEAN.search(key):
                    return False
            stack.extend(value.values())
        elif kind is list:
            stack.extend(value)
        elif kind is float:
            if not math.isfinite(value):
                return False
        elif not (kind is int or kind is bool or value is None):
            return False  # anything else: the full walk decides
    return True


def text(
    value: Any, path: str, errors: Errors, *, max_length: int = 200, allow_int: bool = False
) -> str | None:
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors.add(path, "must be a string")
        return None
    value = value.strip()
    if not is_clean_text(value):
        errors.add(path, UNCLEAN_MESSAGE)
        return None
    if len(value) > max_length:
        errors.add(path, f"must be at most {max_length} characters")
        return None
    return value


def identifier(value: Any, path: str, errors: Errors, *, max_length: int = 100) -> str | None:
    cleaned = text(value, path, errors, max_length=max_length, allow_int=True)
    if cleaned == "":
        errors.add(path, "must not be empty")
        return None
    return cleaned


def number(value: Any, path: str, errors: Errors, *, minimum: Decimal | None = Decimal(0)) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        errors.add(path, "must be a number")
        return None
    try:
        cleaned = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(path, "must be a number")
        return None
    if not cleaned.is_finite():
        errors.add(path, "must be a finite number")
        return None
    if minimum is not None and cleaned < minimum:
        errors.add(path, f"must be at least {minimum}")
        return None
    if cleaned.adjusted() >= 10:  # abs() would round "1e100000000" into a decimal.Overflow
        errors.add(path, "must be less than 10,000,000,000")
        return None
    return cleaned.quantize(Decimal("0.01"))


def integer(
    value: Any, path: str, errors: Errors, *, minimum: int | None = 0, maximum: int = 2**31 - 1
) -> int | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(path, "must be a whole number")
        return None
    if minimum is not None and value < minimum:
        errors.add(path, f"must be at least {minimum}")
        return None
    if abs(value) > maximum:
        errors.add(path, f"must be at most {maximum:,}")
        return None
    return value


def url(value: Any, path: str, errors: Errors) -> str | None:
    cleaned = text(value, path, errors, max_length=500)
    if cleaned is None:
        return None
    parts = urlsplit(cleaned)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.add(path, "must be an http(s) URL")
        return None
    return cleaned


def boolean(value: Any, path: str, errors: Errors) -> bool | None:
    if not isinstance(value, bool):
        errors.add(path, "must be true or false")
        return None
    return value


def string_list(value: Any, path: str, errors: Errors, *, choices: tuple[str, ...] = ()) -> list[str] | None:
    if not isinstance(value, list):
        errors.add(path, "must be a list of strings")
        return None
    cleaned = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            errors.add(join(path, index), "must be a non-empty string")
            return None
        item = item.strip().lower() if choices else item.strip()
        if choices and item not in choices:
            errors.add(join(path, index), f"must be one of {', '.join(choices)}")
            return None
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def obj(value: Any, path: str, errors: Errors) -> dict | None:
    if not isinstance(value, dict):
        errors.add(path or "body", "must be a JSON object")
        return None
    return value


def free_object(value: Any, path: str, errors: Errors) -> dict | None:
    """An object of the store's own keys, bounded in keys and size."""
    if obj(value, path, errors) is None:
        return None
    if len(value) > MAX_FREE_KEYS:
        errors.add(path, f"has {len(value)} keys; at most {MAX_FREE_KEYS}")
        return None
    long_key = next((key for key in value if len(key) > MAX_KEY_CHARS), None)
    if long_key is not None:
        errors.add(path, f"has a key of {len(long_key)} characters; at most {MAX_KEY_CHARS}")
        return None
    if len(json.dumps(value)) > MAX_FREE_CHARS:
        errors.add(path, f"must be at most {MAX_FREE_CHARS:,} characters as JSON")
        return None
    return value


def moment(value: Any, path: str, errors: Errors, *, now: datetime) -> datetime | None:
    """An ISO 8601 date-time with an offset, not later than now plus a small clock skew."""
    if not isinstance(value, str):
        errors.add(path, "must be an ISO 8601 date-time string, e.g. 2026-11-26T10:00:00Z")
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.add(path, "must be an ISO 8601 date-time, e.g. 2026-11-26T10:00:00Z")
        return None
    if parsed.tzinfo is None:
        errors.add(path, "needs a UTC offset, e.g. 2026-11-26T10:00:00Z or +02:00")
        return None
    if parsed.year < 1970:
        errors.add(path, "is too far in the past")
        return None
    if parsed > now + CLOCK_SKEW:
        errors.add(path, "is in the future")
        return None
    return parsed


def day(value: Any, path: str, errors: Errors) -> date | None:
    if not isinstance(value, str):
        errors.add(path, "must be a date, e.g. 1990-04-21")
        return None
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        errors.add(path, "must be a date, e.g. 1990-04-21")
        return None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        errors.add(path, f"must be a date from {MIN_YEAR} to {MAX_YEAR}")
        return None
    return parsed


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
CENT = Decimal("0.01")
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
    return float(cleaned.quantize(CENT))


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
