"""Renders message templates: `{{ field|filter:"arg" }}` over a flat dict, nothing else.

Contract used by flows and broadcasts: render(body, context) -> str.

The language is deliberately tiny and sandboxed: a field is a bare word looked up in a flat dict
(no dots, so nothing can reach into a model), the only filters are the ones in FILTERS, and
`{% ... %}` tags do not exist. Output is plain text: SMS is not HTML, so nothing is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache

MAX_BODY_CHARS = 1600  # Twilio's limit for one message body
MAX_FIELDS = 30
MAX_VALUE_CHARS = 300
MAX_RENDERED_CHARS = 1600
# Amounts of 10**15 and more are not prices; formatting "1e100000000" digit by digit would take
# minutes of CPU, so such input is left as it came.
MAX_MONEY_DIGITS = 15

NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
FILTER = re.compile(r"\s*([A-Za-z_]\w*)\s*(?::\s*(?:\"([^\"]*)\"|'([^']*)'|(\d+)))?\s*\Z")
CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "GBP": "£", "EUR": "€", "JPY": "¥"}
ZERO_DECIMAL_CURRENCIES = {"JPY"}
# What may follow an empty field for the space before it to go too ("Hi , ..." -> "Hi, ...").
CLOSES_UP = ("", " ", ",", ".", "!", "?", ";", ":")


class TemplateError(ValueError):
    """A template that cannot be rendered; the message says what and where, for the editor."""

    def __init__(self, message: str, *, position: int | None = None, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.field = field


@dataclass(frozen=True)
class Filter:
    name: str
    arg: str | None = None


@dataclass(frozen=True)
class FieldRef:
    name: str
    filters: tuple[Filter, ...]
    start: int
    end: int

    @property
    def fallback(self) -> str | None:
        """The `default:"..."` text, if the field has one."""
        for f in self.filters:
            if f.name == "default":
                return f.arg
        return None


@dataclass(frozen=True)
class Template:
    parts: tuple[str | FieldRef, ...]

    @property
    def fields(self) -> list[FieldRef]:
        return [p for p in self.parts if isinstance(p, FieldRef)]

    @property
    def text(self) -> str:
        """The literal text only, with fields left out."""
        return "".join(p for p in self.parts if isinstance(p, str))

    @cached_property
    def plan(self) -> tuple[tuple[str | FieldRef, bool], ...]:
        """Each part with whether, when it renders empty, the space before it goes too."""
        plan = []
        for i, part in enumerate(self.parts):
            following = self.parts[i + 1] if i + 1 < len(self.parts) else ""
            plan.append((part, not isinstance(following, str) or following[:1] in CLOSES_UP))
        return tuple(plan)


@dataclass(frozen=True)
class Money:
    """An amount in a currency; formats as "$12.50" (or "$12" when whole)."""

    amount: Decimal
    currency: str = "USD"

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)

    def __bool__(self) -> bool:
        return self.amount != 0


def money_amount(value: object) -> Decimal | None:
    """A finite amount of fewer than MAX_MONEY_DIGITS whole digits, read from a number or a text
    such as "$1,234.50"; None for anything else."""
    try:
        amount = Decimal(str(value).replace(",", "").strip().lstrip("$£€¥"))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount.adjusted() >= MAX_MONEY_DIGITS:
        return None
    return amount


def format_money(amount: Decimal | int | float | str, currency: str, places: int | None = None) -> str:
    value = money_amount(amount)
    if value is None:
        return str(amount)
    if places is None:
        whole = value == value.to_integral_value() or currency in ZERO_DECIMAL_CURRENCIES
        places = 0 if whole else 2
    text = f"{value:,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _line_col(body: str, position: int) -> str:
    line = body.count("\n", 0, position) + 1
    column = position - (body.rfind("\n", 0, position) + 1) + 1
    return f"line {line}, column {column}"


def _find_close(body: str, start: int) -> int:
    """Index of the `}}` closing the field opened at `start`, skipping quoted filter arguments."""
    i, quote = start + 2, ""
    while i < len(body):
        ch = body[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif body.startswith("}}", i):
            return i
        elif body.startswith("{{", i) or ch == "\n":
            break
        i += 1
    raise TemplateError(f"A field opened with {{{{ at {_line_col(body, start)} is never closed with }}}}.",
                        position=start)


def _parse_filters(raw: list[str], name: str, body: str, start: int) -> tuple[Filter, ...]:
    filters = []
    for chunk in raw:
        match = FILTER.match(chunk)
        if not match:
            raise TemplateError(
                f'Filter "{chunk.strip()}" on {name} at {_line_col(body, start)} is not valid; '
                'write it like default:"this item" or truncate:20.',
                position=start, field=name,
            )
        fname = match.group(1)
        arg = next((g for g in match.group(2, 3, 4) if g is not None), None)
        if fname not in FILTERS:
            raise TemplateError(
                f'Unknown filter "{fname}" on {name}; filters are {", ".join(sorted(FILTERS))}.',
                position=start, field=name,
            )
        _check_filter_arg(fname, arg, name, start)
        filters.append(Filter(fname, arg))
    return tuple(filters)


def _check_filter_arg(fname: str, arg: str | None, name: str, start: int) -> None:
    if fname == "default" and arg is None:
        raise TemplateError(f'default on {name} needs a fallback text, e.g. default:"there".',
                            position=start, field=name)
    if fname == "truncate":
        if arg is None or not (arg.isascii() and arg.isdigit()) or not 1 <= int(arg) <= MAX_RENDERED_CHARS:
            raise TemplateError(f"truncate on {name} needs a length from 1 to {MAX_RENDERED_CHARS}, "
                                "e.g. truncate:20.", position=start, field=name)
    if fname == "money" and arg is not None and arg not in {"0", "2"}:
        raise TemplateError(f'money on {name} takes 0 or 2 decimal places, e.g. money:"0".',
                            position=start, field=name)
    if fname in {"upper", "lower", "title"} and arg is not None:
        raise TemplateError(f"{fname} on {name} takes no argument.", position=start, field=name)


def _parse_field(body: str, start: int, end: int) -> FieldRef:
    inner = body[start + 2:end]
    head, *raw_filters = _split_pipes(inner)
    name = head.strip()
    where = _line_col(body, start)
    if not name:
        raise TemplateError(f"Empty field {{{{ }}}} at {where}.", position=start)
    if "." in name or "[" in name or "(" in name:
        raise TemplateError(
            f'"{name}" at {where} reaches into an object; a field is one plain name such as first_name '
            "(no dots, brackets or calls).", position=start, field=name,
        )
    if not NAME.match(name):
        raise TemplateError(
            f'"{name}" at {where} is not a field name; use lowercase words joined by underscores.',
            position=start, field=name,
        )
    return FieldRef(name, _parse_filters(raw_filters, name, body, start), start, end + 2)


def _split_pipes(inner: str) -> list[str]:
    parts, current, quote = [], [], ""
    for ch in inner:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "|":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


@lru_cache(maxsize=256)
def parse(body: str) -> Template:
    """Parse once; raise TemplateError naming the problem and where it is."""
    if len(body) > MAX_BODY_CHARS:
        raise TemplateError(f"The template is {len(body)} characters; the limit is {MAX_BODY_CHARS}.")
    for tag in ("{%", "{#"):
        at = body.find(tag)
        if at >= 0:
            raise TemplateError(
                f"{tag} at {_line_col(body, at)}: templates have no tags or comments (no load, if, for "
                'or include); use fields such as {{ first_name|default:"there" }}.', position=at,
            )
    parts: list[str | FieldRef] = []
    pos = 0
    while (start := body.find("{{", pos)) >= 0:
        end = _find_close(body, start)
        if start > pos:
            parts.append(body[pos:start])
        parts.append(_parse_field(body, start, end))
        pos = end + 2
    if "}}" in body[pos:]:
        at = body.index("}}", pos)
        raise TemplateError(f"}}}} at {_line_col(body, at)} closes nothing.", position=at)
    if pos < len(body):
        parts.append(body[pos:])
    template = Template(tuple(parts))
    if len(template.fields) > MAX_FIELDS:
        raise TemplateError(f"The template uses {len(template.fields)} fields; the limit is {MAX_FIELDS}.")
    return template


def _clean(value: object) -> object:
    if type(value) is str:  # the common case first: names, cities, links
        return " ".join(value.split())[:MAX_VALUE_CHARS]
    if value is None:
        return ""
    if isinstance(value, Money | Decimal | int | float) and not isinstance(value, bool):
        return value if value else ""
    # Newlines and runs of spaces from stored data would break the text's layout.
    return " ".join(str(value).split())[:MAX_VALUE_CHARS]


def _apply(value: object, f: Filter, currency: str) -> object:
    text = "" if value is None else str(value)
    if f.name == "default":
        return value if text.strip() else f.arg
    if f.name == "money":
        return _money(value, f.arg, currency)
    if not text:
        return ""
    if f.name == "upper":
        return text.upper()
    if f.name == "lower":
        return text.lower()
    if f.name == "title":
        # str.title() alone gives "Maya'S Shop" and "3Rd"; fix those as Django's title filter does.
        titled = re.sub(r"([a-z])'([A-Z])", lambda m: m[0].lower(), text.title())
        return re.sub(r"\d([A-Z])", lambda m: m[0].lower(), titled)
    if f.name == "truncate":
        limit = int(f.arg or 0)
        # "..." rather than the ellipsis character, which is not GSM-7 and would double the cost.
        return text if len(text) <= limit else text[: max(limit - 3, 1)].rstrip() + "..."
    raise TemplateError(f"Unknown filter {f.name}")


def _money(value: object, places: str | None, currency: str) -> object:
    if isinstance(value, Money):
        amount, currency = money_amount(value.amount), value.currency
    else:
        amount = money_amount(value)
    if amount is None:
        return value
    return format_money(amount, currency, None if places is None else int(places))


FILTERS = {"default", "upper", "lower", "title", "truncate", "money"}


Plan = tuple[tuple["str | FieldRef", bool], ...]


def render_parsed(
    template: Template, context: dict[str, object], *, currency: str = "USD", plan: Plan | None = None
) -> str:
    """`plan`: the template's plan with some fields already rendered in (see `plan_bind`)."""
    out: list[str] = []
    get = context.get
    for part, closes_up in template.plan if plan is None else plan:
        if type(part) is str:
            out.append(part)
            continue
        value = _clean(get(part.name))
        for f in part.filters:
            value = _apply(value, f, currency)
        text = value if type(value) is str else str(value)
        if not text and closes_up and out and out[-1].endswith(" "):
            # An empty field with no fallback would leave "Hi , ..." or a double space.
            out[-1] = out[-1][:-1]
        out.append(text)
    rendered = "".join(out)
    if len(rendered) > MAX_RENDERED_CHARS:
        raise TemplateError(f"The rendered text is {len(rendered)} characters; the limit is "
                            f"{MAX_RENDERED_CHARS}.")
    return rendered


def plan_bind(template: Template, context: dict[str, object], *, currency: str = "USD") -> Plan:
    """The template's plan with the fields `context` names rendered in as text, so that rendering
    many contexts that share those values (a store's name) does that work once.

    A field that renders empty stays a field: only then does rendering look at its neighbours.
    """
    plan = []
    for part, closes_up in template.plan:
        if type(part) is not str and part.name in context:
            value = _clean(context[part.name])
            for f in part.filters:
                value = _apply(value, f, currency)
            if str(value):
                part = str(value)
        plan.append((part, closes_up))
    return tuple(plan)


def render(body: str, context: dict[str, object], *, currency: str = "USD") -> str:
    """Render `body` over a flat dict; raise TemplateError for a template that cannot render."""
    return render_parsed(parse(body), context, currency=currency)
