"""Form widgets that edit JSON fields as a person would: checkboxes, rows, and lists of words."""

from __future__ import annotations

import json
import math
import re

from django import forms

EMPTY_ROWS = 2


class KeyValueWidget(forms.Widget):
    """A dict as name / value rows; numbers, true / false and JSON lists keep their type."""

    template_name = "admin/customers/widgets/key_value.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else {}
            except ValueError:
                value = {}
        rows = [(key, _shown(item)) for key, item in (value or {}).items()]
        context["widget"]["rows"] = rows + [("", "")] * EMPTY_ROWS
        return context

    def value_from_datadict(self, data, files, name):
        keys, values = data.getlist(f"{name}_key"), data.getlist(f"{name}_value")
        pairs = {k.strip(): _parsed(v.strip()) for k, v in zip(keys, values, strict=False) if k.strip()}
        return json.dumps(pairs)

    def value_omitted_from_data(self, data, files, name) -> bool:
        return f"{name}_key" not in data


class WordListWidget(forms.TextInput):
    """A JSON list of words (link domains...) as the words themselves, separated by commas."""

    template_name = "admin/customers/widgets/word_list.html"

    def get_context(self, name, value, attrs):
        if isinstance(value, str):
            try:
                value = json.loads(value) if value else []
            except ValueError:
                value = [value]
        words = [str(word) for word in value] if isinstance(value, list) else []
        context = super().get_context(name, ", ".join(words), {"size": 60, **(attrs or {})})
        context["widget"]["words"] = words
        return context

    def value_from_datadict(self, data, files, name):
        text = data.get(name, "").strip()
        if text.startswith("["):  # a pasted JSON list is taken as it is
            try:
                return json.dumps(json.loads(text))
            except ValueError:
                pass
        return json.dumps([word for word in re.split(r"[,\s]+", text) if word])


def _shown(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _parsed(text: str):
    """42, 2.5, true and ["a"] keep their JSON type; "007" (a code) and plain words stay text."""
    if re.fullmatch(r"-?0\d+", text):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value
