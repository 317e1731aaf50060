"""`{% load glossary %}`: the glossary's plain words as filters for the admin's templates."""

from __future__ import annotations

from django import template

from campaigns import glossary

register = template.Library()

register.filter("reason_words", glossary.reason_words)
register.filter("event_words", glossary.event_words)
register.filter("provider_error_words", glossary.provider_error_words)


@register.filter
def status_words(code: str, kind: str) -> str:
    return glossary.status_words(kind, code)
