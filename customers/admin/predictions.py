"""The predictions in the admin: each training run's models against their rules (the model page), and
the customer page's scores with their reasons in words."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from customers.admin.scoping import StoreScopedAdmin
from customers.admin.stores import ReadOnlyMixin
from customers.models import Customer, CustomerPrediction, PredictionRun
from customers.predictions.best_hour import best_hour_reasons
from customers.predictions.features import FEATURES, NEVER

WORDS = dict(FEATURES)
KIND_TITLES = {
    "order": "Chance of an order in the next 30 days",
    "churn": "Churn risk",
    "next_order": "Expected next order",
    "value": "Predicted 12-month value",
    "uplift": "Offer uplift",
    "best_hour": "Best hour to text",
}
RULES = {
    "order": "no chance given; the next order is expected one average gap after the last",
    "churn": "time since the last order against the customer's usual gap: under 1× low, under 2× medium",
    "next_order": "last order + the customer's average gap between orders",
    "value": "what the customer spent per day so far, over a year",
    "uplift": "offer-sensitive when half or more of the customer's orders used a code",
    "best_hour": "one fixed hour for everyone: the store's peak",
}


def reason_words(feature: str, value: float, sign: int) -> str:
    if feature == "ordered":
        text = "has ordered" if value else "has never ordered"
    elif feature in ("click_recency", "recency") and value >= NEVER:
        text = "no text click in the last year" if feature == "click_recency" else "no order yet"
    else:
        text = WORDS[feature].format(value)
    if not sign:  # a rule's input
        return text
    return f"{text} ({'raises' if sign > 0 else 'lowers'} it)"


FIGURE_NAMES = {
    "auc": "AUC",
    "brier": "Brier",
    "mae": "MAE",
    "qini_top_30": "orders added per 100 in the top 30 %",
    "share_near": "share within an hour",
    "codes": "codes sent",
    "orders": "orders",
    "orders_with_the_rules_codes": "orders with the rule's number of codes",
}


def _figures(verdict: dict) -> str:
    def one(figures: dict) -> str:
        return ", ".join(f"{FIGURE_NAMES.get(name, name)} {value}" for name, value in figures.items()) or "—"

    return format_html("model: {} · rule: {}", one(verdict.get("model", {})), one(verdict.get("rule", {})))


@admin.register(PredictionRun)
class PredictionRunAdmin(ReadOnlyMixin, StoreScopedAdmin):
    """Each day's training per store: what it learned from, how each model did on later data it
    never saw against the rule it would replace, and which of the two scores the customers."""

    list_display = ("store", "started_at", "finished_at", "ordering_customers", "history_days", "models_used")
    list_filter = ("store",)
    date_hierarchy = "started_at"
    fields = (
        "store",
        "started_at",
        "finished_at",
        "ordering_customers",
        "history_days",
        "shortfall",
        "scored",
        "judged",
    )
    readonly_fields = fields

    @admin.display(description="scoring by")
    def models_used(self, run: PredictionRun) -> str:
        if run.finished_at is None:
            return "did not finish"
        used = [KIND_TITLES[kind].lower() for kind, v in run.evaluation.items() if v.get("used")]
        if run.shortfall:
            return f"the rules ({run.shortfall})" + (f"; a model for {', '.join(used)}" if used else "")
        return f"models for {', '.join(used)}" if used else "the rules: no model beat its rule"

    @admin.display(description="models against their rules, on later data they never saw")
    def judged(self, run: PredictionRun) -> str:
        rows = []
        for kind, verdict in run.evaluation.items():
            used = "Model used" if verdict.get("used") else "Rule used: the model did not beat it"
            if "model" not in verdict:
                used = "Rule used"
            calibration = format_html_join(
                " ",
                "{}→{} ({})",
                (
                    (f"{b['predicted']:.0%}", f"{b['observed']:.0%}", b["customers"])
                    for b in verdict.get("calibration", [])
                ),
            )
            rows.append(
                (
                    KIND_TITLES[kind],
                    verdict.get("title", ""),
                    verdict.get("customers", "—"),
                    _figures(verdict),
                    calibration or "—",
                    used,
                    verdict.get("why", ""),
                    RULES[kind],
                )
            )
        return format_html(
            '<table id="prediction-models"><thead><tr><th>Score</th><th>Judged on</th><th>Customers</th>'
            "<th>Figures</th><th>Calibration (predicted → happened)</th><th>Scoring by</th><th>Why</th>"
            "<th>The rule</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td></tr>",
                rows,
            ),
        )


def customer_predictions(customer: Customer) -> list[dict]:
    """The customer page's scores: value, whether a model or the rule gave it, the reasons in words."""
    prediction = CustomerPrediction.objects.filter(customer=customer).select_related("run").first()
    if prediction is None:
        return []
    run, currency = prediction.run, customer.store.currency

    def line(kind: str, value: str) -> dict:
        by = "model" if run.uses_model(kind) else "rule"
        reasons = [reason_words(*r) for r in prediction.reasons.get(kind, [])]
        return {"kind": kind, "title": KIND_TITLES[kind], "value": value, "by": by, "reasons": reasons}

    lines = []
    if prediction.order_probability is not None:
        lines.append(line("order", f"{prediction.order_probability:.0%}"))
    if prediction.next_order_at is not None:
        lines.append(line("next_order", f"{prediction.next_order_at:%Y-%m-%d}"))
    if prediction.churn_band:
        risk = f" ({prediction.churn_risk:.0%})" if prediction.churn_risk is not None else ""
        lines.append(line("churn", f"{prediction.get_churn_band_display()}{risk}"))
    lines.append(line("value", f"{prediction.predicted_value} {currency}"))
    if prediction.best_hour is not None:
        best = line("best_hour", f"{prediction.best_hour}:00 their time")
        best["reasons"] = best_hour_reasons(customer_id=customer.pk, hour=prediction.best_hour, run=run)
        lines.append(best)
    if prediction.offer_uplift is not None:
        lines.append(line("uplift", f"{100 * prediction.offer_uplift:+.0f} points from an offer"))
    if run.shortfall:
        lines.append(
            {
                "kind": "shortfall",
                "title": "Models",
                "value": f"not trained: {run.shortfall}",
                "by": "rule",
                "reasons": [],
            }
        )
    return lines
