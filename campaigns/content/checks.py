"""Checks run when a template is saved or previewed.

    check_template(body, *, store=None, is_first_in_flow=False, available_fields=None) -> list[Check]

Errors block the save (syntax, unknown field, a link to a foreign domain); warnings and hints are
shown beside the template. The flow editor calls it with is_first_in_flow=True for a flow's first
message, and with the trigger's snapshot keys as available_fields when it knows them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from campaigns.content import creep, meter
from campaigns.content.fields import FIELDS, LINK_FIELDS, PRODUCT_LINK_FIELDS, TRIGGER_FIELDS
from campaigns.content.links import find_urls
from campaigns.content.templating import Template, TemplateError, parse
from campaigns.models import ExperimentVariant, FlowStep, MessageTemplate
from customers.links import link_domain_error
from customers.models import Store

ERROR, WARNING, HINT = "error", "warning", "hint"
OPT_OUT_WORDING = re.compile(r"\b(stop|opt[\s-]?out|unsubscribe)\b", re.IGNORECASE)
PRODUCT_TALK = re.compile(r"\b(cart|checkout|back in stock|in stock|your order|reorder)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    level: str
    code: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "code": self.code, "message": self.message, "field": self.field}


def nearest_field(name: str) -> str | None:
    # "product" → product_name: a field that starts with what was typed wins, in catalogue order.
    starting = [f for f in FIELDS if len(name) >= 3 and f.startswith(name)]
    if starting:
        return starting[0]
    close = difflib.get_close_matches(name, list(FIELDS), n=1, cutoff=0.5)
    if close:
        return close[0]
    containing = [f for f in FIELDS if len(name) >= 3 and (name in f or f in name)]
    return containing[0] if containing else None


def _unknown_fields(template: Template) -> list[Check]:
    checks = []
    for name in dict.fromkeys(ref.name for ref in template.fields if ref.name not in FIELDS):
        near = nearest_field(name)
        hint = f" Did you mean {near}?" if near else ""
        checks.append(Check(ERROR, "unknown_field", f"Unknown field {name}.{hint}", name))
    return checks


def _empty_without_fallback(template: Template) -> list[Check]:
    checks = []
    for ref in template.fields:
        spec = FIELDS.get(ref.name)
        if spec and spec.can_be_empty and ref.fallback is None and not spec.is_link:
            checks.append(Check(
                WARNING, "no_fallback",
                f'{ref.name} can be empty for some customers and has no fallback; '
                f'write {{{{ {ref.name}|default:"..." }}}}.', ref.name,
            ))
        elif spec and spec.is_link and spec.can_be_empty and ref.fallback is None:
            checks.append(Check(
                WARNING, "no_fallback",
                f"{ref.name} is empty when the trigger gives no such link, leaving the text without a link; "
                f'add a fallback page such as {{{{ {ref.name}|default:"/collections/all" }}}}.',
                ref.name,
            ))
    return list({c.field: c for c in checks}.values())


def _links(template: Template, store: Store | None, available: set[str] | None) -> list[Check]:
    link_fields = {ref.name for ref in template.fields if ref.name in LINK_FIELDS}
    literal = [url for _, _, url in find_urls(template.text)]
    fallbacks = [ref.fallback for ref in template.fields
                 if ref.name in LINK_FIELDS and ref.fallback and ref.fallback.startswith(("http:", "https:"))]
    checks = []
    if store is not None:
        for url in dict.fromkeys(literal + fallbacks):
            error = link_domain_error(store, url)
            if error:
                checks.append(Check(ERROR, "foreign_link", f"Link refused: {error}", "body"))
    if len(link_fields) + len(set(literal)) > 1:
        checks.append(Check(WARNING, "many_links",
                            "More than one link: one clear link per message gets more clicks.", "body"))
    if any(_is_homepage(url, store) for url in literal):
        offers = available & PRODUCT_LINK_FIELDS if available is not None else set()
        talks_product = bool(PRODUCT_TALK.search(template.text)) or any(
            ref.name in ("product_name", "category_name") for ref in template.fields)
        if offers or (available is None and talks_product):
            best = sorted(offers)[0] if offers else "cart_link or product_link"
            message = f"This links to the homepage; link straight to the item with {best}."
            checks.append(Check(HINT, "homepage_link", message, "body"))
    return checks


def _is_homepage(url: str, store: Store | None) -> bool:
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query:
        return False
    return store is None or not link_domain_error(store, url)


def _encoding(template: Template, store: Store | None) -> list[Check]:
    checks = []
    chars = meter.measure(template.text).unicode_chars
    fixable = [c for c in chars if c.suggestion is not None]
    if fixable:
        listed = ", ".join(f"{c.char} → {c.suggestion or '(remove)'}" for c in fixable)
        checks.append(Check(HINT, "ucs2_fixable",
                            f"These characters make the text UCS-2 (70 characters a segment): {listed}.",
                            "body"))
    return checks


def _opt_out(template: Template, is_first_in_flow: bool) -> list[Check]:
    if is_first_in_flow and not OPT_OUT_WORDING.search(template.text):
        return [Check(WARNING, "no_opt_out",
                      'The first message of a flow should say how to opt out, e.g. "Reply STOP to opt out".',
                      "body")]
    return []


def _creep(template: Template, store: Store | None) -> list[Check]:
    return [Check(WARNING, "creep", f'"{f.phrase}": {f.explanation} {f.suggestion}', "body")
            for f in creep.check(template.text, store=store)]


def check_template(
    body: str,
    *,
    store: Store | None = None,
    is_first_in_flow: bool = False,
    available_fields: Iterable[str] | None = None,
) -> list[Check]:
    try:
        template = parse(body)
    except TemplateError as exc:
        return [Check(ERROR, "syntax", exc.message, exc.field or "body")]
    available = set(available_fields) if available_fields is not None else None
    return [
        *_unknown_fields(template),
        *_links(template, store, available),
        *_empty_without_fallback(template),
        *_opt_out(template, is_first_in_flow),
        *_encoding(template, store),
        *_creep(template, store),
    ]


def step_checks(step, *, is_first_in_flow: bool = False) -> dict[str, list[Check]]:
    """A flow step's text gets the template checks, keyed by form field: "body" (or the template's
    text). Copy variants are checked by `text_errors`."""
    if step.kind != "send":
        return {}
    store = step.flow.store if step.flow_id else None
    texts = {"body": step.template.body if step.template_id else step.body}
    return {
        name: check_template(text, store=store, is_first_in_flow=is_first_in_flow)
        for name, text in texts.items()
        if text.strip()
    }


def errors(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.level == ERROR]


def text_errors(instance: MessageTemplate | FlowStep | ExperimentVariant) -> dict[str, list[str]]:
    """What stops a text from being saved, by field: syntax, unknown fields, links off the store's
    domains. Forms and the services that save (recipes, flow import) ask this; models do not."""
    if isinstance(instance, FlowStep):
        found = {name: errors(checks) for name, checks in step_checks(instance).items()}
    elif isinstance(instance, ExperimentVariant):
        store = instance.experiment.store if instance.experiment_id else None
        found = {"body": errors(check_template(instance.body, store=store))} if instance.body.strip() else {}
    else:
        store = instance.store if instance.store_id else None
        found = {"body": errors(check_template(instance.body or "", store=store))}
    return {name: [c.message for c in checks] for name, checks in found.items() if checks}


def text_clean(instance: MessageTemplate | FlowStep | ExperimentVariant) -> None:
    """`text_errors` as a ValidationError, for a service that saves."""
    problems = text_errors(instance)
    if problems:
        raise ValidationError(problems)


def trigger_fields_used(*bodies: str) -> list[str]:
    """The fields in these texts that only a flow's trigger fills (cart_link, product_name...)."""
    found: dict[str, None] = {}
    for body in bodies:
        try:
            template = parse(body)
        except TemplateError:
            continue
        found |= dict.fromkeys(ref.name for ref in template.fields if ref.name in TRIGGER_FIELDS)
    return list(found)


def broadcast_error(*bodies: str) -> str:
    """Why these texts cannot go out as a broadcast, or "" when they can."""
    names = trigger_fields_used(*bodies)
    if not names:
        return ""
    them = "it" if len(names) == 1 else "them"
    return (
        f"A broadcast has no trigger (no cart, checkout or product event), so {', '.join(names)} would "
        f"be empty for every recipient. Remove {them}, or send this text from a flow."
    )
