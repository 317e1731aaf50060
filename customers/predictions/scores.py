"""The scores of a run written in sets: one bulk upsert per chunk, then the rows no run scored removed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.db import connection, transaction

from customers.models import CustomerPrediction, PredictionRun, Segment, SegmentTouch, Store

CHUNK = 5_000
FIELDS = [
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
    """Arrays aligned with `customer_ids`; NaN (or "") where a score has no value. `reasons` gives
    the reasons of rows [start, stop): built a chunk at a time, as they are written."""

    customer_ids: np.ndarray
    reasons: Callable[[int, int], list[dict]]
    order_probability: np.ndarray | None = None
    next_order_days: np.ndarray | None = None
    churn_risk: np.ndarray | None = None
    churn_band: np.ndarray | None = None
    predicted_value: np.ndarray | None = None

    def column(self, name: str, start: int, stop: int) -> list:
        values = getattr(self, name)
        if values is None:
            return [None] * (stop - start)
        return [None if v != v else float(v) for v in values[start:stop].tolist()]  # NaN → None


def scores_write(*, store: Store, run: PredictionRun, scores: Scores, now: datetime) -> int:
    n = len(scores.customer_ids)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _copy_upsert(store, run, scores, now)
        else:
            for start in range(0, n, CHUNK):
                stop = min(start + CHUNK, n)
                CustomerPrediction.objects.bulk_create(
                    [CustomerPrediction(**row) for row in _rows(store, run, scores, start, stop, now)],
                    update_conflicts=True,
                    unique_fields=["customer"],
                    update_fields=FIELDS,
                )
        CustomerPrediction.objects.filter(store=store).exclude(run=run).delete()
        stored_segments_note(store)
    return n


COPIED = ["customer_id", "store_id", "run_id", *(f for f in FIELDS if f != "run")]


def _copy_upsert(store: Store, run: PredictionRun, scores: Scores, now: datetime) -> None:
    """PostgreSQL: the rows streamed with COPY into a scratch table, then one upsert from it (the
    offer uplift and best hour, written by their own runs, are kept)."""
    table, n = CustomerPrediction._meta.db_table, len(scores.customer_ids)
    columns = ", ".join(COPIED)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE prediction_scores (LIKE {table}) ON COMMIT DROP")
        with cursor.copy(f"COPY prediction_scores ({columns}) FROM STDIN") as copy:
            for start in range(0, n, CHUNK):
                for row in _rows(store, run, scores, start, min(start + CHUNK, n), now):
                    row = {
                        **row,
                        "store_id": store.pk,
                        "run_id": run.pk,
                        "reasons": json.dumps(row["reasons"]),
                    }
                    copy.write_row([row[c] for c in COPIED])
        updates = ", ".join(f"{c} = excluded.{c}" for c in COPIED if c != "customer_id")
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM prediction_scores "
            f"ON CONFLICT (customer_id) DO UPDATE SET {updates}"
        )
        cursor.execute("DROP TABLE prediction_scores")


def stored_segments_note(store: Store) -> None:
    """New scores move customers no trigger sees change: a store-wide note, as for a changed
    catalogue, has the store's stored segments that read predictions rebuilt at their next refresh."""
    if Segment.objects.filter(store=store, stored=True).exists():
        SegmentTouch.objects.create(store=store, customer_id=None)


def _rows(store, run, scores: Scores, start: int, stop: int, now: datetime) -> list[dict]:
    order, churn = scores.column("order_probability", start, stop), scores.column("churn_risk", start, stop)
    days, value = scores.column("next_order_days", start, stop), scores.column("predicted_value", start, stop)
    bands = scores.churn_band[start:stop].tolist() if scores.churn_band is not None else [""] * (stop - start)
    return [
        {
            "customer_id": pk,
            "store": store,
            "run": run,
            "order_probability": p,
            "churn_risk": c,
            "churn_band": b,
            "next_order_at": now + timedelta(days=d) if d is not None else None,
            "predicted_value": Decimal(f"{max(v or 0.0, 0.0):.2f}"),
            "reasons": why,
            "scored_at": now,
        }
        for pk, p, d, c, b, v, why in zip(
            scores.customer_ids[start:stop].tolist(),
            order,
            days,
            churn,
            bands,
            value,
            scores.reasons(start, stop),
            strict=True,
        )
    ]


def offer_uplift_write(
    *, store: Store, customer_ids: np.ndarray, uplift: np.ndarray | None, verdict: dict
) -> PredictionRun | None:
    """What the store's offer tests say, recorded on its latest run; each customer's uplift written
    where the model is used (`uplift` aligned with `customer_ids`), every other one emptied."""
    run = PredictionRun.objects.filter(store=store).order_by("-started_at", "-pk").first()
    if run is None:
        return None
    with transaction.atomic():
        run.evaluation["uplift"] = verdict
        run.save(update_fields=["evaluation"])
        CustomerPrediction.objects.filter(store=store, offer_uplift__isnull=False).update(offer_uplift=None)
        stored_segments_note(store)
        if uplift is None:
            return run
        column_write("offer_uplift", "double precision", customer_ids, uplift)
    return run


def column_write(column: str, kind: str, customer_ids: np.ndarray, values: np.ndarray) -> None:
    """One column of the scored customers set from arrays, one UPDATE … FROM per chunk (a customer
    with no scores row is left out); `kind` is the column's PostgreSQL type."""
    table = CustomerPrediction._meta.db_table
    pg = connection.vendor == "postgresql"
    size = CHUNK * 10 if pg else 400  # SQLite: within its limit of bound parameters
    for start in range(0, len(customer_ids), size):
        ids = customer_ids[start : start + size].tolist()
        part = values[start : start + size].tolist()
        if pg:
            source, params = f"unnest(%s::bigint[], %s::{kind}[]) AS d(id, v)", [ids, part]
            pk, value = "d.id", "d.v"
        else:  # SQLite names a VALUES list's columns itself
            source = "(VALUES " + ", ".join(["(%s, %s)"] * len(ids)) + ") AS d"
            params = [v for pair in zip(ids, part, strict=True) for v in pair]
            pk, value = "d.column1", "d.column2"
        sql = f"UPDATE {table} SET {column} = {value} FROM {source} WHERE {table}.customer_id = {pk}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
