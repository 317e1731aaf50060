"""Incremental conversion and revenue per recipient against a holdout or the store's control group.

Every figure is per customer placed, texted or not: conversion is the share who ordered within the
store's click window after being placed (or within the date range, for the control group), revenue
per recipient the mean of their order totals. Sums and sums of squares come from SQL, so the 95 %
interval of a difference of means needs no per-customer Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from campaigns.models import Experiment, ExperimentExposure
from campaigns.reports import experiments
from campaigns.reports.decisions import Z95, Comparison, two_proportion_test
from customers.models import Customer, Event, Store

MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass
class Group:
    name: str
    customers: int
    converted: int
    revenue: float
    revenue_squares: float

    @property
    def conversion(self) -> float | None:
        return self.converted / self.customers if self.customers else None

    @property
    def revenue_per_recipient(self) -> float | None:
        return self.revenue / self.customers if self.customers else None

    def variance(self) -> float:
        if self.customers < 2:
            return 0.0
        mean = self.revenue / self.customers
        return (
            max(self.revenue_squares / self.customers - mean * mean, 0.0)
            * self.customers
            / (self.customers - 1)
        )


@dataclass
class Lift:
    group: Group
    baseline: Group
    conversion: Comparison | None
    revenue_difference: float | None
    revenue_low: float | None
    revenue_high: float | None


def lift(group: Group, baseline: Group) -> Lift:
    conversion = two_proportion_test(group.converted, group.customers, baseline.converted, baseline.customers)
    if not group.customers or not baseline.customers:
        return Lift(group, baseline, conversion, None, None, None)
    difference = group.revenue_per_recipient - baseline.revenue_per_recipient
    se = math.sqrt(group.variance() / group.customers + baseline.variance() / baseline.customers)
    return Lift(group, baseline, conversion, difference, difference - Z95 * se, difference + Z95 * se)


def _orders(customer_ref: str, start, end) -> QuerySet[Event]:
    return Event.objects.filter(
        customer=OuterRef(customer_ref), type="order_placed", occurred_at__gte=start, occurred_at__lt=end
    )


def _totals(orders: QuerySet[Event]):
    total = Cast(KT("properties__total"), MONEY)
    summed = orders.order_by().values("customer").annotate(s=Sum(total)).values("s")
    return Coalesce(Subquery(summed, output_field=MONEY), Value(Decimal("0")), output_field=MONEY)


def _groups(rows) -> dict[str, Group]:
    return {
        r["g"]: Group(r["g"], r["n"], r["converted"], float(r["revenue"] or 0), float(r["squares"] or 0))
        for r in rows
    }


def _aggregate(qs: QuerySet, group_expression) -> dict[str, Group]:
    return _groups(
        qs.annotate(g=group_expression)
        .order_by()
        .values("g")
        .annotate(
            n=Count("pk"),
            converted=Count("pk", filter=Q(converted=True)),
            revenue=Sum("spent"),
            squares=Sum(Cast(F("spent"), FloatField()) * Cast(F("spent"), FloatField())),
        )
    )


def experiment_lift(experiment: Experiment) -> dict[str, Lift]:
    """Each variant against the holdout: customers placed, who ordered within the click window."""
    window = timedelta(days=experiment.store.attribution_click_days)
    orders = Event.objects.filter(
        customer=OuterRef("customer"),
        type="order_placed",
        occurred_at__gte=OuterRef("at"),
        occurred_at__lt=OuterRef("at") + window,
    )
    placed = ExperimentExposure.objects.filter(experiment=experiment).annotate(
        converted=Exists(orders), spent=_totals(orders)
    )
    groups = _aggregate(placed, F("arm"))
    holdout = groups.pop(ExperimentExposure.HOLDOUT, None)
    if holdout is None:
        return {}
    return {name: lift(group, holdout) for name, group in sorted(groups.items())}


def control_group_lift(*, store: Store, start: datetime, end: datetime) -> Lift | None:
    """The whole program's lift: texted subscribers against the control group over [start, end)."""
    if not store.control_group_percent:
        return None
    orders = _orders("pk", start, end)
    customers = (
        Customer.objects.filter(store=store, sms_consent=Customer.Consent.SUBSCRIBED)
        .alias(_control_bucket=experiments.bucket_sql(experiments.CONTROL_SALT + store.pk))
        .annotate(converted=Exists(orders), spent=_totals(orders))
    )
    in_control = Case(
        When(experiments.control_group_q(store=store), then=Value("control")), default=Value("texted")
    )
    groups = _aggregate(customers, in_control)
    if "control" not in groups or "texted" not in groups:
        return None
    return lift(groups["texted"], groups["control"])
