"""Message templates in the admin: checks on save, creep report, meter and a live preview."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from campaigns.admin.text_forms import CheckedTextForm
from campaigns.content import audience, creep, meter
from campaigns.content.checks import ERROR, check_template
from campaigns.content.fields import field_chips
from campaigns.content.links import short_url, with_utm
from campaigns.content.rendering import preview_snapshots, render_messages
from campaigns.content.templating import MAX_BODY_CHARS, TemplateError
from campaigns.models import FlowStep, MessageTemplate
from campaigns.models.templates import CreepTerm
from customers.admin.defaults import OneStorePreselected
from customers.admin.scoping import StoreScopedAdmin, stores_for
from customers.ingest.schemas import json_problem
from customers.models import Customer, Segment, Store
from customers.segments import InvalidRules, members

SAMPLE_SIZE = 5
AUDIENCE_SAMPLE = 20_000  # larger audiences are measured on a random sample, to answer in seconds
MAX_PREVIEW_CHARS = 10 * MAX_BODY_CHARS


class MessageTemplateForm(CheckedTextForm):
    class Meta:
        model = MessageTemplate
        fields = ["store", "name", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6, "cols": 80, "spellcheck": "true"})}
        help_texts = {
            "body": 'Plain text with fields, e.g. {{ product_name|default:"this item" }}. Filters: default, '
                    "upper, lower, title, truncate:N, money.",
        }


@admin.register(MessageTemplate)
class MessageTemplateAdmin(OneStorePreselected, StoreScopedAdmin):
    form = MessageTemplateForm
    change_form_template = "admin/campaigns/messagetemplate/change_form.html"
    list_display = ["name", "store", "encoding", "segments", "updated_at"]
    list_filter = ["store"]
    list_select_related = ["store"]
    search_fields = ["name", "body"]
    readonly_fields = ["meter_report", "creep_report", "check_report"]
    fieldsets = [
        (None, {"fields": ["store", "name", "body"]}),
        ("As saved", {"fields": ["meter_report", "check_report", "creep_report"], "classes": ["collapse"]}),
    ]

    def _measure(self, obj: MessageTemplate) -> meter.Measure | None:
        try:
            return audience.measure_template(obj.body, store=obj.store)
        except TemplateError:
            return None

    @admin.display(description="Encoding")
    def encoding(self, obj: MessageTemplate) -> str:
        measured = self._measure(obj)
        return measured.encoding if measured else "invalid"

    @admin.display(description="Segments")
    def segments(self, obj: MessageTemplate) -> str:
        measured = self._measure(obj)
        return str(measured.segments) if measured else "-"

    @admin.display(description="Meter")
    def meter_report(self, obj: MessageTemplate) -> str:
        measured = self._measure(obj) if obj.pk else None
        if measured is None:
            return "-"
        chars = ", ".join(f"{c.char} ({c.name})" for c in measured.unicode_chars)
        return format_html(
            "{} · {} characters · {} segment(s) of up to {}{}", measured.encoding, measured.characters,
            measured.segments, measured.per_segment, f" · UCS-2 because of {chars}" if chars else "",
        )

    @admin.display(description="Checks")
    def check_report(self, obj: MessageTemplate) -> str:
        checks = check_template(obj.body, store=obj.store) if obj.pk else []
        checks = [c for c in checks if c.code != "creep"]
        if not checks:
            return "No problems found."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>",
                                                           ((c.level, c.message) for c in checks)))

    @admin.display(description="Creep-factor report")
    def creep_report(self, obj: MessageTemplate) -> str:
        findings = creep.check(obj.body, store=obj.store) if obj.pk else []
        if not findings:
            return "Nothing creepy found."
        return format_html("<ol>{}</ol>", format_html_join(
            "", "<li><strong>“{}”</strong> ({}): {} {}</li>",
            ((f.phrase, f.label, f.explanation, f.suggestion) for f in findings)))

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        for check in check_template(obj.body, store=obj.store):
            if check.level != ERROR:
                messages.warning(request, f"{check.level.capitalize()}: {check.message}")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        flows = first_text_of(object_id) if str(object_id).isascii() and str(object_id).isdigit() else []
        context = {**(extra_context or {}), "first_of": flows, "fields": field_chips()}
        return super().change_view(request, object_id, form_url, context)

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, {**(extra_context or {}), "fields": field_chips()})

    def get_urls(self):
        own = [
            path("preview/", self.admin_site.admin_view(self.preview_view),
                 name="campaigns_messagetemplate_preview"),
            path("audience/", self.admin_site.admin_view(self.audience_view),
                 name="campaigns_messagetemplate_audience"),
        ]
        return own + super().get_urls()

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        payload, store, error = self._read(request)
        if error:
            return error
        try:
            return JsonResponse(template_preview(payload, store=store))
        except InvalidRules as exc:
            return _errors("segment", f"The segment's rules cannot be evaluated: {exc}", status=409)

    def audience_view(self, request: HttpRequest) -> JsonResponse:
        payload, store, error = self._read(request)
        if error:
            return error
        segment = _segment(store, payload.get("segment"))
        if segment is None and payload.get("segment") not in (None, ""):
            return _errors("segment", "Pick a segment of this store.")
        try:
            # No segment picked: the store's whole subscribed list, rather than nothing.
            audience_of = members(segment, now=timezone.now()) if segment else store.customers.all()
            subscribers = audience_of.filter(sms_consent=Customer.Consent.SUBSCRIBED)
        except InvalidRules as exc:
            return _errors("segment", f"The segment's rules cannot be evaluated: {exc}", status=409)
        try:
            result = audience.audience_meter(template_body=str(payload.get("body", "")), store=store,
                                          customers=subscribers, sample_size=AUDIENCE_SAMPLE)
        except TemplateError as exc:
            return _errors("body", exc.message)
        return JsonResponse({"segment": segment.name if segment else "All subscribers", **result.as_dict()})

    def _read(self, request: HttpRequest):
        if request.method != "POST":
            return None, None, _errors("method", "Use POST.", status=405)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            payload = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            return None, None, _errors("body", "Send a JSON object.")
        if not isinstance(payload, dict):
            return None, None, _errors("body", "Send a JSON object.")
        problem = json_problem(payload)
        if problem is not None:
            return None, None, _errors(problem.field, problem.message)
        if len(str(payload.get("body", ""))) > MAX_PREVIEW_CHARS:
            # Longer than any text can be: the checks would only say so after reading it all.
            return None, None, _errors("body", f"must be at most {MAX_PREVIEW_CHARS:,} characters")
        store = stores_for(request.user).filter(pk=_int(payload.get("store"))).first()
        if store is None:
            return None, None, _errors("store", "Pick one of your stores.")
        return payload, store, None


def _int(value: object) -> int | None:
    """An id, or None for anything a primary key cannot be (so no lookup overflows the database)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _errors(field: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def _segment(store: Store, value: object) -> Segment | None:
    return Segment.objects.filter(store=store, pk=_int(value)).first() if _int(value) else None


def _sample_customers(store: Store, payload: dict) -> list[Customer]:
    wanted = str(payload.get("customer") or "").strip()
    if wanted:
        query = Q(phone=wanted) | Q(external_id=wanted)
        if wanted.isascii() and wanted.isdigit() and len(wanted) <= 18:  # "²" is a digit to isdigit()
            query |= Q(pk=int(wanted))
        return list(Customer.objects.filter(store=store).filter(query)[:1])
    segment = _segment(store, payload.get("segment"))
    if segment is not None:
        return list(members(segment, now=timezone.now()).order_by("pk")[:SAMPLE_SIZE])
    return []


def template_preview(payload: dict, *, store: Store) -> dict[str, object]:
    """Checks, creep findings and meter for the body, and the text as chosen customers would get it."""
    body = str(payload.get("body", ""))
    checks = check_template(body, store=store, is_first_in_flow=bool(payload.get("is_first_in_flow")))
    result: dict[str, object] = {
        "checks": [c.as_dict() for c in checks if c.code != "creep"],
        "creep": [f.as_dict() for f in creep.check(body, store=store)],
        "segments": [{"id": s.pk, "name": s.name} for s in store.segments.order_by("name")],
        "template_meter": None,
        "gsm_friendly": "",
        "samples": [],
        "sample_note": "",
    }
    if any(c.level == ERROR for c in checks):
        return result
    result["template_meter"] = audience.measure_template(body, store=store).as_dict()
    friendly = meter.gsm_friendly(body)
    result["gsm_friendly"] = friendly if friendly != body else ""
    customers = _sample_customers(store, payload)
    if str(payload.get("customer") or "").strip() and _segment(store, payload.get("segment")):
        result["sample_note"] = "Showing the customer you typed; clear the box to see five from the segment."
    context = str(payload.get("context", "latest"))
    snapshots = preview_snapshots(customers, trigger=context) if context != "none" else None
    # Codes are drawn but no Link is stored: the samples show the text as sent, short link and all
    # (so the count matches what is shown), and beside it the page each link opens.
    rendered = render_messages(template_body=body, customers=customers, snapshots=snapshots,
                               utm_campaign="preview", utm_content="preview", track_links=True)
    lists = creep.word_lists(store)
    in_template = {f["phrase"].lower() for f in result["creep"]}
    # Per customer, only what their values add: the template's own findings are listed once above.
    result["samples"] = [
        {
            "customer": {"id": c.pk, "name": f"{c.first_name} {c.last_name}".strip() or "(no name)",
                         "phone": c.phone},
            "body": r.body,
            "links": _opens(r),
            "meter": r.measure.as_dict(),
            "creep": [f.as_dict() for f in creep.check(r.body, lists=lists)
                      if f.phrase.lower() not in in_template],
        }
        for c, r in zip(customers, rendered, strict=True)
    ]
    return result


def first_text_of(template_id: int | str) -> list[str]:
    """Names of the flows whose first text is this template: it should say how to opt out."""
    send = FlowStep.Kind.SEND
    earlier = FlowStep.objects.filter(
        flow=OuterRef("flow"), kind=send, position__lt=OuterRef("position")
    )
    steps = FlowStep.objects.filter(template_id=template_id, kind=send).exclude(Exists(earlier))
    return sorted(set(steps.values_list("flow__name", flat=True)))


def _opens(rendered) -> list[dict[str, str]]:
    """Each short link of the rendered text and the page it opens."""
    return [
        {
            "short": short_url(link.code),
            "opens": with_utm(link.target_url, campaign=link.utm_campaign, content=link.utm_content),
        }
        for link in rendered.links
    ]


@admin.register(CreepTerm)
class CreepTermAdmin(StoreScopedAdmin):
    list_display = ["phrase", "category", "action", "store", "note"]
    list_filter = ["store", "category", "action"]
    search_fields = ["phrase", "note"]
