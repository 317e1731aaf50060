"""The rules each model must beat, and that score the customers wherever a model does not.

They are the app's rules from before any learning: the next order one average gap after the last
(the customer's stored "predicted next order"), churn as time since the last order against the
customer's own gap (the win-back trigger's test), value as the customer's past rate of spending.
"""

from __future__ import annotations

import numpy as np

from customers.predictions.features import Snapshot

ORDER_DAYS = 30
# the churn rule's bands: within one usual gap, within two, beyond
CYCLE_BANDS = (1.0, 2.0)


def next_order_days(s: Snapshot) -> np.ndarray:
    """Days from the cutoff to last order + the customer's own average gap (NaN below two orders)."""
    return np.maximum(s.raw["own_gap"] - s.raw["recency"], 0.0)


def order_score(s: Snapshot) -> np.ndarray:
    """Ranks customers for "orders in the next 30 days": 0 when the rule's next order falls in the
    window, less the further outside it; lowest for customers the rule has no date for."""
    due = next_order_days(s)
    overdue = s.raw["recency"] - s.raw["own_gap"]
    distance = np.where(due > ORDER_DAYS, due - ORDER_DAYS, np.maximum(overdue, 0.0))
    return np.where(np.isnan(due), -10_000.0, -distance)


def churn_score(s: Snapshot) -> np.ndarray:
    """Time since the last order in units of the customer's usual gap (the store's below two orders)."""
    return s.raw["recency"] / s.raw["gap"]


def churn_band(score: np.ndarray) -> np.ndarray:
    low, high = CYCLE_BANDS
    return np.where(score < low, "low", np.where(score < high, "medium", "high"))


def value_per_day(s: Snapshot) -> np.ndarray:
    """What the customer spent per day since first seen (at least a month, at most a year counted)."""
    return s.raw["spend"] / np.clip(s.raw["tenure"], 30.0, None)


# what each rule reads, shown as its reasons
INPUTS = {
    "churn": ("cycle", "recency", "gap"),
    "next_order": ("recency", "gap"),
    "value": ("spend", "tenure"),
}


def reasons(kind: str, s: Snapshot) -> list[list]:
    """Each customer's rule inputs, shaped as the models' reasons with no direction: [[feature, value, 0]]."""
    names = INPUTS[kind]
    values = np.column_stack([np.round(s.raw[name], 4) for name in names]).tolist() if len(s) else []
    return [[[name, v, 0] for name, v in zip(names, row, strict=True)] for row in values]
