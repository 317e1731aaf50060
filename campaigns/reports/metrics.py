"""Figures per flow, step, variant, campaign or store over a date range, computed in SQL in sets.

Three grouped queries whatever the volume: messages (sent, delivered, failed, unique clicks,
recipients, segments and cost), opt-outs tied to them, and the orders credited to them. Rates are
derived per group afterwards, never per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from campaigns.models import Attribution, Link, Message, OptOutAttribution

S = Message.Status
SENT = [S.SENT, S.DELIVERED, S.UNDELIVERED]
FAILED = [S.FAILED, S.UNDELIVERED]
MONEY = DecimalField(max_digits=16, decimal_places=5)
CENT = Decimal("0.01")

GROUPS = {
    "store": ["store_id"],
    "flow": ["flow_step__flow_id"],
    "step": ["flow_step_id"],
    "campaign": ["campaign_id"],
    "flow_variant": ["flow_step_id", "variant"],
    "campaign_variant": ["campaign_id", "variant"],
    "variant": ["variant"],
    "day": [],
}


@dataclass
class Figures:
    key: tuple
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    clicked: int = 0
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
        return (self.revenue / self.recipients).quantize(CENT) if self.recipients else None

    def add(self, other: Figures) -> None:
        for name in ("sent", "delivered", "failed", "clicked", "recipients", "segments", "cost", "opt_outs"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.orders += other.orders
        self.revenue += other.revenue


def messages_in(
    *, store_ids: Sequence[int], start: datetime | None = None, end: datetime | None = None, **lookups
) -> Q:
    """A store's marketing texts created in [start, end), as a filter on Message: the cohort every
    figure is counted on. Extra lookups (e.g. flow_step__flow=flow) narrow it."""
    q = Q(store_id__in=list(store_ids), kind=Message.Kind.MARKETING, **lookups)
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


def figures(cohort: Q, *, by: str) -> dict[tuple, Figures]:
    """The figures of a cohort of messages, one per group (`GROUPS`), keyed by the group's values."""
    messages = Message.objects.filter(cohort)
    keys = GROUPS[by]
    clicked = Link.objects.filter(message=OuterRef("pk"), clicks__gt=0)
    rows = (
        messages.order_by()
        .values(*keys)
        .annotate(
            sent=Count("pk", filter=Q(status__in=SENT)),
            delivered=Count("pk", filter=Q(status=S.DELIVERED)),
            failed=Count("pk", filter=Q(status__in=FAILED)),
            clicked=Count("pk", filter=Q(Exists(clicked))),
            recipients=Count("customer_id", distinct=True, filter=Q(status__in=SENT)),
            billed=Coalesce(Sum("segments", filter=Q(status__in=SENT)), 0),
            cost=Coalesce(
                Sum(
                    F("segments") * F("store__price_per_segment"),
                    filter=Q(status__in=SENT),
                    output_field=MONEY,
                ),
                Decimal("0"),
                output_field=MONEY,
            ),
        )
    )
    found = {tuple(r[k] for k in keys): Figures(key=tuple(r[k] for k in keys), **_pick(r)) for r in rows}
    linked = [f"message__{k}" for k in keys]
    opt_outs = (
        OptOutAttribution.objects.filter(_through(cohort, "message__"))
        .order_by()
        .values(*linked)
        .annotate(n=Count("pk"))
    )
    for r in opt_outs:
        _at(found, tuple(r[k] for k in linked)).opt_outs = r["n"]
    orders = (
        Attribution.objects.filter(_through(cohort, "message__"))
        .order_by()
        .values(*linked)
        .annotate(n=Count("pk"), revenue=Sum("revenue"))
    )
    for r in orders:
        row = _at(found, tuple(r[k] for k in linked))
        row.orders, row.revenue = r["n"], Decimal(r["revenue"] or 0).quantize(CENT)
    return found


def _pick(row: dict) -> dict:
    names = ("sent", "delivered", "failed", "clicked", "recipients", "cost")
    values = {n: row[n] for n in names} | {"segments": row["billed"]}
    values["cost"] = Decimal(values["cost"]).quantize(CENT)
    return values


def _at(found: dict[tuple, Figures], key: tuple) -> Figures:
    if key not in found:
        found[key] = Figures(key=key)
    return found[key]


def total(rows: dict[tuple, Figures]) -> Figures:
    summed = Figures(key=())
    for row in rows.values():
        summed.add(row)
    return summed
