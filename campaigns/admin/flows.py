"""Flow editor: ordered steps with delay, condition and preview; the diagram; recipes; import,
export and backtest. Store owners see only their stores' flows."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from campaigns.admin.text_forms import CheckedTextForm
from campaigns.content.checks import ERROR, Check, step_checks
from campaigns.content.first_texts import running_variants, steps_problems
from campaigns.flows.backtest import flow_backtest
from campaigns.flows.diagram import flow_diagram, sample_context, sample_customer, step_preview
from campaigns.flows.going_live import flows_set_status
from campaigns.flows.io import FlowImportError, flow_export, flow_import
from campaigns.flows.recipes import RECIPES, recipe_flows, recipe_install, recipe_installed
from campaigns.models import Flow, FlowRun, FlowStep, FlowTriggerFilter
from customers.admin.scoping import StoreScopedAdmin, StoreScopedInline, stores_for
from customers.models import Store

TRIGGER_FIELDS = {
    "event": ["event_type"],
    "back_in_stock": ["lookback_days", "include_viewers"],
    "price_drop": ["lookback_days", "price_drop_percent"],
    "post_purchase": ["days_after", "product", "category"],
    "replenishment": ["days_after", "product", "category"],
    "win_back": ["winback_multiplier", "winback_default_gap_days"],
    "reward_threshold": ["reward_threshold"],
    "date_property": ["date_property"],
}


class FlowStepForm(CheckedTextForm):
    class Meta:
        model = FlowStep
        fields = [
            "position",
            "kind",
            "delay_value",
            "delay_unit",
            "window_start",
            "window_end",
            "best_hour_within",
            "template",
            "body",
            "offer_code",
            "offer",
            "segment",
            "yes_next",
            "no_next",
        ]
        widgets = {
            "body": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class FlowStepFormSet(BaseInlineFormSet):
    """A live flow's steps as submitted: its first text must be safe (`content.first_texts`)."""

    def clean(self) -> None:
        super().clean()
        if self.instance.status != Flow.Status.LIVE or any(self.errors):
            return
        kept = [f.instance for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not kept:
            raise ValidationError("A flow needs at least one step to go live.")
        problems = steps_problems(kept, store=self.instance.store, variants=running_variants(kept))
        if problems:
            raise ValidationError(
                ["This flow cannot be live while the first text a customer may get falls short; "
                 "fix it or set the flow to draft.", *problems]
            )


class FlowStepInline(StoreScopedInline, admin.StackedInline):
    model = FlowStep
    store_path = "flow__store"
    form = FlowStepForm
    formset = FlowStepFormSet
    extra = 0
    ordering = ["position"]
    readonly_fields = ["condition", "preview", "checks"]
    fieldsets = [
        (None, {"fields": [("position", "kind")]}),
        (
            "Delay",
            {"fields": [("delay_value", "delay_unit"), ("window_start", "window_end"), "best_hour_within"]},
        ),
        ("Message", {"fields": ["template", "body", ("offer_code", "offer"), "preview", "checks"]}),
        ("Condition", {"fields": [("segment", "yes_next", "no_next"), "condition"]}),
    ]

    @admin.display(description="Condition")
    def condition(self, step: FlowStep) -> str:
        if not step.pk or step.kind != FlowStep.Kind.SPLIT:
            return "—"
        yes = f"step {step.yes_next}" if step.yes_next else "the next step"
        no = f"step {step.no_next}" if step.no_next else "the end"
        return f"In “{step.segment}” → {yes}; otherwise → {no}"

    @admin.display(description="Checks")
    def checks(self, step: FlowStep) -> str:
        found = step_warnings(step) if step.pk else []
        if not found:
            return "—"
        return format_html_join(
            "", '<div class="flow-check flow-check-{}">{}</div>', ((c.level, c.message) for c in found)
        )

    @admin.display(description="Rendered preview")
    def preview(self, step: FlowStep) -> str:
        if not step.pk or step.kind != FlowStep.Kind.SEND:
            return "—"
        customer = sample_customer(step.flow)
        text = step_preview(step, customer=customer, context=sample_context(step.flow))
        return format_html('<span class="flow-preview">{}</span><br><small>for {}</small>', text, customer)


def step_warnings(step: FlowStep) -> list[Check]:
    """Warnings and hints on a step's texts (errors never get saved): creep, opt-out wording, links."""
    first = not FlowStep.objects.filter(
        flow_id=step.flow_id, kind=FlowStep.Kind.SEND, position__lt=step.position
    ).exists()
    found = step_checks(step, is_first_in_flow=first)
    return [c for checks in found.values() for c in checks if c.level != ERROR]


class FlowTriggerFilterInline(StoreScopedInline, admin.TabularInline):
    model = FlowTriggerFilter
    store_path = "flow__store"
    extra = 0
    verbose_name = "event property filter"


class FlowForm(forms.ModelForm):
    class Meta:
        model = Flow
        fields = [
            "store",
            "name",
            "slug",
            "status",
            "priority",
            *dict.fromkeys(f for names in TRIGGER_FIELDS.values() for f in names),
            "trigger",
            "entry_segment",
            "exit_events",
            "reentry_days",
            "max_lateness_minutes",
        ]
        widgets = {"exit_events": forms.TextInput(attrs={"size": 60, "placeholder": "order_placed"})}

    class Media:
        js = ["campaigns/flows/flow_form.js"]
        css = {"all": ["campaigns/flows/flows.css"]}


@admin.register(Flow)
class FlowAdmin(StoreScopedAdmin):
    form = FlowForm
    list_display = ["name", "store", "trigger", "status", "priority", "active_runs", "created_at", "report"]
    list_filter = ["status", "trigger", "store"]
    search_fields = ["name", "slug", "event_type"]
    list_select_related = ["store"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["diagram", "error", "error_at"]
    inlines = [FlowTriggerFilterInline, FlowStepInline]
    actions = ["make_live", "make_draft", "pause", "export_json", "backtest"]
    fieldsets = [
        (None, {"fields": ["store", "name", "slug", "status", "priority", "error", "error_at"]}),
        ("Diagram", {"fields": ["diagram"]}),
        (
            "Trigger",
            {
                "fields": [
                    "trigger",
                    "event_type",
                    "lookback_days",
                    "include_viewers",
                    "price_drop_percent",
                    "days_after",
                    "product",
                    "category",
                    "winback_multiplier",
                    "winback_default_gap_days",
                    "reward_threshold",
                    "date_property",
                ],
                "description": format_html(
                    '<span id="flow-trigger-fields" data-fields="{}"></span>', json.dumps(TRIGGER_FIELDS)
                ),
            },
        ),
        (
            "Who and how often",
            {"fields": ["entry_segment", "exit_events", "reentry_days", "max_lateness_minutes"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(active=Count("runs", filter=Q(runs__state=FlowRun.State.ACTIVE)))
        )

    @admin.display(description="Report")
    def report(self, flow: Flow) -> str:
        return format_html('<a href="{}">Report</a>', reverse("admin:reports_flow", args=[flow.pk]))

    @admin.display(description="Active runs", ordering="active")
    def active_runs(self, flow: Flow) -> int:
        return flow.active

    @admin.display(description="Flow")
    def diagram(self, flow: Flow) -> str:
        if not flow.pk:
            return "Save the flow to see its diagram."
        return render_to_string("campaigns/flows/diagram.html", flow_diagram(flow))

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        steps = form.instance.steps.filter(kind=FlowStep.Kind.SEND).select_related("flow__store", "template")
        for step in steps:
            for check in step_warnings(step):
                messages.warning(request, f"Step {step.position}: {check.message}")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("install-recipe/", wrap(self.install_recipe_view), name="campaigns_flow_install_recipe"),
            path("import/", wrap(self.import_view), name="campaigns_flow_import"),
            path("<int:flow_id>/backtest/", wrap(self.backtest_view), name="campaigns_flow_backtest"),
            path("<int:flow_id>/export/", wrap(self.export_view), name="campaigns_flow_export"),
            *super().get_urls(),
        ]

    # --- actions ----------------------------------------------------------------------------------

    def _set_status(self, request, queryset, status: str) -> None:
        moved, refused = flows_set_status(flows=queryset, status=status)
        for flow, problems in refused.items():
            refused_text = f"“{flow.name}” stays {flow.status}: {' '.join(problems)}"
            self.message_user(request, refused_text, messages.ERROR)
        self.message_user(request, f"{moved} flow(s) now {status}.")

    @admin.action(description="Make live", permissions=["change"])
    def make_live(self, request, queryset):
        self._set_status(request, queryset, Flow.Status.LIVE)

    @admin.action(description="Back to draft", permissions=["change"])
    def make_draft(self, request, queryset):
        self._set_status(request, queryset, Flow.Status.DRAFT)

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request, queryset):
        self._set_status(request, queryset, Flow.Status.PAUSED)

    @admin.action(description="Export as JSON")
    def export_json(self, request, queryset):
        flows = list(queryset)
        data = flow_export(flow=flows[0]) if len(flows) == 1 else [flow_export(flow=f) for f in flows]
        name = flows[0].slug if len(flows) == 1 else "flows"
        return _json_download(data, f"{name}.json")

    @admin.action(description="Backtest (last 30 days)")
    def backtest(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one flow to backtest.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:campaigns_flow_backtest", args=[queryset.get().pk]))

    # --- views ------------------------------------------------------------------------------------

    def _flow_or_404(self, request, flow_id: int) -> Flow:
        return get_object_or_404(self.get_queryset(request), pk=flow_id)

    def install_recipe_view(self, request: HttpRequest):
        if not self.has_add_permission(request):
            raise PermissionDenied
        stores = stores_for(request.user)
        if request.method == "POST":
            store = stores.filter(pk=request.POST.get("store")).first()
            name = request.POST.get("recipe")
            if store is None or name not in RECIPES:
                self.message_user(request, "Choose a store and a recipe.", messages.ERROR)
            else:
                return self._install(request, store, name)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Install a recipe",
            "recipes": [(recipe, _installed(stores, recipe.name)) for recipe in RECIPES.values()],
            "stores": stores,
        }
        return TemplateResponse(request, "admin/campaigns/flow/install_recipe.html", context)

    def _install(self, request: HttpRequest, store: Store, name: str) -> HttpResponse:
        """Installs the recipe; one already installed is opened instead, unless a draft copy is asked."""
        installed = recipe_installed(store=store, name=name)
        if installed is not None and request.POST.get("copy") != "1":
            self.message_user(
                request,
                f"“{installed.name}” is already installed ({installed.status}): here it is. To try a "
                "variation, make a draft copy from Install a recipe.",
                messages.WARNING,
            )
            return HttpResponseRedirect(reverse("admin:campaigns_flow_change", args=[installed.pk]))
        live = request.POST.get("live") == "1" and installed is None
        try:
            flow = recipe_install(store=store, name=name, live=live)
        except ValidationError as refused:
            self.message_user(request, " ".join(refused.messages), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:campaigns_flow_install_recipe"))
        self.message_user(request, f"Installed “{flow.name}” for {store} as {flow.status}.")
        return HttpResponseRedirect(reverse("admin:campaigns_flow_change", args=[flow.pk]))

    def import_view(self, request: HttpRequest):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = FlowImportForm(request.POST or None, request.FILES or None, stores=stores_for(request.user))
        if request.method == "POST" and form.is_valid():
            flows = form.save()
            self.message_user(
                request, f"Imported {len(flows)} flow(s) as drafts: {', '.join(f.name for f in flows)}."
            )
            return HttpResponseRedirect(reverse("admin:campaigns_flow_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import a flow",
            "form": form,
        }
        return TemplateResponse(request, "admin/campaigns/flow/import_flow.html", context)

    def backtest_view(self, request: HttpRequest, flow_id: int):
        flow = self._flow_or_404(request, flow_id)
        asked = request.GET.get("days", "")
        days = max(1, min(int(asked), 90)) if asked.isascii() and asked.isdigit() else 30
        report = flow_backtest(flow=flow, now=timezone.now(), days=days)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": flow,
            "title": f"Backtest: {flow.name}",
            "report": report,
            "days": days,
        }
        return TemplateResponse(request, "admin/campaigns/flow/backtest.html", context)

    def export_view(self, request: HttpRequest, flow_id: int):
        flow = self._flow_or_404(request, flow_id)
        return _json_download(flow_export(flow=flow), f"{flow.slug}.json")


def _installed(stores: QuerySet[Store], name: str) -> list[Flow]:
    return list(Flow.objects.filter(recipe_flows(name), store__in=stores).order_by("pk"))


def _json_download(data, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class FlowImportForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none())
    file = forms.FileField(help_text="A JSON file from “Export as JSON” or manage.py export_flow.")

    def __init__(self, *args, stores: QuerySet[Store], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores
        self.imported: list[Flow] = []

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            data = json.loads(upload.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise forms.ValidationError(f"Not a JSON file: {error}") from error
        return data if isinstance(data, list) else [data]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        from django.db import transaction

        try:
            with transaction.atomic():
                self.imported = [flow_import(store=cleaned["store"], data=item) for item in cleaned["file"]]
        except FlowImportError as error:
            self.imported = []
            raise forms.ValidationError(f"{error.field}: {error.message}") from error
        return cleaned

    def save(self) -> list[Flow]:
        return self.imported


@admin.register(FlowRun)
class FlowRunAdmin(StoreScopedAdmin):
    store_path = "flow__store"
    list_display = [
        "id",
        "flow",
        "customer",
        "state",
        "current_step",
        "next_due_at",
        "exit_reason",
        "entered_at",
    ]
    list_filter = ["state", "flow"]
    search_fields = ["customer__phone", "customer__first_name", "cart_id", "checkout_id", "trigger_key"]
    list_select_related = ["flow", "customer", "current_step"]
    date_hierarchy = "entered_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
