"""What the report pages show: tables (each exportable as CSV) and the series behind the charts.

Every figure comes from the catalogue (`metrics.py`); each table's total row is the same query
over the whole table's texts, and where the total holds texts no row names (replies, deleted
flows or steps, texts outside a test), a row says so, so the rows add up to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.urls import reverse

from campaigns.models import (
    Campaign,
    Experiment,
    ExperimentDecision,
    Flow,
    FlowRun,
    FlowStep,
    FlowStepVisit,
    Message,
)
from campaigns.reports import reach
from campaigns.reports.decisions import two_proportion_test, variant_figures
from campaigns.reports.lift import experiment_lift
from campaigns.reports.metrics import CATALOGUE, COLUMNS, WINDOW, Figures, figures, messages_in, recipients
from campaigns.reports.rollups import Part, Period, regroup, store_period
from customers.models import Store
from customers.money import money

FAILING_SHARE = 0.2
PEOPLE_NOTE = (
    "Recipients and revenue per recipient count people, who may be in several rows: "
    "the total counts each person once."
)


@dataclass(frozen=True)
class Column:
    label: str
    help: str = ""
    kind: str = "text"  # "text", "count", "rate", "money", "signed_rate"


def _column(column: Column | str) -> Column:
    return column if isinstance(column, Column) else Column(column)


FIGURE_COLUMNS = [Column(CATALOGUE[k].label, CATALOGUE[k].definition, CATALOGUE[k].kind) for k in COLUMNS]
RECIPIENTS = Column(CATALOGUE["recipients"].label, CATALOGUE["recipients"].definition, "count")


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column | str]
    rows: list[list]
    links: list[str | None] | None = None
    total: list | None = None
    currency: str = "USD"
    note: str = ""
    window: str = ""
    kinds: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.columns = [_column(c) for c in self.columns]
        self.kinds = [c.kind for c in self.columns]

    @property
    def headers(self) -> list[str]:
        return [c.label for c in self.columns]

    @property
    def entries(self) -> list[tuple[str | None, list]]:
        return list(zip(self.links or [None] * len(self.rows), self.rows, strict=True))

    @property
    def shown(self) -> list[tuple[str | None, list[str]]]:
        """Each row's link and its cells as the page shows them (money in the store's currency)."""
        return [(link, self.cells(row)) for link, row in self.entries]

    @property
    def total_shown(self) -> list[str] | None:
        return self.cells(self.total) if self.total else None

    def cells(self, row: list) -> list[str]:
        return [cell_text(v, kind, self.currency) for v, kind in zip(row, self.kinds, strict=True)]

    def csv_rows(self) -> list[list]:
        """Plain numbers: no currency, no percent sign, nothing for a rate of nothing."""
        rows = self.rows + ([self.total] if self.total else [])
        return [["" if cell is None else cell for cell in row] for row in rows]


def cell_text(value: object, kind: str, currency: str) -> str:
    """One way to show a figure: counts with separators, rates as percents, money in the currency."""
    if value is None or value == "":
        return "–" if kind != "text" else ""
    if kind == "count" and isinstance(value, int | float | Decimal):
        return f"{value:,}"
    if kind == "rate" and isinstance(value, int | float):
        return f"{value:.1%}"
    if kind == "signed_rate" and isinstance(value, int | float):
        return f"{value:+.2%}"
    if kind == "money" and isinstance(value, int | float | Decimal):
        return money(value, currency=currency)
    return str(value)


def figure_cells(row: Figures) -> list:
    return [row.value(key) for key in COLUMNS]


@dataclass
class Range:
    start: datetime
    end: datetime
    tz: ZoneInfo
    now: datetime | None = None  # when the report is read: `end` unless said
    _periods: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def period(self, store: Store) -> Period:
        """The store's period as the rollup reads it, once per range (a page reads it for several tables)."""
        if store.pk not in self._periods:
            now = self.now or self.end
            self._periods[store.pk] = store_period(store, start=self.start, end=self.end, tz=self.tz, now=now)
        return self._periods[store.pk]

    @property
    def days(self) -> list[date]:
        first, last = (
            self.start.astimezone(self.tz).date(),
            (self.end - timedelta(seconds=1)).astimezone(self.tz).date(),
        )
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def daily_series(store: Store, rng: Range, keys: list[str]) -> dict[str, list]:
    """The catalogue's figures per day of the texts' creation (store days): the charts' and the
    daily CSV's series, whose sums are the dashboard's totals. From the rollup, unless a people
    count (recipients, clickers) is asked for: those are counted per day live."""
    if {"recipients", "clickers"} & set(keys):
        cohort = messages_in(store_ids=[store.pk], start=rng.start, end=rng.end, marketing_only=False)
        by_day = figures(cohort, by="day", tz=rng.tz)
    else:
        by_day = regroup(rng.period(store).parts, lambda p: (p.day,))
    return {key: [by_day.get((d,), Figures(key=())).value(key) for d in rng.days] for key in keys}


SOURCE_LABELS = {
    "replies": "Replies and confirmations (not marketing)",
    "deleted": "Texts of deleted flows, steps or campaigns",
}


def sources_table(store: Store, rng: Range) -> Table:
    """Every flow and campaign with texts in the period, best revenue per recipient first, then the
    texts no flow or campaign names; the total row is the dashboard's total."""
    cohort = messages_in(store_ids=[store.pk], start=rng.start, end=rng.end, marketing_only=False)
    flows = dict(Flow.objects.filter(store=store).values_list("pk", "name"))
    campaigns = dict(Campaign.objects.filter(store=store).values_list("pk", "name"))
    flow_of = dict(FlowStep.objects.filter(flow__store=store).values_list("pk", "flow_id"))
    period = rng.period(store)
    source = lambda p: (flow_of.get(p.step_id), _existing(p.campaign_id, campaigns), p.kind)  # noqa: E731
    rows = regroup(period.parts, source)
    marketing = [(f, c, k) for f, c, k in rows if k == Message.Kind.MARKETING and (f or c)]
    wanted = {reach.source_key(f, c): (f, c, k) for f, c, k in marketing}
    wanted |= {reach.REPLIES: ("replies",), reach.DELETED: ("deleted",), reach.ALL: ()}
    people = period.recipients(wanted, lambda: _source_people(cohort))
    for key, row in rows.items():
        row.recipients = people.get(key, 0)
    named, rest = [], {"replies": Figures(key=()), "deleted": Figures(key=())}
    for (flow_id, campaign_id, kind), row in rows.items():
        if kind != Message.Kind.MARKETING:
            rest["replies"].add(row)
        elif flow_id in flows:
            named.append((flows[flow_id], reverse("admin:reports_flow", args=[flow_id]), row))
        elif campaign_id in campaigns:
            named.append((campaigns[campaign_id], reverse("admin:reports_campaign", args=[campaign_id]), row))
        else:
            rest["deleted"].add(row)
    named.sort(key=lambda r: (r[2].revenue_per_recipient or Decimal("0"), r[2].sent), reverse=True)
    # A reply's or a deleted flow's people are counted once across those texts, not per text.
    for part, row in rest.items():
        row.recipients = people[(part,)]
    shown = named + [(SOURCE_LABELS[p], None, r) for p, r in rest.items() if r.sent or r.orders or r.failed]
    whole = regroup(period.parts, lambda p: ()).get((), Figures(key=()))
    whole.recipients = people[()]
    return Table(
        "sources",
        "Where the figures come from: every flow and campaign",
        [Column("Source"), RECIPIENTS, *FIGURE_COLUMNS],
        [[name, row.recipients, *figure_cells(row)] for name, _, row in shown],
        [link for _, link, _ in shown],
        total=["All texts", whole.recipients, *figure_cells(whole)],
        currency=store.currency,
        note=PEOPLE_NOTE,
        window=WINDOW,
    )


def _existing(pk: int | None, known: dict) -> int | None:
    """A rollup keeps the id a text had when counted; a deleted row's texts now name none."""
    return pk if pk in known else None


def _everyone(cohort: Q) -> int:
    return sum(recipients(cohort, by="store").values())


def _source_people(cohort: Q) -> dict[tuple, int]:
    """The sources table's recipients counted over the texts: per source, replies, deleted, all."""
    sent = Message.objects.filter(cohort, status__in=Message.ACCEPTED)
    marketing_orphans = Q(kind=Message.Kind.MARKETING, flow_step__isnull=True, campaign__isnull=True)
    return recipients(cohort, by="source") | {
        ("replies",): sent.exclude(kind=Message.Kind.MARKETING).values("customer_id").distinct().count(),
        ("deleted",): sent.filter(marketing_orphans).values("customer_id").distinct().count(),
        (): _everyone(cohort),
    }


def attention_table(store: Store, now: datetime) -> Table:
    """Paused flows, and live ones whose texts of the last 7 days mostly fail."""
    week = figures(messages_in(store_ids=[store.pk], start=now - timedelta(days=7)), by="flow")
    rows, links = [], []
    for flow in Flow.objects.filter(store=store).exclude(status=Flow.Status.DRAFT).order_by("name"):
        row = week.get((flow.pk,))
        tried = row.sent + row.extra.get("refused", 0) if row else 0
        failing = row and tried >= 10 and row.failed / tried >= FAILING_SHARE
        if flow.status == Flow.Status.PAUSED or failing:
            why = "paused" if flow.status == Flow.Status.PAUSED else f"{row.failed} of {tried} did not arrive"
            rows.append([flow.name, flow.get_status_display(), why])
            links.append(reverse("admin:reports_flow", args=[flow.pk]))
    return Table("attention", "Paused or failing flows", ["Flow", "Status", "Why"], rows, links)


def stopped_variants(store: Store) -> list[ExperimentDecision]:
    return list(
        ExperimentDecision.objects.filter(experiment__store=store, kind=ExperimentDecision.Kind.STOPPED)
        .select_related("experiment", "variant")
        .order_by("-decided_at")[:5]
    )


def _flow_cohort(flow: Flow, rng: Range) -> Q:
    own = Q(flow_step__flow=flow) | Q(flow_step__isnull=True, flow_run__flow=flow)
    return messages_in(store_ids=[flow.store_id], start=rng.start, end=rng.end) & own


def flow_tables(flow: Flow, rng: Range) -> list[Table]:
    """The funnel per step (entered → sent → delivered → clicked → ordered, opt-outs beside) and,
    for steps under test, the same per variant; each with the flow's total."""
    cohort = _flow_cohort(flow, rng)
    period = rng.period(flow.store)
    parts = [p for p in period.parts if p.kind == Message.Kind.MARKETING]
    steps_of = dict(FlowStep.objects.filter(flow__store=flow.store).values_list("pk", "flow_id"))

    def step_of(part: Part) -> tuple | None:
        """The flow's text's step (None: a deleted step's, or none); None for another flow's text."""
        if steps_of.get(part.step_id) == flow.pk:
            return (part.step_id,)
        return (None,) if part.run_flow_id == flow.pk and part.step_id not in steps_of else None

    by_step = regroup(parts, step_of)
    tested = set(Experiment.objects.filter(flow_step__flow=flow).values_list("flow_step_id", flat=True))
    by_variant = regroup(parts, lambda p: (p.step_id, p.variant) if p.step_id in tested else None)
    wanted = {reach.step_key(s): (s,) for (s,) in by_step if s is not None}
    wanted |= {reach.no_step_key(flow.pk): (None,), reach.flow_key(flow.pk): ()}
    wanted |= {reach.step_variant_key(s, v): (s, v) for s, v in by_variant}
    people = period.recipients(wanted, lambda: _flow_people(cohort, tested))
    for rows in (by_step, by_variant):
        for key, row in rows.items():
            row.recipients = people.get(key, 0)
    visits = dict(
        FlowStepVisit.objects.filter(step__flow=flow, at__gte=rng.start, at__lt=rng.end)
        .order_by()
        .values("step")
        .annotate(n=Count("pk"))
        .values_list("step", "n")
    )
    entered = FlowRun.objects.filter(flow=flow, entered_at__gte=rng.start, entered_at__lt=rng.end).count()
    steps = list(flow.steps.filter(kind=FlowStep.Kind.SEND).order_by("position"))
    none = Figures(key=())
    rows = [
        [f"{s.position}. {s.delay_label()}", visits.get(s.pk, 0), *figure_cells(by_step.get((s.pk,), none))]
        for s in steps
    ]
    deleted = by_step.get((None,))
    if deleted:
        rows.append(["Deleted steps", "", *figure_cells(deleted)])
    whole = regroup(parts, lambda p: () if step_of(p) else None).get((), Figures(key=()))
    whole.recipients = people[()]
    visit = Column("Entered step", "Runs that reached the step in the period (flow step visits).", "count")
    funnel = Table(
        "steps",
        f"{flow.name}: funnel per step ({entered} entered)",
        [Column("Step"), visit, *FIGURE_COLUMNS],
        rows,
        total=["All texts of the flow", sum(visits.get(s.pk, 0) for s in steps), *figure_cells(whole)],
        currency=flow.store.currency,
        window=WINDOW,
    )
    return [funnel, _variants_table(flow, tested, by_variant, steps, by_step)]


def _flow_people(cohort: Q, tested: set[int]) -> dict[tuple, int]:
    """The flow report's recipients counted over the texts: per step, per variant, the flow's."""
    variants = recipients(cohort & Q(flow_step_id__in=tested), by="flow_variant") if tested else {}
    return recipients(cohort, by="step") | variants | {(): _everyone(cohort)}


def _variants_table(
    flow: Flow, tested: set[int], by_variant: dict, steps: list[FlowStep], by_step: dict
) -> Table:
    positions = {s.pk: s.position for s in steps}
    rows, parts = [], []
    for step_id, variant in sorted(by_variant, key=lambda k: (positions.get(k[0], 0), k[1])):
        row = by_variant[(step_id, variant)]
        rows.append([positions.get(step_id, "?"), variant or "(outside the test)", *figure_cells(row)])
        parts.append(row)
    whole = Figures(key=())
    for step_id in tested:
        whole.add(by_step.get((step_id,), Figures(key=())))
    return Table(
        "variants",
        "Per variant (steps under test; texts sent before or after the test are “outside the test”)",
        [Column("Step"), Column("Variant"), *FIGURE_COLUMNS],
        rows,
        total=["Steps under test", "", *figure_cells(whole)] if rows else None,
        currency=flow.store.currency,
        window=WINDOW,
    )


def campaign_tables(campaign: Campaign, *, now: datetime) -> list[Table]:
    cohort = messages_in(store_ids=[campaign.store_id], campaign=campaign)
    tz = ZoneInfo(campaign.store.default_timezone)
    period = store_period(campaign.store, start=None, end=now, tz=tz, now=now)
    parts = [p for p in period.parts if p.campaign_id == campaign.pk and p.kind == Message.Kind.MARKETING]
    whole = regroup(parts, lambda p: ()).get((), Figures(key=()))
    by_variant = regroup(parts, lambda p: (p.variant,))
    wanted = {reach.campaign_variant_key(campaign.pk, v): (v,) for (v,) in by_variant}
    wanted[reach.campaign_key(campaign.pk)] = ()
    people = period.recipients(wanted, lambda: recipients(cohort, by="variant") | {(): _everyone(cohort)})
    for key, row in by_variant.items():
        row.recipients = people.get(key, 0)
    whole.recipients = people[()]
    currency = campaign.store.currency
    return [
        Table("campaign", campaign.name, [RECIPIENTS, *FIGURE_COLUMNS],
              [[whole.recipients, *figure_cells(whole)]],
              currency=currency, window="All the campaign's texts, with what was credited to them."),
        Table(
            "variants",
            "Per variant",
            [Column("Variant"), RECIPIENTS, *FIGURE_COLUMNS],
            [
                [r.key[0] or "(none)", r.recipients, *figure_cells(r)]
                for r in sorted(by_variant.values(), key=lambda r: r.key)
            ],
            total=["The campaign", whole.recipients, *figure_cells(whole)],
            currency=currency,
            note=PEOPLE_NOTE,
        ),
    ]  # fmt: skip


def experiment_tables(experiment: Experiment) -> list[Table]:
    """Variants side by side against the control on the goal, and against the holdout on orders."""
    variants = list(experiment.variants.all())
    rows = variant_figures(experiment)
    control = next((v for v in variants if v.is_control), variants[0] if variants else None)
    base = rows.get(control.key, Figures(key=())) if control else Figures(key=())
    currency = experiment.store.currency

    def goal(row: Figures) -> tuple[int, int]:
        return (row.clicked if experiment.goal == Experiment.Goal.CLICKS else row.orders), row.delivered

    side, whole = [], Figures(key=())
    for v in variants:
        row = rows.get(v.key, Figures(key=()))
        whole.add(row)
        test = None if v is control else two_proportion_test(*goal(row), *goal(base))
        side.append([
            f"{v.key}: {v.name}" + (" (control)" if v is control else ""),
            _variant_state(experiment, v),
            v.share,
            *figure_cells(row),
            None if test is None else test.difference,
            "–" if test is None else f"{test.low:+.2%} to {test.high:+.2%}",
            None if test is None else round(test.p, 4),
        ])  # fmt: skip
    goal_name = experiment.get_goal_display().split(" (")[0]
    difference = Column(f"{goal_name} vs control", "The variant's rate minus the control's.", "signed_rate")
    return [
        Table(
            "variants",
            "Variants side by side",
            [Column("Variant"), Column("State"), Column("Share", kind="count"), *FIGURE_COLUMNS, difference,
             Column("95 % CI", "Normal approximation, unpooled standard error."),
             Column("p", "Two-proportion z-test, two-sided.")],
            side,
            total=["All variants", "", "", *figure_cells(whole), None, "", None],
            currency=currency,
            window="Every text the experiment sent, with what was credited to them.",
        ),
        _holdout_table(experiment, currency),
    ]  # fmt: skip


def _holdout_table(experiment: Experiment, currency: str) -> Table:
    lifts = experiment_lift(experiment)
    per_person = "Order totals per customer placed in the group, texted or not."
    return Table(
        "holdout",
        "Against the holdout (no text): incremental conversion and revenue per recipient",
        [Column("Variant"), Column("Customers", kind="count"), Column("Conversion", kind="rate"),
         Column("Holdout conversion", kind="rate"), Column("Incremental conversion", kind="signed_rate"),
         Column("95 % CI"), Column("Incremental revenue / recipient", per_person, "money"),
         Column("95 % CI (revenue)", per_person)],
        [
            [
                key, lf.group.customers, lf.group.conversion, lf.baseline.conversion,
                lf.conversion.difference if lf.conversion else None,
                f"{lf.conversion.low:+.2%} to {lf.conversion.high:+.2%}" if lf.conversion else "–",
                None if lf.revenue_difference is None else round(lf.revenue_difference, 2),
                f"{money(lf.revenue_low, currency=currency)} to {money(lf.revenue_high, currency=currency)}"
                if lf.revenue_low is not None else "–",
            ]
            for key, lf in lifts.items()
        ],
        currency=currency,
    )  # fmt: skip


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
