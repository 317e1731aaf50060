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

from customers.money import CENT

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
    # Bounded before rounding (quantizing "1e100000000" overflows) and after it: 9999999999.999
    # rounds up to 10^10, which no numeric(12, 2) column holds.
    if cleaned.adjusted() >= 10 or cleaned.quantize(CENT).adjusted() >= 10:
        errors.add(path, "must be less than 10,000,000,000")
        return None
    return cleaned.quantize(CENT)


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
