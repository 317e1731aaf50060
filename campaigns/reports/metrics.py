"""The catalogue of figures: each one's definition, window and SQL, in one place.

Every report counts the same cohort: the texts created in the period (the store's calendar days),
with the taps, opt-outs and orders credited to them whenever those came. `CATALOGUE` says what
each figure is, in words (the header and legend tooltips) and in SQL over that cohort (`m`);
`figures` computes them with three or four grouped queries whatever the volume, and
`catalogue_figures` runs the SQL as written, so a test, or a person with a SQL prompt, can check
any page against it. Rates are derived per group afterwards, never per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DateTimeField, DecimalField, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate

from campaigns.models import Attribution, Link, Message, OptOutAttribution
from customers.models import Store
from customers.money import to_cents

S = Message.Status
MONEY = DecimalField(max_digits=16, decimal_places=5)
PRICE_PLACES = Decimal("0.00001")
WINDOW = (
    "Texts created in the period (the store's calendar days), with the taps, opt-outs and orders "
    "credited to them, whenever those came."
)


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    definition: str
    sql: str
    kind: str = "count"  # "count", "rate" or "money"


def _in(statuses: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _catalogue() -> dict[str, Metric]:
    link, attribution = Link._meta.db_table, Attribution._meta.db_table
    opt_out, store = OptOutAttribution._meta.db_table, Store._meta.db_table
    sent = _in(Message.ACCEPTED)
    tapped = f"EXISTS (SELECT 1 FROM {link} l WHERE l.message_id = m.id AND l.clicks > 0)"
    metrics = [
        Metric("sent", "Sent", "Texts the provider accepted (sent, delivered or undelivered).",
               f"SELECT COUNT(*) FROM m WHERE m.status IN {sent}"),
        Metric("delivered", "Delivered", "Texts the carrier reported delivered.",
               "SELECT COUNT(*) FROM m WHERE m.status = 'delivered'"),
        Metric("failed", "Failed", "Texts that did not arrive: refused by the provider or undelivered.",
               f"SELECT COUNT(*) FROM m WHERE m.status IN {_in(Message.NOT_DELIVERED)}"),
        Metric("clicks", "Clicks", "Every tap on the texts' links (one person tapping twice counts twice).",
               f"SELECT COALESCE(SUM(l.clicks), 0) FROM {link} l JOIN m ON l.message_id = m.id"),
        Metric("clicked", "Unique clicks", "Texts whose link was tapped at least once.",
               f"SELECT COUNT(*) FROM m WHERE {tapped}"),
        Metric("clickers", "Unique clickers", "People who tapped a link in at least one of the texts.",
               f"SELECT COUNT(DISTINCT m.customer_id) FROM m WHERE {tapped}"),
        Metric("ctr", "CTR", "Click-through rate: unique clicks ÷ delivered.", "clicked / delivered", "rate"),
        Metric("opt_outs", "Opt-outs", "Opt-outs tied to the texts: the last text the number got within 7 "
               "days before it opted out.",
               f"SELECT COUNT(*) FROM {opt_out} o JOIN m ON o.message_id = m.id"),
        Metric("opt_out_rate", "Opt-out rate", "Opt-outs ÷ delivered.", "opt_outs / delivered", "rate"),
        Metric("orders", "Orders", "Orders credited to the texts: the last text clicked within the click "
               "window, or delivered within the delivery window, before the order.",
               f"SELECT COUNT(*) FROM {attribution} a JOIN m ON a.message_id = m.id"),
        Metric("revenue", "Revenue", "The totals of the orders credited to the texts.",
               f"SELECT COALESCE(SUM(a.revenue), 0) FROM {attribution} a JOIN m ON a.message_id = m.id",
               "money"),
        Metric("recipients", "Recipients", "People sent at least one of the texts.",
               f"SELECT COUNT(DISTINCT m.customer_id) FROM m WHERE m.status IN {sent}"),
        Metric("revenue_per_recipient", "Revenue / recipient", "Revenue ÷ recipients.",
               "revenue / recipients", "money"),
        Metric("segments", "Segments", "SMS segments billed for the sent texts (a long text is several).",
               f"SELECT COALESCE(SUM(m.segments), 0) FROM m WHERE m.status IN {sent}"),
        Metric("cost", "Cost", "Segments billed × the store's price per segment.",
               f"SELECT COALESCE(SUM(m.segments * s.price_per_segment), 0) FROM m JOIN {store} s "
               f"ON s.id = m.store_id WHERE m.status IN {sent}", "money"),
    ]  # fmt: skip
    return {metric.key: metric for metric in metrics}


CATALOGUE = _catalogue()
# The columns every figures table shows, in this order.
COLUMNS = [
    "sent", "delivered", "failed", "clicks", "clicked", "ctr", "opt_outs", "opt_out_rate",
    "orders", "revenue", "revenue_per_recipient", "segments", "cost",
]  # fmt: skip
COUNTED = [key for key, metric in CATALOGUE.items() if metric.sql.startswith("SELECT")]


@dataclass
class Figures:
    key: tuple
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    clicks: int = 0
    clicked: int = 0
    clickers: int = 0
    recipients: int = 0
    segments: int = 0
    cost: Decimal = Decimal("0")
    opt_outs: int = 0
    orders: int = 0
    revenue: Decimal = Decimal("0")
    extra: dict = field(default_factory=dict)

    @staticmethod
    def _rate(part: float, whole: float) -> float | None:
        return part / whole if whole else None

    @property
    def ctr(self) -> float | None:
        return self._rate(self.clicked, self.delivered)

    @property
    def opt_out_rate(self) -> float | None:
        return self._rate(self.opt_outs, self.delivered)

    @property
    def conversion(self) -> float | None:
        return self._rate(self.orders, self.delivered)

    @property
    def revenue_per_recipient(self) -> Decimal | None:
        return to_cents(self.revenue / self.recipients) if self.recipients else None

    def add(self, other: Figures) -> None:
        """Sum another group's counts into this one. People counts (recipients, clickers) add
        up across groups that do not share people (the rows of one report's table do not)."""
        for name in COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def value(self, key: str) -> object:
        return getattr(self, key)


def messages_in(
    *,
    store_ids: Sequence[int],
    start: datetime | None = None,
    end: datetime | None = None,
    marketing_only: bool = True,
    **lookups,
) -> Q:
    """A store's texts created in [start, end), as a filter on Message: the cohort every figure is
    counted on (marketing texts, unless `marketing_only` is off: replies and confirmations too).
    Extra lookups (e.g. flow_step__flow=flow) narrow it."""
    q = Q(store_id__in=list(store_ids), **lookups)
    if marketing_only:
        q &= Q(kind=Message.Kind.MARKETING)
    if start is not None:
        q &= Q(created_at__gte=start)
    if end is not None:
        q &= Q(created_at__lt=end)
    return q


def _through(q: Q, prefix: str) -> Q:
    """The same filter seen from a model that points at Message (joins, not an IN over ids)."""
    moved = Q(*[_through(c, prefix) if isinstance(c, Q) else (prefix + c[0], c[1]) for c in q.children])
    moved.connector, moved.negated = q.connector, q.negated
    return moved


GROUPS = {
    "store": ["store_id"],
    "flow": ["flow_step__flow_id"],
    "step": ["flow_step_id"],
    "campaign": ["campaign_id"],
    "flow_variant": ["flow_step_id", "variant"],
    "campaign_variant": ["campaign_id", "variant"],
    "variant": ["variant"],
    # Where a text came from: its flow, its campaign, or neither (a reply, a confirmation, or a
    # text whose flow, step or campaign was deleted).
    "source": ["flow_step__flow_id", "campaign_id", "kind"],
    "day": ["day"],
    # The reports' daily rollup: every column a report groups by, per day (reports/rollups.py).
    "rollup": ["day", "flow_step_id", "flow_run__flow_id", "campaign_id", "variant", "kind"],
}


def _grouped(queryset, by: str, prefix: str, tz: tzinfo | None):
    """The queryset grouped by `by`'s columns, reached through `prefix` (e.g. "message__")."""
    keys = [k if k == "day" else prefix + k for k in GROUPS[by]]
    if "day" in keys:
        queryset = queryset.annotate(day=TruncDate(f"{prefix}created_at", tzinfo=tz))
    return queryset.order_by().values(*keys), keys


def figures(cohort: Q, *, by: str, tz: tzinfo | None = None, people: bool = True) -> dict[tuple, Figures]:
    """The catalogue's figures of a cohort of texts, one per group (`GROUPS`; "day" is the text's
    creation day in `tz`), keyed by the group's values. Without `people`, recipients and clickers
    are left at 0 (for a caller that counts them its own way)."""
    tapped = Link.objects.filter(message=OuterRef("pk"), clicks__gt=0)
    sent = Q(status__in=Message.ACCEPTED)
    messages, keys = _grouped(Message.objects.filter(cohort), by, "", tz)
    counted = {
        "clickers": Count("customer_id", distinct=True, filter=Q(Exists(tapped))),
        "recipients": _recipients(),
    } if people else {"clickers": Value(0), "recipients": Value(0)}
    rows = messages.annotate(
        sent=Count("pk", filter=sent),
        delivered=Count("pk", filter=Q(status=S.DELIVERED)),
        failed=Count("pk", filter=Q(status__in=Message.NOT_DELIVERED)),
        refused=Count("pk", filter=Q(status=S.FAILED)),
        clicked=Count("pk", filter=Q(Exists(tapped))),
        **counted,
        billed=Coalesce(Sum("segments", filter=sent), 0),
        cost=Coalesce(
            Sum(F("segments") * F("store__price_per_segment"), filter=sent, output_field=MONEY),
            Decimal("0"),
            output_field=MONEY,
        ),
    )
    found = {tuple(r[k] for k in keys): Figures(key=tuple(r[k] for k in keys), **_pick(r)) for r in rows}
    linked = Q(_through(cohort, "message__"))
    # Untapped links add nothing to the sum; leaving them out reads only the tapped links' index.
    taps, keys = _grouped(Link.objects.filter(linked, clicks__gt=0), by, "message__", tz)
    for r in taps.annotate(n=Sum("clicks")):
        _at(found, tuple(r[k] for k in keys)).clicks = r["n"] or 0
    opt_outs, keys = _grouped(OptOutAttribution.objects.filter(linked), by, "message__", tz)
    for r in opt_outs.annotate(n=Count("pk")):
        _at(found, tuple(r[k] for k in keys)).opt_outs = r["n"]
    orders, keys = _grouped(Attribution.objects.filter(linked), by, "message__", tz)
    for r in orders.annotate(n=Count("pk"), revenue=Sum("revenue")):
        row = _at(found, tuple(r[k] for k in keys))
        row.orders, row.revenue = r["n"], to_cents(r["revenue"])
    return found


def _recipients() -> Count:
    return Count("customer_id", distinct=True, filter=Q(status__in=Message.ACCEPTED))


def recipients(cohort: Q, *, by: str) -> dict[tuple, int]:
    """The recipients of a cohort per group: a people count, which does not add up across days or
    groups, so the reports' rollup cannot keep it."""
    messages, keys = _grouped(Message.objects.filter(cohort), by, "", None)
    return {tuple(r[k] for k in keys): r["n"] for r in messages.annotate(n=_recipients())}


def _pick(row: dict) -> dict:
    names = ("sent", "delivered", "failed", "clicked", "clickers", "recipients")
    # Cost is kept to the price's own precision: rounded per group, the days' costs would not add up
    # to the period's. Pages round it to the cent when they show it.
    money = {"segments": row["billed"], "cost": Decimal(str(row["cost"] or 0)).quantize(PRICE_PLACES)}
    return {n: row[n] for n in names} | money | {"extra": {"refused": row["refused"]}}


def _at(found: dict[tuple, Figures], key: tuple) -> Figures:
    if key not in found:
        found[key] = Figures(key=key)
    return found[key]


def total(rows: dict[tuple, Figures] | list[Figures]) -> Figures:
    summed = Figures(key=())
    for row in rows.values() if isinstance(rows, dict) else rows:
        summed.add(row)
    return summed


def store_figures(store: Store, *, start: datetime, end: datetime) -> Figures:
    """Everything the store's texts of the period add up to: the dashboard's total."""
    cohort = messages_in(store_ids=[store.pk], start=start, end=end, marketing_only=False)
    return figures(cohort, by="store").get((store.pk,), Figures(key=(store.pk,)))


def cohort_sql() -> str:
    """The cohort `m` the catalogue's SQL counts over, for one store and period."""
    return (
        f"WITH m AS (SELECT * FROM {Message._meta.db_table} "
        "WHERE store_id = %(store)s AND created_at >= %(start)s AND created_at < %(end)s)"
    )


def catalogue_figures(store: Store, *, start: datetime, end: datetime) -> dict[str, object]:
    """Each counted figure of the store's texts of the period, by running the catalogue's SQL as
    written: the hand recomputation of the dashboard's totals."""
    params = {"store": store.pk, "start": start, "end": end}
    found: dict[str, object] = {}
    with connection.cursor() as cursor:
        for key in COUNTED:
            cursor.execute(f"{cohort_sql()} {CATALOGUE[key].sql}", _params(params))
            value = cursor.fetchone()[0]
            if key == "cost":
                found[key] = Decimal(str(value or 0)).quantize(PRICE_PLACES)
            else:
                found[key] = to_cents(value) if CATALOGUE[key].kind == "money" else int(value or 0)
    return found


def _params(params: dict) -> dict:
    moment = DateTimeField()
    prepared = {k: moment.get_db_prep_value(v, connection) for k, v in params.items() if k != "store"}
    return {**params, **prepared}
