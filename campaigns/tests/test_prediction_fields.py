"""The predicted next order as a dynamic field: the customer's own day, the fallback without one, in
a batch of texts with a fixed number of queries, and in the previews staff read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.content.checks import check_template
from campaigns.content.rendering import render_example, render_message, render_messages
from campaigns.tests.flowkit import make_customer, make_store
from customers.models import CustomerPrediction, PredictionRun

pytestmark = pytest.mark.django_db
TEXT = 'Running low? You usually reorder around {{ next_order_date|default:"now" }}.'
AT = datetime(2026, 12, 14, 3, 0, tzinfo=UTC)  # Dec 13, 22:00 in New York


def predicted(store, customer, next_order_at):
    run, _ = PredictionRun.objects.get_or_create(store=store, defaults={"started_at": AT, "finished_at": AT})
    CustomerPrediction.objects.create(
        customer=customer, store=store, run=run, next_order_at=next_order_at, scored_at=AT
    )


def render(customer):
    return render_message(
        template_body=TEXT, customer=customer, snapshot={}, utm_campaign="t", utm_content="t"
    )


def test_it_says_the_predicted_day_in_the_customers_own_timezone():
    store = make_store()
    ny, tokyo = make_customer(store), make_customer(store, timezone="Asia/Tokyo")
    for customer in (ny, tokyo):
        predicted(store, customer, AT)

    assert render(ny).body == "Running low? You usually reorder around Dec 13."
    assert render(tokyo).body == "Running low? You usually reorder around Dec 14."


def test_without_a_prediction_the_fallback_is_used_and_the_check_asks_for_one():
    store = make_store()
    unscored = make_customer(store)
    predicted(store, make_customer(store), None)  # scored, but no next order expected

    assert render(unscored).body == "Running low? You usually reorder around now."
    warnings = check_template("Back around {{ next_order_date }}?", store=store)
    assert any("next_order_date" in w.message for w in warnings)


def test_a_batch_loads_the_predictions_in_one_query():
    store = make_store()
    customers = [make_customer(store) for _ in range(30)]
    for customer in customers[::2]:
        predicted(store, customer, AT)

    with CaptureQueriesContext(connection) as queries:
        texts = render_messages(template_body=TEXT, customers=customers, utm_campaign="t", utm_content="t")

    assert sum("customers_customerprediction" in q["sql"] for q in queries.captured_queries) == 1
    assert [t.body.endswith("Dec 13.") for t in texts] == [i % 2 == 0 for i in range(30)]


def test_the_template_preview_shows_the_fields_example():
    assert render_example(TEXT) == "Running low? You usually reorder around Dec 14."
