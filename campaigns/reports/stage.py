"""The reports stage of the tick: credit orders and opt-outs, decide experiments, then count the
report days that changed and each store's list health.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.decisions import experiments_evaluate
from campaigns.reports.rollups import report_days_refresh_stores
from customers.segments.health import list_health_refresh


@dataclass
class ReportsReport:
    orders_credited: int
    opt_outs_tied: int
    decisions: int
    days_counted: int = 0
    health_counted: int = 0


def reports_tick(*, now: datetime, store_ids: list[int] | None = None, counts: bool = True) -> ReportsReport:
    """Every store's, or only those of `store_ids`; without `counts`, only the crediting and the
    decisions (the report days and list health are left for a later run)."""
    report = ReportsReport(
        orders_credited=attributions_refresh(now=now, store_ids=store_ids),
        opt_outs_tied=opt_outs_attribute(now=now, store_ids=store_ids),
        decisions=experiments_evaluate(now=now, store_ids=store_ids),
    )
    if not counts:
        return report
    report.days_counted = report_days_refresh_stores(now=now, store_ids=store_ids)
    report.health_counted = list_health_refresh(now=now, store_ids=store_ids)
    return report
