"""The scores of a run written in sets: one bulk upsert per chunk, then the rows no run scored removed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import transaction

from customers.models import CustomerPrediction, PredictionRun, Store

CHUNK = 5_000
FIELDS = [
    "store",
    "run",
    "order_probability",
    "next_order_at",
    "churn_risk",
    "churn_band",
    "predicted_value",
    "reasons",
    "scored_at",
]


@dataclass
class Scores:
    """Arrays aligned with `customer_ids`; NaN (or "") where a score has no value."""

    customer_ids: np.ndarray
    reasons: list[dict]
    order_probability: np.ndarray | None = None
    next_order_days: np.ndarray | None = None
    churn_risk: np.ndarray | None = None
    churn_band: np.ndarray | None = None
    predicted_value: np.ndarray | None = None

    def column(self, name: str) -> list:
        values = getattr(self, name)
        if values is None:
            return [None] * len(self.customer_ids)
        return [None if v != v else float(v) for v in values.tolist()]  # NaN → None


def scores_write(*, store: Store, run: PredictionRun, scores: Scores, now: datetime) -> int:
    order, churn = scores.column("order_probability"), scores.column("churn_risk")
    days, value = scores.column("next_order_days"), scores.column("predicted_value")
    bands = scores.churn_band.tolist() if scores.churn_band is not None else [""] * len(order)
    rows = [
        CustomerPrediction(
            customer_id=pk,
            store=store,
            run=run,
            order_probability=p,
            churn_risk=c,
            churn_band=b,
            next_order_at=now + timedelta(days=d) if d is not None else None,
            predicted_value=Decimal(f"{max(v or 0.0, 0.0):.2f}"),
            reasons=why,
            scored_at=now,
        )
        for pk, p, d, c, b, v, why in zip(
            scores.customer_ids.tolist(), order, days, churn, bands, value, scores.reasons, strict=True
        )
    ]
    with transaction.atomic():
        for start in range(0, len(rows), CHUNK):
            CustomerPrediction.objects.bulk_create(
                rows[start : start + CHUNK],
                update_conflicts=True,
                unique_fields=["customer"],
                update_fields=[f for f in FIELDS if f != "store"],
            )
        CustomerPrediction.objects.filter(store=store).exclude(run=run).delete()
    return len(rows)
