"""The reports stage of the tick: credit orders and opt-outs, then decide experiments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.decisions import experiments_evaluate


@dataclass
class ReportsReport:
    orders_credited: int
    opt_outs_tied: int
    decisions: int


def reports_tick(*, now: datetime, store_ids: list[int] | None = None) -> ReportsReport:
    """Every store's, or only those of `store_ids`."""
    return ReportsReport(
        orders_credited=attributions_refresh(now=now, store_ids=store_ids),
        opt_outs_tied=opt_outs_attribute(now=now, store_ids=store_ids),
        decisions=experiments_evaluate(now=now, store_ids=store_ids),
    )
