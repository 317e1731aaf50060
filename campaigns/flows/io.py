"""A flow as a JSON document, to copy it between stores (admin action and manage.py commands)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.content.checks import text_clean
from campaigns.flows.recipes import unique_flow_slug
from campaigns.models import Flow, FlowStep, FlowTriggerFilter, MessageTemplate, Offer
from campaigns.reports.experiments import copy_test_from_variant_b
from customers.models import Category, Product, Segment, Store
from customers.segments import validate

FORMAT = "smsmarketing.flow/1"
FLOW_FIELDS = [
    "name",
    "trigger",
    "event_type",
    "lookback_days",
    "include_viewers",
    "price_drop_percent",
    "days_after",
    "winback_multiplier",
    "winback_default_gap_days",
    "reward_threshold",
    "date_property",
    "exit_events",
    "reentry_days",
    "max_lateness_minutes",
    "priority",
]
OFFER_FIELDS = ["name", "source", "value_type", "value", "minimum_subtotal", "expires_hours", "code_prefix"]
STEP_FIELDS = [
    "position",
    "kind",
    "delay_value",
    "delay_unit",
    "body",
    "offer_code",
    "best_hour_within",
    "yes_next",
    "no_next",
]


class FlowImportError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _segment_out(segment: Segment | None) -> dict | None:
    if segment is None:
        return None
    return {
        "slug": segment.slug,
        "name": segment.name,
        "description": segment.description,
        "rules": segment.rules,
    }


def _offer_out(offer: Offer | None) -> dict | None:
    if offer is None:
        return None
    return {name: _plain(getattr(offer, name)) for name in OFFER_FIELDS}


def _plain(value):
    return str(value) if value is not None and not isinstance(value, (bool, int, str)) else value


def flow_export(*, flow: Flow) -> dict:
    steps = flow.steps.order_by("position").select_related("template", "segment", "offer")
    return {
        "format": FORMAT,
        "slug": flow.slug,
        **{name: _plain(getattr(flow, name)) for name in FLOW_FIELDS},
        "product": flow.product.external_id if flow.product_id else None,
        "category": flow.category.external_id if flow.category_id else None,
        "entry_segment": _segment_out(flow.entry_segment),
        "filters": [{"property": f.property, "op": f.op, "value": f.value} for f in flow.filters.all()],
        "steps": [
            {
                **{name: getattr(step, name) for name in STEP_FIELDS},
                "body": step.text,
                "template": step.template.name if step.template_id else None,
                "window_start": step.window_start.strftime("%H:%M") if step.window_start else None,
                "window_end": step.window_end.strftime("%H:%M") if step.window_end else None,
                "segment": _segment_out(step.segment),
                "offer": _offer_out(step.offer),
            }
            for step in steps
        ],
    }


def flow_import(*, store: Store, data: dict) -> Flow:
    """Creates the flow in `store` as a draft; segments and templates it names are reused by slug
    or name, else created. Raises FlowImportError naming the field; nothing is stored then."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FlowImportError("format", f"not a flow export (expected format {FORMAT!r})")
    with transaction.atomic():
        flow = Flow(
            store=store, status=Flow.Status.DRAFT, slug=unique_flow_slug(store, data.get("slug") or "flow")
        )
        for name in FLOW_FIELDS:
            if name in data:
                setattr(flow, name, data[name])
        flow.product = _by_external_id(Product, store, data.get("product"), "product")
        flow.category = _by_external_id(Category, store, data.get("category"), "category")
        flow.entry_segment = _segment_in(store, data.get("entry_segment"), "entry_segment")
        _clean(flow, "", exclude=["store"])
        flow.save()
        for i, spec in enumerate(data.get("filters") or []):
            rule = FlowTriggerFilter(flow=flow, **{k: spec.get(k, "") for k in ("property", "op", "value")})
            _clean(rule, f"filters[{i}].", exclude=["flow"])
            rule.save()
        for i, spec in enumerate(data.get("steps") or []):
            _step_in(flow, spec, f"steps[{i}].")
    return flow


def _clean(instance, prefix: str, exclude: list[str]) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
        if isinstance(instance, (FlowStep, MessageTemplate)):
            text_clean(instance)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise FlowImportError(f"{prefix}{field}", " ".join(messages)) from error


def _by_external_id(model, store: Store, external_id: str | None, field: str):
    if not external_id:
        return None
    found = model.objects.filter(store=store, external_id=external_id).first()
    if found is None:
        raise FlowImportError(
            field, f"no {model._meta.verbose_name} with external id {external_id!r} in {store}"
        )
    return found


def _segment_in(store: Store, spec: dict | None, field: str) -> Segment | None:
    if not spec:
        return None
    if not isinstance(spec, dict) or not spec.get("slug"):
        raise FlowImportError(f"{field}.slug", "a segment needs a slug")
    for error in validate(spec.get("rules") or {})[:1]:
        raise FlowImportError(f"{field}.rules.{error.path}".rstrip("."), error.message)
    segment, _ = Segment.objects.get_or_create(
        store=store,
        slug=spec["slug"],
        defaults={
            "name": spec.get("name") or spec["slug"],
            "description": spec.get("description", ""),
            "rules": spec.get("rules") or {},
        },
    )
    return segment


def _step_in(flow: Flow, spec: dict, prefix: str) -> None:
    if not isinstance(spec, dict):
        raise FlowImportError(prefix.rstrip("."), "a step is an object")
    step = FlowStep(flow=flow, **{k: spec[k] for k in STEP_FIELDS if spec.get(k) is not None})
    step.window_start, step.window_end = spec.get("window_start"), spec.get("window_end")
    step.segment = _segment_in(flow.store, spec.get("segment"), f"{prefix}segment")
    step.offer = _offer_in(flow.store, spec.get("offer"), f"{prefix}offer")
    if spec.get("template"):
        step.template, _ = MessageTemplate.objects.get_or_create(
            store=flow.store, name=spec["template"], defaults={"body": spec.get("body", "")}
        )
        step.body = ""
    _clean(step, prefix, exclude=["flow", "template", "segment", "offer"])
    step.save()
    if isinstance(spec.get("body_b"), str) and spec["body_b"].strip():
        copy_test_from_variant_b(step=step, body_b=spec["body_b"], now=timezone.now())


def _offer_in(store: Store, spec: dict | None, field: str) -> Offer | None:
    """The target store's offer of that name, else a new one with the same terms (a pool offer's
    codes stay with the store they were uploaded to)."""
    if not spec:
        return None
    if not isinstance(spec, dict) or not spec.get("name"):
        raise FlowImportError(f"{field}.name", "an offer needs a name")
    found = Offer.objects.filter(store=store, name=spec["name"]).first()
    if found is not None:
        return found
    offer = Offer(store=store, **{name: spec[name] for name in OFFER_FIELDS if spec.get(name) is not None})
    _clean(offer, f"{field}.", exclude=["store"])
    offer.save()
    return offer
