"""A store's predictions retrained and its customers scored: the daily run.

Three snapshots of the same features: 120 days ago (to train on, its outcomes read up to 60 days
ago), 60 days ago (to judge on: outcomes the model never saw), and now (to score). A model that
beats its rule on the judged snapshot is trained again on it, the latest outcomes there are, and
scores the customers; one that does not leaves them to the rule, and the run says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from threadpoolctl import threadpool_limits

from customers.models import Event, PredictionRun, Store
from customers.predictions import learn, rules
from customers.predictions.best_hour import best_hours_write
from customers.predictions.features import LABEL_DAYS, Snapshot, snapshot
from customers.predictions.scores import Scores, scores_write

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

EVERY = timedelta(days=1)
YEAR_DAYS = 365
# the model's churn bands: a chance under 40 % is low, 70 % and over high
CHURN_BANDS = (0.4, 0.7)


@dataclass
class Trained:
    """A run and the models that scored it (kept for tests and the bench)."""

    run: PredictionRun
    models: dict[str, Pipeline] = field(default_factory=dict)
    current: Snapshot | None = None


def data_shortfall(*, store: Store, now: datetime) -> tuple[int, int, str]:
    """Ordering customers, days of history, and what is missing for models ("" when nothing)."""
    ordering = (
        Event.objects.filter(store_id=store.pk, type="order_placed", occurred_at__lt=now)
        .values("customer_id")
        .distinct()
        .count()
    )
    first = Event.objects.filter(store_id=store.pk, occurred_at__lt=now).aggregate(v=Min("occurred_at"))["v"]
    days = (now - first).days if first else 0
    need_customers = settings.PREDICTIONS_MIN_ORDERING_CUSTOMERS
    need_days = max(settings.PREDICTIONS_MIN_HISTORY_DAYS, 2 * LABEL_DAYS + 30)
    missing = []
    if ordering < need_customers:
        missing.append(f"needs {need_customers:,} ordering customers; you have {ordering:,}")
    if days < need_days:
        missing.append(f"needs {need_days} days of history; you have {days}")
    return ordering, days, "; ".join(missing)


def store_predictions_refresh(*, store: Store, now: datetime) -> Trained:
    """A run started at `now` and completed in this process."""
    return prediction_run_complete(run=PredictionRun.objects.create(store=store, started_at=now))


def prediction_run_start(*, store_id: int, now: datetime) -> PredictionRun | None:
    """The store's run for `now`, unless another worker started one since the store fell due."""
    with transaction.atomic():
        Store.objects.select_for_update().filter(pk=store_id).first()
        if store_id not in predictions_due(now=now, store_ids=[store_id]):
            return None
        return PredictionRun.objects.create(store_id=store_id, started_at=now)


def prediction_run_complete(*, run: PredictionRun) -> Trained:
    """Train, judge and score as of the run's start."""
    # One thread for the numerical libraries: the workers share the machine, and threads that
    # outnumber the cores cost far more than they give.
    with threadpool_limits(limits=1):
        return _refresh(run=run)


def _refresh(*, run: PredictionRun) -> Trained:
    store, now = run.store, run.started_at
    ordering, days, shortfall = data_shortfall(store=store, now=now)
    run.ordering_customers, run.history_days, run.shortfall = ordering, days, shortfall
    trained = Trained(run=run)
    current = snapshot(store=store, cutoff=now, outcomes=False)
    trained.current = current
    if not shortfall:
        past = snapshot(store=store, cutoff=now - timedelta(days=2 * LABEL_DAYS))
        later = snapshot(store=store, cutoff=now - timedelta(days=LABEL_DAYS))
        for task in learn.TASKS:
            verdict = learn.judge(task, learn.fit(task, past), later)
            run.evaluation[task.kind] = verdict
            if verdict["used"] and (model := learn.fit(task, later)) is not None:
                trained.models[task.kind] = model
    else:
        run.evaluation = {t.kind: {"title": t.title, "used": False, "why": shortfall} for t in learn.TASKS}
    run.scored = scores_write(store=store, run=run, scores=_scores(trained.models, current), now=now)
    best_hours_write(store=store, run=run, now=now)
    run.finished_at = now
    run.save()
    return trained


def _scores(models: dict[str, Pipeline], s: Snapshot) -> Scores:
    """Each score from its model where one is used, else from its rule."""
    out = Scores(customer_ids=s.customer_ids, reasons=lambda start, stop: _reasons(models, s, start, stop))
    if "order" in models:
        out.order_probability = learn.predict(learn.TASK_BY_KIND["order"], models["order"], s.X)
    days = rules.next_order_days(s)
    if "next_order" in models:
        days = learn.predict(learn.TASK_BY_KIND["next_order"], models["next_order"], s.X)
    out.next_order_days = days
    ordered = s.raw["ordered"] > 0
    if "churn" in models:
        risk = learn.predict(learn.TASK_BY_KIND["churn"], models["churn"], s.X)
        out.churn_risk = np.where(ordered, risk, np.nan)
        low, high = CHURN_BANDS
        band = np.where(risk < low, "low", np.where(risk < high, "medium", "high"))
    else:
        band = rules.churn_band(rules.churn_score(s))
    out.churn_band = np.where(ordered, band, "")
    if "value" in models:
        per_day = learn.predict(learn.TASK_BY_KIND["value"], models["value"], s.X) / LABEL_DAYS
    else:
        per_day = rules.value_per_day(s)
    out.predicted_value = per_day * YEAR_DAYS
    return out


def _reasons(models: dict[str, Pipeline], s: Snapshot, start: int, stop: int) -> list[dict]:
    """Rows [start, stop)'s reasons per score: the model's strongest contributions, or the rule's inputs."""
    part = s.rows(start, stop)
    rows: list[dict] = [{} for _ in range(stop - start)]
    for kind in ("order", "churn", "value", "next_order"):
        if kind in models and kind != "next_order":
            why = learn.reasons(models[kind], part.X, part.raw)
        elif kind in rules.INPUTS and kind not in models:
            why = rules.reasons(kind, part)
        else:
            continue
        for row, one in zip(rows, why, strict=True):
            row[kind] = one
    return rows


def predictions_due(*, now: datetime, store_ids: list[int] | None = None) -> list[int]:
    """Stores whose last run is a day old, or from a later `now` than this one, or that have none."""
    runs = (
        PredictionRun.objects.all()
        if store_ids is None
        else PredictionRun.objects.filter(store_id__in=store_ids)
    )
    latest = dict(
        runs.values("store_id").order_by().annotate(v=Max("started_at")).values_list("store_id", "v")
    )
    stores = Store.objects.order_by("pk").values_list("pk", flat=True)
    if store_ids is not None:
        stores = stores.filter(pk__in=store_ids)
    return [pk for pk in stores if pk not in latest or latest[pk] <= now - EVERY or latest[pk] > now]
