"""Segments in the admin: a visual rule builder with a live count, presets, and store-owner scoping."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify

from customers.admin.scoping import StoreScopedAdmin, stores_for
from customers.engagement import tier_labels
from customers.models import Customer, Segment, Store
from customers.segments import InvalidRules, Reach, members_count, segment_errors
from customers.segments import schema as rule_schema
from customers.segments.counts import Counts, counts_shown
from customers.segments.membership import reads_stored
from customers.segments.presets import PRESETS, presets_install
from customers.segments.preview import preview_counts
from customers.segments.summary import summarize

SAMPLE_SIZE = 10


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["store", "name", "slug", "description", "rules", "stored"]
        widgets = {"rules": forms.HiddenInput}

    def clean(self):
        cleaned = super().clean()
        store, rules = cleaned.get("store"), cleaned.get("rules")
        if store is not None and "rules" in cleaned:
            errors = segment_errors(rules, store=store, segment_id=self.instance.pk)
            if errors:
                self.add_error("rules", [f"{e.path or 'rules'}: {e.message}" for e in errors])
        return cleaned


def builder_catalog(user, segment: Segment | None) -> dict:
    """Everything the builder's dropdowns offer, so the page never asks for JSON."""
    return {
        "profile_fields": [
            {"name": k, "type": t, "label": label} for k, (t, label) in rule_schema.PROFILE_FIELDS.items()
        ],
        "ops_by_type": rule_schema.OPS_BY_TYPE,
        "no_value_ops": sorted(rule_schema.NO_VALUE_OPS),
        "consent_statuses": rule_schema.CONSENT_STATUSES,
        "topics": rule_schema.TOPICS,
        "loyalty_ops": rule_schema.LOYALTY_OPS,
        "metrics": rule_schema.METRICS,
        "metric_ops": rule_schema.METRIC_OPS,
        "day_metric_ops": rule_schema.DAY_METRIC_OPS,
        "engagement_tiers": rule_schema.ENGAGEMENT_TIERS,
        "engagement_labels": {str(s.pk): tier_labels(s) for s in stores_for(user)},
        "churn_bands": rule_schema.CHURN_BANDS,
        "rank_metrics": rule_schema.RANK_METRICS,
        "event_types": rule_schema.EVENT_TYPES,
        "event_filter_special": rule_schema.EVENT_FILTER_SPECIAL,
        "event_filter_ops": rule_schema.EVENT_FILTER_OPS,
        "count_ops": rule_schema.COUNT_OPS,
        "units": rule_schema.UNITS,
        "segments": [
            {"id": s.pk, "name": s.name, "store": s.store_id}
            for s in Segment.objects.filter(store__in=stores_for(user)).order_by("name")
            if segment is None or s.pk != segment.pk
        ],
    }


def preview(*, store: Store, rules: object, segment: Segment | None, now) -> dict:
    """What the builder shows beside the tree: count, samples, summary, change against the saved rules."""
    errors = segment_errors(rules, store=store, segment_id=segment.pk if segment else None)
    names = dict(Segment.objects.filter(store=store).values_list("pk", "name"))
    if errors:
        return {
            "errors": [e.as_dict() for e in errors],
            "summary": None,
            "count": None,
            "sample": [],
            "diff": None,
            "estimate": None,
        }
    shown = preview_counts(store=store, rules=rules, segment=segment, now=now)
    return {
        "errors": [],
        "summary": summarize(rules, segment_names=names),
        "count": shown.count,
        "reachable": shown.reachable,
        "reachable_estimated": shown.reachable_estimated,
        "estimate": shown.estimate.as_dict() if shown.estimate else None,
        "sample": [_sample_row(c) for c in shown.sample],
        "diff": shown.diff,
    }


def _counts_html(counts: Counts, when: str) -> str:
    """"12,345 customers · 9,876 reachable by SMS" and beneath it when that was counted."""
    at = timezone.localtime(counts.at)
    reach = Reach(counts.members, counts.reachable)
    return format_html("{}<br><small>{} {}</small>", str(reach), when, f"{at:%H:%M %Z}")


def _sample_row(customer: Customer) -> dict:
    try:
        url = reverse("admin:customers_customer_change", args=[customer.pk])
    except NoReverseMatch:
        url = ""
    name = " ".join(filter(None, [customer.first_name, customer.last_name])) or "—"
    return {"id": customer.pk, "name": name, "phone": customer.phone, "city": customer.city, "url": url}


@admin.register(Segment)
class SegmentAdmin(StoreScopedAdmin):
    form = SegmentForm
    change_form_template = "admin/customers/segment/change_form.html"
    change_list_template = "admin/customers/segment/change_list.html"
    list_display = ["name", "store", "members", "plain_summary", "preset", "updated_at"]
    list_filter = ["store", ("preset", admin.EmptyFieldListFilter), "stored"]
    readonly_fields = ["membership"]
    list_select_related = ["store"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    actions = ["duplicate"]

    @admin.display(description="Who")
    def plain_summary(self, segment: Segment) -> str:
        return summarize(segment.rules)

    @admin.display(description="Members")
    def members(self, segment: Segment) -> str:
        if getattr(segment, "rules_error", None):
            return f"Cannot be counted ({segment.rules_error}): open it to fix the rules"
        if segment.stored:
            return self.membership(segment)
        counts = getattr(segment, "counts", None)
        return "—" if counts is None else _counts_html(counts, "counted")

    @admin.display(description="Membership table")
    def membership(self, segment: Segment) -> str:
        """A stored segment's counts as of its last refresh, its last failure, and a live count link."""
        if segment.pk is None or not segment.stored:
            return "—"
        if reads_stored(segment):
            members, reachable = segment.counted_members or 0, segment.counted_reachable or 0
            text = _counts_html(Counts(members, reachable, segment.refreshed_at), "as of")
        else:
            text = format_html("{}", "not refreshed yet")
        if segment.refresh_error:
            failed = timezone.localtime(segment.refresh_failed_at)
            text = format_html(
                "{} · last refresh failed at {}: {}", text, f"{failed:%H:%M %Z}", segment.refresh_error
            )
        url = reverse("admin:customers_segment_live_count", args=[segment.pk])
        return format_html('{} · <a href="{}">count now</a>', text, url)

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        segments = list(changelist.result_list)
        shown = counts_shown(segments, now=timezone.now())
        for segment in segments:
            segment.counts = shown.get(segment.pk)
        return changelist

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("rules", json.dumps({"type": "group", "match": "all", "children": []}))
        stores = list(stores_for(request.user).order_by("brand_name")[:2])
        if len(stores) == 1:
            initial.setdefault("store", stores[0].pk)
        return initial

    # --- builder ------------------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["builder_catalog"] = builder_catalog(request.user, obj)
        context["preview_url"] = reverse("admin:customers_segment_preview")
        context["segment_id"] = obj.pk if obj else None
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        own = [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="customers_segment_preview"),
            path(
                "<path:object_id>/live-count/",
                self.admin_site.admin_view(self.live_count_view),
                name="customers_segment_live_count",
            ),
            path(
                "install-presets/",
                self.admin_site.admin_view(self.install_presets_view),
                name="customers_segment_install_presets",
            ),
        ]
        return own + super().get_urls()

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        if request.method != "POST":
            return JsonResponse({"errors": [{"path": "", "message": "POST the tree as JSON"}]}, status=405)
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        try:
            body = json.loads(request.body)
        except (ValueError, RecursionError):
            return JsonResponse({"errors": [{"path": "", "message": "the body is not JSON"}]}, status=400)
        if not isinstance(body, dict):
            return JsonResponse(
                {"errors": [{"path": "", "message": "the body must be an object"}]}, status=400
            )
        store = stores_for(request.user).order_by("brand_name").filter(pk=_int(body.get("store"))).first()
        if store is None:
            return JsonResponse(
                {"errors": [{"path": "store", "message": "choose a store first"}]}, status=400
            )
        segment = self.get_queryset(request).filter(pk=_int(body.get("segment")), store=store).first()
        return JsonResponse(
            preview(store=store, rules=body.get("rules"), segment=segment, now=timezone.now())
        )

    def live_count_view(self, request: HttpRequest, object_id: str):
        """The exact count now, from the rules (a stored segment's list shows its last refresh)."""
        segment = get_object_or_404(self.get_queryset(request), pk=_int(object_id))
        if not self.has_view_permission(request, segment):
            raise PermissionDenied
        now = timezone.now()
        try:
            count = members_count(segment, now=now)
        except InvalidRules as exc:
            first = exc.errors[0]
            self.message_user(
                request,
                f"{segment.name}: cannot be counted ({first.path or 'rules'}: {first.message})",
                messages.ERROR,
            )
        else:
            at = timezone.localtime(now)
            live = f"{segment.name}: {count:,} members now ({at:%H:%M %Z}, counted live)."
            self.message_user(request, live)
        return HttpResponseRedirect(reverse("admin:customers_segment_changelist"))

    def install_presets_view(self, request: HttpRequest):
        if not self.has_add_permission(request):
            raise PermissionDenied
        stores = stores_for(request.user).order_by("brand_name")
        if request.method == "POST":
            chosen = stores.filter(pk__in=request.POST.getlist("store"))
            total = sum(len(presets_install(store=store)) for store in chosen)
            self.message_user(request, f"{total} preset segment(s) installed for {chosen.count()} store(s).")
            return HttpResponseRedirect(reverse("admin:customers_segment_changelist"))
        installed = dict(
            stores.annotate(n=Count("segments", filter=~Q(segments__preset=""))).values_list("pk", "n")
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Install preset segments",
            "opts": self.model._meta,
            "stores": [(store, installed.get(store.pk, 0)) for store in stores],
            "presets": PRESETS,
        }
        return render(request, "admin/customers/segment/install_presets.html", context)

    # --- actions ------------------------------------------------------------------------------

    @admin.action(description="Make an editable copy of the selected segments")
    def duplicate(self, request: HttpRequest, queryset: QuerySet[Segment]) -> None:
        taken = set(
            Segment.objects.filter(store__in=queryset.values("store")).values_list("store_id", "slug")
        )
        copies = []
        for segment in queryset:
            slug, n = slugify(f"{segment.slug}-copy")[:90], 1
            while (segment.store_id, slug) in taken:
                n += 1
                slug = slugify(f"{segment.slug}-copy-{n}")[:90]
            taken.add((segment.store_id, slug))
            copies.append(
                Segment(
                    store_id=segment.store_id,
                    name=f"{segment.name} (copy)"[:100],
                    slug=slug,
                    description=segment.description,
                    rules=segment.rules,
                    stored=segment.stored,
                )
            )
        Segment.objects.bulk_create(copies)
        self.message_user(request, f"{len(copies)} segment(s) copied.", messages.SUCCESS)


def _int(value: object) -> int | None:
    """An id, or None for anything a primary key cannot be (so no lookup overflows the database)."""
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 2**63 else None
