"""What the report pages show: tables (each exportable as CSV) and the series behind the charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse

from campaigns.models import (
    Attribution,
    Campaign,
    Experiment,
    ExperimentDecision,
    Flow,
    FlowRun,
    FlowStep,
    FlowStepVisit,
    Message,
)
from campaigns.reports.decisions import two_proportion_test, variant_figures
from campaigns.reports.lift import experiment_lift
from campaigns.reports.metrics import SENT, Figures, figures, messages_in
from customers.models import ConsentRecord, Customer, Event, Store
from customers.segments.compiler import compile_rules

FIGURE_COLUMNS = [
    "Sent", "Delivered", "Failed", "Unique clicks", "CTR", "Opt-outs", "Opt-out rate",
    "Orders", "Revenue", "Revenue / recipient", "Segments", "Cost",
]  # fmt: skip
FAILING_SHARE = 0.2


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list]
    links: list[str | None] | None = None

    @property
    def entries(self) -> list[tuple[str | None, list]]:
        return list(zip(self.links or [None] * len(self.rows), self.rows, strict=True))


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def figure_cells(row: Figures) -> list:
    return [
        row.sent, row.delivered, row.failed, row.clicked, _pct(row.ctr), row.opt_outs, _pct(row.opt_out_rate),
        row.orders, row.revenue, row.revenue_per_recipient if row.revenue_per_recipient is not None else "–",
        row.segments, row.cost,
    ]  # fmt: skip


@dataclass
class Range:
    start: datetime
    end: datetime
    tz: ZoneInfo

    @property
    def days(self) -> list[date]:
        first, last = (
            self.start.astimezone(self.tz).date(),
            (self.end - timedelta(seconds=1)).astimezone(self.tz).date(),
        )
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _per_day(qs, field: str, rng: Range, **sums) -> dict[date, dict]:
    rows = (
        qs.filter(**{f"{field}__gte": rng.start, f"{field}__lt": rng.end})
        .annotate(day=TruncDate(field, tzinfo=rng.tz))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"), **sums)
    )
    return {r["day"]: r for r in rows}


def daily_series(store: Store, rng: Range) -> dict[str, list[float]]:
    """Sends, clicks, attributed orders and revenue, and opt-outs per day: one query each."""
    sent = _per_day(Message.objects.filter(store=store, status__in=SENT), "sent_at", rng)
    clicks = _per_day(Event.objects.filter(store=store, type="sms_clicked"), "occurred_at", rng)
    orders = _per_day(Attribution.objects.filter(store=store), "ordered_at", rng, revenue=Sum("revenue"))
    opt_outs = _per_day(ConsentRecord.objects.filter(store=store, action="opt_out"), "occurred_at", rng)
    days = rng.days
    return {
        "sends": [sent.get(d, {}).get("n", 0) for d in days],
        "clicks": [clicks.get(d, {}).get("n", 0) for d in days],
        "orders": [orders.get(d, {}).get("n", 0) for d in days],
        "revenue": [float(orders.get(d, {}).get("revenue") or 0) for d in days],
        "opt-outs": [opt_outs.get(d, {}).get("n", 0) for d in days],
    }


def list_health(store: Store, now: datetime) -> dict[str, int]:
    """Subscribed, and the subscribed per engagement tier (the segment compiler's definition)."""

    def tier(name: str) -> Q:
        return compile_rules(
            {"type": "metric", "metric": "engagement_tier", "op": "eq", "value": name}, store=store, now=now
        )

    subscribed = Customer.objects.filter(store=store, sms_consent=Customer.Consent.SUBSCRIBED)
    return subscribed.aggregate(
        subscribed=Count("pk"),
        hot=Count("pk", filter=tier("hot")),
        warm=Count("pk", filter=tier("warm")),
        cold=Count("pk", filter=tier("cold")),
    )


def _ranked(title: str, name: str, rows: dict[tuple, Figures], labels: dict, link: str) -> Table:
    ordered = sorted(
        (r for r in rows.values() if r.key[0] in labels),
        key=lambda r: r.revenue_per_recipient or Decimal("0"),
        reverse=True,
    )[:10]
    return Table(
        name=name,
        title=title,
        columns=["Name", "Recipients", *FIGURE_COLUMNS],
        rows=[[labels[r.key[0]], r.recipients, *figure_cells(r)] for r in ordered],
        links=[reverse(link, args=[r.key[0]]) for r in ordered],
    )


def top_tables(store: Store, rng: Range) -> list[Table]:
    cohort = messages_in(store_ids=[store.pk], start=rng.start, end=rng.end)
    flows = dict(Flow.objects.filter(store=store).values_list("pk", "name"))
    campaigns = dict(Campaign.objects.filter(store=store).values_list("pk", "name"))
    return [
        _ranked("Top flows by revenue per recipient", "top-flows", figures(cohort, by="flow"), flows,
                "admin:reports_flow"),
        _ranked("Top campaigns by revenue per recipient", "top-campaigns", figures(cohort, by="campaign"),
                campaigns, "admin:reports_campaign"),
    ]  # fmt: skip


def attention_table(store: Store, now: datetime) -> Table:
    """Paused flows, and live ones whose texts of the last 7 days mostly fail."""
    week = figures(messages_in(store_ids=[store.pk], start=now - timedelta(days=7)), by="flow")
    rows, links = [], []
    for flow in Flow.objects.filter(store=store).exclude(status=Flow.Status.DRAFT).order_by("name"):
        row = week.get((flow.pk,))
        failing = (
            row and row.sent + row.failed >= 10 and row.failed / (row.sent + row.failed) >= FAILING_SHARE
        )
        if flow.status == Flow.Status.PAUSED or failing:
            why = (
                "paused"
                if flow.status == Flow.Status.PAUSED
                else f"{row.failed} of {row.sent + row.failed} failed"
            )
            rows.append([flow.name, flow.get_status_display(), why])
            links.append(reverse("admin:reports_flow", args=[flow.pk]))
    return Table("attention", "Paused or failing flows", ["Flow", "Status", "Why"], rows, links)


def stopped_variants(store: Store) -> list[ExperimentDecision]:
    return list(
        ExperimentDecision.objects.filter(experiment__store=store, kind=ExperimentDecision.Kind.STOPPED)
        .select_related("experiment", "variant")
        .order_by("-decided_at")[:5]
    )


def flow_tables(flow: Flow, rng: Range) -> list[Table]:
    """The funnel per step (entered → sent → delivered → clicked → ordered, opt-outs beside) and,
    for steps under test, the same per variant."""
    cohort = messages_in(store_ids=[flow.store_id], start=rng.start, end=rng.end, flow_step__flow=flow)
    by_step = figures(cohort, by="step")
    visits = dict(
        FlowStepVisit.objects.filter(step__flow=flow, at__gte=rng.start, at__lt=rng.end)
        .order_by()
        .values("step")
        .annotate(n=Count("pk"))
        .values_list("step", "n")
    )
    entered = FlowRun.objects.filter(flow=flow, entered_at__gte=rng.start, entered_at__lt=rng.end).count()
    steps = list(flow.steps.filter(kind=FlowStep.Kind.SEND).order_by("position"))
    funnel = Table(
        "steps",
        f"{flow.name}: funnel per step ({entered} entered)",
        ["Step", "Entered step", *FIGURE_COLUMNS],
        [
            [
                f"{s.position}. {s.delay_label()}",
                visits.get(s.pk, 0),
                *figure_cells(by_step.get((s.pk,), Figures(key=()))),
            ]
            for s in steps
        ],
    )
    tested = Experiment.objects.filter(flow_step__flow=flow).exists()
    by_variant = figures(cohort & ~Q(variant=""), by="flow_variant") if tested else {}
    positions = {s.pk: s.position for s in steps}
    variants = Table(
        "variants",
        "Per variant (steps under test)",
        ["Step", "Variant", *FIGURE_COLUMNS],
        [
            [positions.get(r.key[0], "?"), r.key[1], *figure_cells(r)]
            for r in sorted(by_variant.values(), key=lambda r: (positions.get(r.key[0], 0), r.key[1]))
        ],
    )
    return [funnel, variants]


def campaign_tables(campaign: Campaign) -> list[Table]:
    cohort = messages_in(store_ids=[campaign.store_id], campaign=campaign)
    whole = figures(cohort, by="campaign").get((campaign.pk,), Figures(key=()))
    by_variant = figures(cohort, by="variant")
    return [
        Table(
            "campaign",
            campaign.name,
            ["Recipients", *FIGURE_COLUMNS],
            [[whole.recipients, *figure_cells(whole)]],
        ),
        Table(
            "variants",
            "Per variant",
            ["Variant", "Recipients", *FIGURE_COLUMNS],
            [
                [r.key[0] or "(none)", r.recipients, *figure_cells(r)]
                for r in sorted(by_variant.values(), key=lambda r: r.key)
            ],
        ),
    ]


def experiment_tables(experiment: Experiment) -> list[Table]:
    """Variants side by side against the control on the goal, and against the holdout on orders."""
    variants = list(experiment.variants.all())
    rows = variant_figures(experiment)
    control = next((v for v in variants if v.is_control), variants[0] if variants else None)
    base = rows.get(control.key, Figures(key=())) if control else Figures(key=())

    def goal(row: Figures) -> tuple[int, int]:
        return (row.clicked if experiment.goal == Experiment.Goal.CLICKS else row.orders), row.delivered

    side = []
    for v in variants:
        row = rows.get(v.key, Figures(key=()))
        test = None if v is control else two_proportion_test(*goal(row), *goal(base))
        side.append([
            f"{v.key}: {v.name}" + (" (control)" if v is control else ""),
            _variant_state(experiment, v),
            f"{v.share}",
            *figure_cells(row),
            "–" if test is None else f"{test.difference:+.2%}",
            "–" if test is None else f"{test.low:+.2%} to {test.high:+.2%}",
            "–" if test is None else f"{test.p:.4f}",
        ])  # fmt: skip
    lifts = experiment_lift(experiment)
    holdout = Table(
        "holdout",
        "Against the holdout (no text): incremental conversion and revenue per recipient",
        ["Variant", "Customers", "Conversion", "Holdout conversion", "Incremental conversion", "95 % CI",
         "Incremental revenue / recipient", "95 % CI"],
        [
            [
                key, lf.group.customers, _pct(lf.group.conversion), _pct(lf.baseline.conversion),
                f"{lf.conversion.difference:+.2%}" if lf.conversion else "–",
                f"{lf.conversion.low:+.2%} to {lf.conversion.high:+.2%}" if lf.conversion else "–",
                f"{lf.revenue_difference:+.2f}" if lf.revenue_difference is not None else "–",
                f"{lf.revenue_low:+.2f} to {lf.revenue_high:+.2f}" if lf.revenue_low is not None else "–",
            ]
            for key, lf in lifts.items()
        ],
    )  # fmt: skip
    goal_name = experiment.get_goal_display().split(" (")[0]
    return [
        Table(
            "variants",
            "Variants side by side",
            ["Variant", "State", "Share", *FIGURE_COLUMNS, f"{goal_name} vs control", "95 % CI", "p"],
            side,
        ),
        holdout,
    ]


def _variant_state(experiment: Experiment, variant) -> str:
    """A variant as the test left it: stopped, the winner, ended with its test, or still running."""
    if variant.stopped_at:
        return "stopped"
    if experiment.status == Experiment.Status.DRAFT:
        return "not started"
    if experiment.status != Experiment.Status.FINISHED:
        return "running"
    won = experiment.decisions.filter(kind="winner", variant=variant).exists()
    return "winner" if won else "ended"
