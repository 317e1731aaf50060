"""What the store's own history predicts for each customer, and each training run that produced it."""

from __future__ import annotations

from django.db import models

from customers.models.people import Customer
from customers.models.stores import Store


class PredictionRun(models.Model):
    """One training of a store's models: the data it had, how each model scored on later data it
    never saw against the rule it would replace, and which of the two now scores the customers."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="prediction_runs", db_index=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ordering_customers = models.PositiveIntegerField(default=0)
    history_days = models.PositiveIntegerField(default=0)
    # Why the models were not trained ("needs 500 ordering customers; you have 212"), or "".
    shortfall = models.CharField(max_length=300, blank=True)
    # Per model ("order", "churn", "next_order", "value", "best_hour"; "uplift" from the offer tests):
    # its figures and the rule's on the held-out period, whether the model is used, and why.
    evaluation = models.JSONField(default=dict, blank=True)
    scored = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["store", "-started_at"], name="prediction_run_store_latest")]

    def __str__(self) -> str:
        return f"{self.store} at {self.started_at:%Y-%m-%d %H:%M}"

    def uses_model(self, kind: str) -> bool:
        return bool(self.evaluation.get(kind, {}).get("used"))


class CustomerPrediction(models.Model):
    """A customer's scores from the latest run: the model's where it beat its rule, else the rule's."""

    class Band(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    customer = models.OneToOneField(
        Customer, primary_key=True, on_delete=models.CASCADE, related_name="prediction"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", db_index=False)
    run = models.ForeignKey(PredictionRun, on_delete=models.CASCADE, related_name="+", db_index=False)
    # chance of an order in the next 30 days; empty while the rule scores (the rule gives no chance)
    order_probability = models.FloatField(null=True, blank=True)
    next_order_at = models.DateTimeField(null=True, blank=True)
    # chance of no order within the customer's own expected cycle; empty while the rule scores
    churn_risk = models.FloatField(null=True, blank=True)
    churn_band = models.CharField(max_length=8, choices=Band, blank=True)
    predicted_value = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # the extra chance of an order an offer buys (0.12 = 12 points), learned from the store's offer
    # tests; empty where the store has too few, or the model did not beat the rule
    offer_uplift = models.FloatField(null=True, blank=True)
    # the local hour (0–23) their clicks and orders after texts point to; empty without any, or
    # where one fixed hour did as well
    best_hour = models.PositiveSmallIntegerField(null=True, blank=True)
    # per score, its strongest reasons: [[feature, value, +1 raises / -1 lowers], ...]
    reasons = models.JSONField(default=dict, blank=True)
    scored_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "churn_band"], name="prediction_store_churn"),
            models.Index(fields=["store", "order_probability"], name="prediction_store_order"),
            models.Index(fields=["store", "predicted_value"], name="prediction_store_value"),
            models.Index(fields=["store", "offer_uplift"], name="prediction_store_uplift"),
            models.Index(fields=["run"], name="prediction_run"),
        ]

    def __str__(self) -> str:
        return f"prediction for customer {self.customer_id}"
