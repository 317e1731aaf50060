"""The predictions in the admin, in a browser: the model page and the customer page's scores."""

from __future__ import annotations

import pytest
from django.test import override_settings

from customers.models import CustomerPrediction, Segment
from customers.predictions.refresh import store_predictions_refresh
from customers.tests.predicted_store import predicted_store_fill, scored_store_make
from customers.tests.stores import NOW, store_make

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_model_page_and_the_customer_page_show_the_scores_and_why(admin_page):
    store = store_make("known")
    predicted_store_fill(store=store, customers=600, now=NOW)
    with override_settings(PREDICTIONS_MIN_ORDERING_CUSTOMERS=200):
        run = store_predictions_refresh(store=store, now=NOW).run
    page = admin_page

    page.goto(f"{page.live_server_url}/admin/customers/predictionrun/{run.pk}/change/")
    table = page.locator("#prediction-models")
    for kind in ("order", "churn"):
        verdict = run.evaluation[kind]
        row = table.locator("tr", has_text=f"AUC {verdict['model']['auc']:.3f} against the rule's")
        assert "Model used" in row.inner_text()
    unused = [v for v in run.evaluation.values() if not v["used"]]
    assert table.get_by_text("Rule used: the model did not beat it").count() == len(unused)

    slipping = CustomerPrediction.objects.filter(store=store, churn_band="high").first()
    page.goto(f"{page.live_server_url}/admin/customers/customer/{slipping.customer_id}/change/")
    churn = page.locator("#prediction-churn").inner_text()
    assert "High" in churn and "learned from the store's history" in churn
    assert churn.count(" it)") == 3  # three reasons, each saying whether it raises or lowers the risk
    assert "%" in page.locator("#prediction-order").inner_text()


def test_below_the_minimum_the_customer_page_says_what_is_missing(admin_page):
    store = store_make("small")
    predicted_store_fill(store=store, customers=20, now=NOW)
    store_predictions_refresh(store=store, now=NOW)
    some = CustomerPrediction.objects.filter(store=store).exclude(churn_band="").first()
    page = admin_page

    page.goto(f"{page.live_server_url}/admin/customers/customer/{some.customer_id}/change/")

    churn = page.locator("#prediction-churn").inner_text()
    assert "by the rule" in churn and "their usual gap since the last order" in churn
    assert (
        "not trained: needs 500 ordering customers; you have"
        in page.locator("#prediction-shortfall").inner_text()
    )
    page.goto(f"{page.live_server_url}/admin/customers/predictionrun/")
    assert "the rules (needs 500 ordering customers" in page.locator("#result_list").inner_text()


def test_the_builder_offers_churn_risk_without_json(admin_page):
    scored_store_make()
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/segment/add/")
    page.fill("#id_name", "Churn risk high")
    page.wait_for_function("document.querySelector('#sp-count').textContent === '5'")

    page.select_option(".sb-group[data-path=''] > .sb-group-foot .sb-add-type", "metric")
    page.click(".sb-group[data-path=''] > .sb-group-foot .sb-add-condition")
    condition = page.locator(".sb-condition[data-path='children[0]']")
    condition.get_by_label("Metric").select_option("churn_risk")

    page.wait_for_function("document.querySelector('#sp-count').textContent === '2'")
    assert page.locator("#sp-summary").inner_text() == "Customers who have a high churn risk (predicted)."
    condition.get_by_label("Churn risk").select_option("medium")
    page.wait_for_function("document.querySelector('#sp-count').textContent === '1'")
    condition.get_by_label("Metric").select_option("order_probability")
    condition.get_by_label("Value").fill("40")
    page.wait_for_function("document.querySelector('#sp-count').textContent === '2'")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    assert Segment.objects.get(name="Churn risk high").rules["children"][0] == {
        "type": "metric",
        "metric": "order_probability",
        "op": "gte",
        "value": 40,
    }
