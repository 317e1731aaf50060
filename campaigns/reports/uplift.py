"""Discount sensitivity as uplift: the extra chance of an order an offer buys each customer, learned
from the store's offer tests (experiments on the offer lever) and judged against the rule it
replaces, "half or more of the customer's orders used a code".

Each customer placed in an offer test is a row: the features as of the test's start
(customers/predictions/features.py), whether their arm carried an offer (a variant with a code or
a unique-code offer) or not (a variant without one; the holdout got no text and is left out), and
whether they ordered within the store's click window. Two models, one per arm (a "T-learner"); a
customer's uplift is the difference of their two chances. The earlier 70 % of placements train,
the later 30 % judge: customers ranked by uplift, and by the rule, and in the top 30 % of each the
orders the offer added (the Qini figure: offer orders less no-offer orders scaled to as many
customers); and each as a policy ("a code to the offer-sensitive"), replayed on the same
placements: the codes it sends and the orders it would have had.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db.models import Exists, F, OuterRef, Q
from threadpoolctl import threadpool_limits

from campaigns.models import Experiment, ExperimentExposure, ExperimentVariant
from customers.models import Event, PredictionRun, Store
from customers.predictions import learn
from customers.predictions.features import NAMES, snapshot
from customers.predictions.refresh import prediction_run_complete
from customers.predictions.scores import offer_uplift_write

MIN_PER_ARM = 200  # customers placed with and without the offer, in the training part each
TRAIN_SHARE = 0.7
TOP = 0.3


def _placements(store: Store) -> list[tuple[int, int, datetime, bool, bool]]:
    """(experiment, customer, placed at, offered, ordered) for every placement in an offer test."""
    offered_keys = {
        (v.experiment_id, v.key)
        for v in ExperimentVariant.objects.filter(experiment__store=store, experiment__lever="offer").filter(
            ~Q(offer_code="") | Q(offer__isnull=False)
        )
    }
    window = timedelta(days=store.attribution_click_days)
    orders = Event.objects.filter(
        customer=OuterRef("customer"),
        type="order_placed",
        occurred_at__gte=OuterRef("at"),
        occurred_at__lt=OuterRef("at") + window,
    )
    rows = (
        ExperimentExposure.objects.filter(experiment__store=store, experiment__lever=Experiment.Lever.OFFER)
        .exclude(arm=ExperimentExposure.HOLDOUT)
        .annotate(ordered=Exists(orders), started=F("experiment__started_at"))
        .order_by("at", "pk")
        .values_list("experiment_id", "customer_id", "at", "arm", "ordered", "started")
    )
    return [
        (e, c, at, (e, arm) in offered_keys, ordered, started) for e, c, at, arm, ordered, started in rows
    ]


def _features(store: Store, placements: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each placement's features as of its test's start; placements of customers with no history
    by then are left out."""
    keep, X = [], []
    for experiment_id, started in sorted({(p[0], p[5]) for p in placements}):
        s = snapshot(store=store, cutoff=started, outcomes=False)
        index = {pk: i for i, pk in enumerate(s.customer_ids.tolist())}
        for n, p in enumerate(placements):
            if p[0] == experiment_id and p[1] in index:
                keep.append(n)
                X.append(s.X[index[p[1]]])
    keep_array = np.array(keep, dtype=int)
    order = np.argsort(keep_array)
    offered = np.array([placements[i][3] for i in keep_array[order]], dtype=bool)
    ordered = np.array([placements[i][4] for i in keep_array[order]], dtype=bool)
    return np.array(X)[order] if X else np.zeros((0, 0)), offered, ordered, keep_array[order]


def qini_top(score: np.ndarray, offered: np.ndarray, ordered: np.ndarray, share: float = TOP) -> float:
    """Orders the offer added among the top `share` by score, per 100 customers there."""
    top = np.argsort(-score, kind="stable")[: max(1, math.ceil(len(score) * share))]
    with_offer, without = offered[top], ~offered[top]
    if not with_offer.any() or not without.any():
        return 0.0
    added = ordered[top][with_offer].sum() - ordered[top][without].sum() * with_offer.sum() / without.sum()
    return round(float(100 * added / len(top)), 3)


def policy_replay(send_code: np.ndarray, offered: np.ndarray, ordered: np.ndarray) -> dict:
    """What "a code to whom the policy says" would have given on the judged placements: the codes
    sent, and the orders estimated from the customers whose random arm matched the policy, each
    weighted by the inverse of their arm's share (the test chose arms at random, so the matched
    customers stand for everyone)."""
    share = offered.mean()
    matched = send_code == offered
    weights = np.where(offered, 1 / share, 1 / (1 - share))
    orders = float((weights * (ordered & matched)).sum())
    return {"codes": int(send_code.sum()), "orders": round(orders, 1)}


def _fit(X: np.ndarray, offered: np.ndarray, ordered: np.ndarray):
    treated = learn.classifier().fit(X[offered], ordered[offered].astype(int))
    control = learn.classifier().fit(X[~offered], ordered[~offered].astype(int))
    return lambda rows: treated.predict_proba(rows)[:, 1] - control.predict_proba(rows)[:, 1]


def prediction_run_finish(*, run_id: int) -> int:
    """A started run of the store's predictions completed, then its offer uplift learned and judged,
    both as of the run's start; returns the customers scored."""
    run = PredictionRun.objects.select_related("store").get(pk=run_id)
    prediction_run_complete(run=run)
    store_offer_uplift(store=run.store, now=run.started_at)
    return run.scored


def store_offer_uplift(*, store: Store, now: datetime) -> dict:
    """Learn, judge and (where the model beats the rule) write each customer's offer uplift."""
    with threadpool_limits(limits=1):
        verdict, scorer = _judge(store)
        if not verdict["used"]:
            offer_uplift_write(
                store=store, customer_ids=np.zeros(0, dtype=np.int64), uplift=None, verdict=verdict
            )
            return verdict
        current = snapshot(store=store, cutoff=now, outcomes=False)
        uplift = scorer(current.X) if len(current) else np.zeros(0)
        offer_uplift_write(store=store, customer_ids=current.customer_ids, uplift=uplift, verdict=verdict)
        return verdict


def _judge(store: Store):
    title = "Extra chance of an order an offer buys (offer tests)"
    placements = _placements(store)
    X, offered, ordered, _ = (
        _features(store, placements) if placements else (None, np.zeros(0, bool), None, None)
    )
    cut = int(len(offered) * TRAIN_SHARE)
    train_with, train_without = int(offered[:cut].sum()), int((~offered[:cut]).sum())
    if min(train_with, train_without) < MIN_PER_ARM:
        why = (
            f"needs {MIN_PER_ARM} customers with and without the offer in the store's offer tests; "
            f"you have {train_with} and {train_without}"
        )
        return {"title": title, "customers": len(offered), "used": False, "why": why}, None
    model = _fit(X[:cut], offered[:cut], ordered[:cut])
    later = slice(cut, None)
    rule_score = X[later][:, NAMES.index("discount_share")]
    points = settings.PREDICTIONS_OFFER_SENSITIVE_POINTS / 100
    uplift = model(X[later])
    rule_codes = rule_score >= 0.5
    # the model held to the rule's number of codes: its top customers by uplift
    same_codes = np.zeros(len(uplift), dtype=bool)
    same_codes[np.argsort(-uplift, kind="stable")[: int(rule_codes.sum())]] = True
    figures = {
        "model": {
            "qini_top_30": qini_top(uplift, offered[later], ordered[later]),
            **policy_replay(uplift >= points, offered[later], ordered[later]),
            "orders_with_the_rules_codes": policy_replay(same_codes, offered[later], ordered[later])[
                "orders"
            ],
        },
        "rule": {
            "qini_top_30": qini_top(rule_score, offered[later], ordered[later]),
            **policy_replay(rule_codes, offered[later], ordered[later]),
        },
    }
    used = figures["model"]["qini_top_30"] > figures["rule"]["qini_top_30"]
    why = (
        f"in the top 30 %, {figures['model']['qini_top_30']:.1f} orders added per 100 customers "
        f"against the rule's {figures['rule']['qini_top_30']:.1f}"
    )
    verdict = {"title": title, "customers": len(offered), **figures, "used": bool(used), "why": why}
    return verdict, _fit(X, offered, ordered) if used else None
