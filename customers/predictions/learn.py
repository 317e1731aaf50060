"""The models, their reasons, and how each is judged against its rule on later data it never saw.

Linear models on standardised features: they train in seconds on a million customers, give
calibrated chances (logistic) or means (Poisson), and each score splits into one contribution per
feature, which are the reasons the customer page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from customers.predictions import rules
from customers.predictions.features import LABEL_DAYS, NAMES, Snapshot

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn is imported where a model is built or judged: it takes a second to import, which
# every process that loads the tick (the web server, `migrate`, each command) would otherwise pay.

MIN_CLASS = 20  # fewer positives (or negatives) than this and AUC says nothing
CALIBRATION_BINS = 5
REASONS = 3


def classifier() -> Pipeline:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


def regressor() -> Pipeline:
    from sklearn.linear_model import PoissonRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), PoissonRegressor(alpha=1e-4, max_iter=1000))


@dataclass(frozen=True)
class Task:
    """One thing to predict: who it is about, the outcome, and the rule it must beat."""

    kind: str
    title: str
    population: Callable[[Snapshot], np.ndarray]  # a mask
    outcome: Callable[[Snapshot], np.ndarray]
    rule: Callable[[Snapshot], np.ndarray]
    classify: bool


def _churned(s: Snapshot) -> np.ndarray:
    """No order within the customer's own expected cycle after the cutoff (two weeks to 60 days)."""
    window = np.clip(s.raw["gap"], 14.0, LABEL_DAYS)
    return np.isnan(s.next_order_days) | (s.next_order_days > window)


TASKS = [
    Task(
        "order",
        "Chance of an order in the next 30 days",
        population=lambda s: np.ones(len(s), dtype=bool),
        outcome=lambda s: np.nan_to_num(s.next_order_days, nan=np.inf) < rules.ORDER_DAYS,
        rule=rules.order_score,
        classify=True,
    ),
    Task(
        "churn",
        "Churn risk: no order within the customer's own cycle",
        population=lambda s: s.raw["ordered"] > 0,
        outcome=_churned,
        rule=rules.churn_score,
        classify=True,
    ),
    Task(
        "next_order",
        "Days to the next order (customers with two or more orders who ordered again)",
        population=lambda s: (s.raw["orders"] >= 2) & ~np.isnan(s.next_order_days),
        outcome=lambda s: s.next_order_days,
        rule=rules.next_order_days,
        classify=False,
    ),
    Task(
        "value",
        f"Spend in the next {LABEL_DAYS} days (the 12-month value is this rate over a year)",
        population=lambda s: np.ones(len(s), dtype=bool),
        outcome=lambda s: s.spend_after,
        rule=lambda s: rules.value_per_day(s) * LABEL_DAYS,
        classify=False,
    ),
]
TASK_BY_KIND = {task.kind: task for task in TASKS}


def fit(task: Task, s: Snapshot) -> Pipeline | None:
    mask = task.population(s)
    y = task.outcome(s)[mask]
    if task.classify and min(y.sum(), (~y).sum()) < MIN_CLASS:
        return None
    if not task.classify and (len(y) < MIN_CLASS or not np.any(y > 0)):
        return None  # nothing to learn from: too few, or every outcome zero
    model = classifier() if task.classify else regressor()
    return model.fit(s.X[mask], y.astype(int) if task.classify else y)


def predict(task: Task, model: Pipeline, X: np.ndarray) -> np.ndarray:
    return model.predict_proba(X)[:, 1] if task.classify else model.predict(X)


def judge(task: Task, model: Pipeline | None, later: Snapshot) -> dict:
    """The model's and the rule's figures on the later snapshot, and whether the model is used."""
    from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score

    mask = task.population(later)
    y = task.outcome(later)[mask]
    result = {"title": task.title, "customers": int(mask.sum())}
    if model is None or (task.classify and min(y.sum(), (~y).sum()) < MIN_CLASS) or len(y) < MIN_CLASS:
        return {**result, "used": False, "why": "too few outcomes of each kind to train and judge a model"}
    predicted, ruled = predict(task, model, later.X[mask]), task.rule(later)[mask]
    if task.classify:
        model_auc, rule_auc = roc_auc_score(y, predicted), roc_auc_score(y, ruled)
        used = model_auc > rule_auc
        return {
            **result,
            "positives": int(y.sum()),
            "model": {"auc": round(model_auc, 4), "brier": round(brier_score_loss(y, predicted), 4)},
            "rule": {"auc": round(rule_auc, 4)},
            "calibration": calibration(y, predicted),
            "used": bool(used),
            "why": f"AUC {model_auc:.3f} against the rule's {rule_auc:.3f}",
        }
    model_mae, rule_mae = mean_absolute_error(y, predicted), mean_absolute_error(y, np.nan_to_num(ruled))
    return {
        **result,
        "model": {"mae": round(model_mae, 3)},
        "rule": {"mae": round(rule_mae, 3)},
        "used": bool(model_mae < rule_mae),
        "why": f"mean absolute error {model_mae:.2f} against the rule's {rule_mae:.2f}",
    }


def calibration(y: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """Customers in five bins by predicted chance: the mean chance beside the share it came true."""
    order = np.argsort(predicted, kind="stable")
    return [
        {
            "predicted": round(float(predicted[part].mean()), 4),
            "observed": round(float(y[part].mean()), 4),
            "customers": int(len(part)),
        }
        for part in np.array_split(order, CALIBRATION_BINS)
        if len(part)
    ]


def reasons(model: Pipeline, X: np.ndarray, raw: dict[str, np.ndarray]) -> list[list]:
    """Each row's strongest contributions: [[feature, raw value, +1 raises / -1 lowers], ...]."""
    scaler, linear = model.steps[0][1], model.steps[-1][1]
    weights = np.ravel(linear.coef_)
    contributions = scaler.transform(X) * weights
    top = np.argsort(-np.abs(contributions), axis=1)[:, :REASONS]
    signs = np.sign(np.take_along_axis(contributions, top, axis=1)).astype(int)
    values = np.column_stack([raw[name] for name in NAMES])
    picked = np.take_along_axis(values, top, axis=1)
    return [
        [[NAMES[i], round(float(v), 4), int(sign)] for i, v, sign in zip(row, vals, sg, strict=True)]
        for row, vals, sg in zip(top.tolist(), picked.tolist(), signs.tolist(), strict=True)
    ]
