"""Reports in the admin: the dashboard on the home page, a flow's funnel, a campaign's and an
experiment's variants side by side; every table also as CSV. Experiments are edited here too."""

from __future__ import annotations

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from campaigns.admin.text_forms import CheckedTextForm
from campaigns.broadcasts.preferences_ask import cold_preferences_answered, cold_preferences_campaign_create
from campaigns.models import Campaign, Experiment, ExperimentDecision, ExperimentVariant, Flow
from campaigns.reports import charts, tables
from campaigns.reports.decisions import plan_steps
from campaigns.reports.experiments import experiment_start
from campaigns.reports.lift import control_group_lift
from campaigns.reports.metrics import CATALOGUE, COLUMNS, COUNTED, WINDOW, cohort_sql
from customers.admin.scoping import StoreScopedAdmin, StoreScopedInline, stores_for
from customers.admin.store_time import zone_label
from customers.engagement import TIERS, tier_labels
from customers.models import Store
from customers.segments.health import list_health
from customers.segments.schema import CHURN_BANDS

RANGES = {"7": 7, "30": 30, "90": 90}


def report_range(request: HttpRequest, store: Store) -> tuple[tables.Range, str]:
    days = request.GET.get("days", "30")
    days = days if days in RANGES else "30"
    tz = ZoneInfo(store.default_timezone)
    end = timezone.now()
    return tables.Range(start=end - timedelta(days=RANGES[days]), end=end, tz=tz), days


def chosen_store(request: HttpRequest) -> Store | None:
    stores = stores_for(request.user).order_by("pk")
    wanted = request.GET.get("store", "")
    found = stores.filter(pk=wanted).first() if wanted.isascii() and wanted.isdigit() else None
    return found or stores.first()


CHARTS = [
    ("Sends and clicks", ["sent", "clicked"], False),
    ("Attributed orders", ["orders"], False),
    ("Attributed revenue", ["revenue"], True),
    ("Opt-outs", ["opt_outs"], False),
]


def catalogue_context() -> dict:
    """The definitions every report page shows under its tables."""
    return {
        "window": WINDOW,
        "cohort_sql": cohort_sql(),
        "catalogue": [CATALOGUE[k] for k in COLUMNS] + [CATALOGUE["clickers"], CATALOGUE["recipients"]],
    }


def list_health_shown(store: Store, now) -> dict:
    """Everyone, and each engagement tier (the store's windows), as customers and reachable by SMS;
    the reachable by predicted churn risk band; as counted by the tick, with when."""
    labels = tier_labels(store)
    found = list_health(store, now=now)
    tiers = [(tier, labels[tier], found.groups[tier]) for tier in TIERS]
    churn = {band: found.groups[f"churn:{band}"].reachable for band in CHURN_BANDS}
    taken = timezone.localtime(found.taken_at, ZoneInfo(store.default_timezone))
    return {"all": found.groups["all"], "tiers": tiers, "churn": churn, "taken_at": taken}


def dashboard_context(request: HttpRequest) -> dict:
    store = chosen_store(request)
    if store is None:
        return {}
    rng, days = report_range(request, store)
    now = timezone.now()
    keys = sorted({key for _, chart_keys, _ in CHARTS for key in chart_keys})
    series = tables.daily_series(store, rng, keys)
    health = list_health_shown(store, now)
    currency = store.currency
    charts_shown = [
        charts.line_chart(
            title,
            rng.days,
            [charts.Series(CATALOGUE[k].label, series[k], CATALOGUE[k].definition) for k in chart_keys],
            currency=currency if is_money else None,
        )
        for title, chart_keys, is_money in CHARTS
    ]
    charts_shown.append(
        charts.bar_chart(
            f"List health: {health['all'].reachable:,} reachable by SMS",
            [(label.split(":")[0], tier_reach.reachable) for _, label, tier_reach in health["tiers"]],
            note="Reachable by SMS (subscribed) in each engagement tier",
        )
    )
    return {
        "store": store,
        "stores": stores_for(request.user).order_by("brand_name"),
        "days": days,
        "ranges": list(RANGES),
        "period": f"{rng.days[0]:%b %d} – {rng.days[-1]:%b %d}, {zone_label(rng.tz)}",
        **catalogue_context(),
        "charts": charts_shown,
        "health": health,
        "tables": [tables.sources_table(store, rng), tables.attention_table(store, now)],
        "stopped": tables.stopped_variants(store),
        "plan": plan_steps(store_ids=[store.pk]),
        "control": control_group_lift(store=store, start=rng.start, end=rng.end),
        "asked": cold_preferences_answered(store=store),
        "csv_url": f"{reverse('admin:reports_dashboard_csv')}?store={store.pk}&days={days}&csv=",
    }


def _csv(tables: list[tables.Table], name: str, filename: str) -> HttpResponse:
    table = next((t for t in tables if t.name == name), None)
    if table is None:
        raise Http404("No such table")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}-{table.name}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.headers)
    writer.writerows(table.csv_rows())
    return response


def _page(
    request: HttpRequest, title: str, tables: list[tables.Table], filename: str, **extra
) -> HttpResponse:
    if "csv" in request.GET:
        return _csv(tables, request.GET["csv"], filename)
    days = request.GET.get("days", "")
    csv_url = f"?days={days}&csv=" if days in RANGES else "?csv="
    context = {
        **admin.site.each_context(request),
        "title": title,
        "tables": tables,
        "csv_url": csv_url,
        **catalogue_context(),
        **extra,
    }
    return TemplateResponse(request, "admin/reports/report.html", context)


def _scoped(request: HttpRequest, model, pk: int):
    return get_object_or_404(model.objects.filter(store__in=stores_for(request.user)), pk=pk)


def dashboard_csv(request: HttpRequest) -> HttpResponse:
    context = dashboard_context(request)
    if not context:
        raise Http404("No store")
    store = context["store"]
    rng = report_range(request, store)[0]
    series = tables.daily_series(store, rng, COUNTED)
    daily = tables.Table(
        "daily",
        "Per day of the texts' creation (store days)",
        ["Day", *(CATALOGUE[k].label for k in COUNTED)],
        [[d.isoformat(), *(series[k][i] for k in COUNTED)] for i, d in enumerate(rng.days)],
    )
    health = context["health"]
    rows = [["Everyone", health["all"].customers, health["all"].reachable]]
    rows += [[label, r.customers, r.reachable] for _, label, r in health["tiers"]]
    listed = tables.Table("health", "List health", ["Group", "Customers", "Reachable by SMS"], rows)
    return _csv([daily, listed, *context["tables"]], request.GET.get("csv", "daily"), store.slug)


def flow_report(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = _scoped(request, Flow, flow_id)
    rng, days = report_range(request, flow.store)
    experiments = flow.store.experiments.filter(flow_step__flow=flow).order_by("-started_at")
    return _page(
        request, f"Report: {flow.name}", tables.flow_tables(flow, rng), flow.slug,
        days=days, ranges=list(RANGES), experiments=experiments,
    )  # fmt: skip


def campaign_report(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _scoped(request, Campaign, campaign_id)
    shown = tables.campaign_tables(campaign, now=timezone.now())
    return _page(
        request, f"Report: {campaign.name}", shown, campaign.slug,
        experiments=campaign.experiments.order_by("-started_at"),
    )  # fmt: skip


def experiment_report(request: HttpRequest, experiment_id: int) -> HttpResponse:
    experiment = _scoped(request, Experiment, experiment_id)
    shown = tables.experiment_tables(experiment)
    return _page(
        request, f"Experiment: {experiment.name}", shown, f"experiment-{experiment.pk}",
        experiment=experiment, decisions=experiment.decisions.select_related("variant"),
    )  # fmt: skip


@require_POST
def cold_preferences(request: HttpRequest, store_id: int) -> HttpResponse:
    store = get_object_or_404(stores_for(request.user), pk=store_id)
    campaign = cold_preferences_campaign_create(store=store, now=timezone.now())
    messages.success(request, f"Campaign “{campaign.name}” is ready: check it, then schedule it.")
    return redirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))


class VariantForm(CheckedTextForm):
    class Meta:
        model = ExperimentVariant
        fields = [
            "key", "name", "is_control", "share", "body", "offer_code", "offer", "delay_minutes", "segment"
        ]


class VariantInline(StoreScopedInline, admin.StackedInline):
    model = ExperimentVariant
    form = VariantForm
    store_path = "experiment__store"
    extra = 0
    fields = [
        "key",
        "name",
        "is_control",
        "share",
        "body",
        "offer_code",
        "offer",
        "delay_minutes",
        "segment",
        "stopped_at",
    ]
    readonly_fields = ["stopped_at"]

    def get_readonly_fields(self, request, obj=None):
        # A finished test is a record: its variants show as they ran, no longer editable.
        if obj is not None and obj.status == Experiment.Status.FINISHED:
            return self.fields
        return self.readonly_fields


class DecisionInline(admin.TabularInline):
    model = ExperimentDecision
    extra = 0
    can_delete = False
    fields = ["decided_at", "kind", "variant", "reason", "advice"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Experiment)
class ExperimentAdmin(StoreScopedAdmin):
    list_display = ["name", "store", "lever", "goal", "status", "started_at", "report"]
    list_filter = ["status", "lever", "store"]
    list_select_related = ["store"]
    search_fields = ["name"]
    fields = [
        "store", "name", "lever", "hypothesis", "flow_step", "campaign", "goal", "holdout_percent",
        "min_recipients", "status", "started_at", "finished_at", "conclusion",
    ]  # fmt: skip
    readonly_fields = ["finished_at"]
    inlines = [VariantInline, DecisionInline]
    actions = ["start"]

    def get_changeform_initial_data(self, request):
        return {"status": Experiment.Status.DRAFT, **super().get_changeform_initial_data(request)}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "flow_step" and field is not None:
            # The steps of the user's stores' flows (a step has no store of its own to scope by).
            steps = field.queryset.filter(kind="send", flow__store__in=stores_for(request.user))
            steps = steps.select_related("flow", "template")
            field.queryset = steps.order_by("flow__name", "position")
            field.label_from_instance = step_choice_label
        return field

    def save_model(self, request, obj, form, change):
        # Set running on the page, it starts once its variants are saved too (save_related).
        obj._starting = "status" in form.changed_data and obj.status == Experiment.Status.RUNNING
        if obj._starting:
            obj.status = Experiment.Status.DRAFT
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if getattr(form.instance, "_starting", False):
            self._start(request, form.instance)

    def _start(self, request, experiment: Experiment) -> bool:
        try:
            experiment_start(experiment=experiment, now=timezone.now())
        except ValidationError as refused:
            kept = f"“{experiment}” stays a draft: {' '.join(refused.messages)}"
            self.message_user(request, kept, messages.ERROR)
            return False
        return True

    @admin.action(description="Start (split customers between the variants from now)")
    def start(self, request, queryset):
        started = sum(self._start(request, e) for e in queryset.filter(status=Experiment.Status.DRAFT))
        self.message_user(request, f"{started} experiment(s) started.")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("reports/dashboard.csv", wrap(dashboard_csv), name="reports_dashboard_csv"),
            path("reports/flow/<int:flow_id>/", wrap(flow_report), name="reports_flow"),
            path("reports/campaign/<int:campaign_id>/", wrap(campaign_report), name="reports_campaign"),
            path(
                "reports/experiment/<int:experiment_id>/", wrap(experiment_report), name="reports_experiment"
            ),
            path(
                "reports/cold-preferences/<int:store_id>/",
                wrap(cold_preferences),
                name="reports_cold_preferences",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Report")
    def report(self, experiment: Experiment) -> str:
        return format_html(
            '<a href="{}">Open report</a>', reverse("admin:reports_experiment", args=[experiment.pk])
        )


def step_choice_label(step) -> str:
    """A flow step as a marketer finds it: its flow, its place and the start of its text."""
    return f"{step.flow.name} · step {step.position}: “{Truncator(step.text).chars(50)}”"
