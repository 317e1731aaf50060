"""Renders message templates: `{{ field|filter:"arg" }}` over a flat dict, nothing else.

Contract used by flows and broadcasts: render(body, context) -> str.
"""

from __future__ import annotations

import re

FIELD = re.compile(r"{{\s*(\w+)((?:\|\w+(?::\"[^\"]*\")?)*)\s*}}")


def render(body: str, context: dict[str, object]) -> str:
    def value(match: re.Match[str]) -> str:
        text = str(context.get(match.group(1)) or "").strip()
        default = re.search(r"\|default:\"([^\"]*)\"", match.group(2) or "")
        return text or (default.group(1) if default else "")

    return FIELD.sub(value, body)
