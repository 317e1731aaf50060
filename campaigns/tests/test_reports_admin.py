from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Experiment, ExperimentVariant, Flow, FlowStep
from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.decisions import experiment_evaluate
from campaigns.tests.flowkit import make_customer, make_store
from campaigns.tests.history import click, opt_out, order, text
from campaigns.tests.inbound_helpers import store_owner
from customers.models import Customer
from customers.predictions.refresh import store_predictions_refresh
from customers.segments.health import list_health_refresh


@pytest.fixture
def shop_history(db, frozen_now):
    """A cart flow whose step 1 was texted to 3 customers yesterday: 1 click, 1 order of 50, 1 opt-out."""
    now = frozen_now
    store = make_store()
    flow = Flow.objects.create(
        store=store, name="Cart recovery", slug="cart", event_type="cart_updated", status="live"
    )
    step = FlowStep.objects.create(flow=flow, position=1, body="Your cart: {{ cart_link }}")
    people = [make_customer(store) for _ in range(3)]
    sent = [text(c, now - timedelta(days=1), flow_step=step) for c in people]
    click(sent[0], now - timedelta(hours=20))
    order(people[0], now - timedelta(hours=19), "50")
    opt_out(people[1], now - timedelta(hours=18))
    attributions_refresh(now=now)
    opt_outs_attribute(now=now)
    return store, flow, step


def test_the_admin_home_shows_the_dashboard_with_charts(admin_client, shop_history):
    response = admin_client.get("/admin/")

    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" class="report-chart"') == 5
    assert "Sends and clicks" in body and "Attributed revenue" in body
    assert "3 customers · 3 reachable by SMS" in body
    assert "Where the figures come from" in body
    assert "Cart recovery" in body
    assert "Ask Cold subscribers their preferences" in body


def test_list_health_counts_the_subscribed_by_predicted_churn_risk(admin_client, shop_history, frozen_now):
    store, _, _ = shop_history
    Customer.objects.filter(store=store).update(sms_consent=Customer.Consent.SUBSCRIBED)
    store_predictions_refresh(store=store, now=frozen_now)  # too little data: the rules score

    body = admin_client.get("/admin/").content.decode()

    # one of the three ordered, yesterday: well within a usual gap; who never ordered has no band
    assert "Churn risk (predicted): 0 High, 0 Medium, 1 Low." in body


def test_the_flow_report_shows_ctr_opt_outs_and_revenue_per_step(admin_client, shop_history):
    store, flow, step = shop_history

    response = admin_client.get(reverse("admin:reports_flow", args=[flow.pk]))

    table = response.context["tables"][0]
    # Cost to the price's precision: 3 segments × 0.0083.
    money = [Decimal("50.00"), Decimal("16.67"), 3, Decimal("0.0249")]
    assert table.rows[0][2:] == [3, 3, 0, 1, 1, 1 / 3, 1, 1 / 3, 1, *money]
    assert table.total[2:] == table.rows[0][2:]  # one step: the flow's total is that step
    body = response.content.decode()
    assert "33.3%" in body and "$50.00" in body and "$16.67" in body


def test_every_table_exports_as_csv(admin_client, shop_history):
    store, flow, step = shop_history

    steps = admin_client.get(reverse("admin:reports_flow", args=[flow.pk]), {"csv": "steps"})
    daily = admin_client.get(reverse("admin:reports_dashboard_csv"), {"store": store.pk, "csv": "daily"})
    top = admin_client.get(reverse("admin:reports_dashboard_csv"), {"store": store.pk, "csv": "sources"})

    assert steps["Content-Type"].startswith("text/csv")
    lines = steps.content.decode().splitlines()
    assert lines[0].startswith("Step,Entered step,Sent,Delivered,Failed,Clicks,Unique clicks,CTR")
    assert ",3,3,0,1,1,0.3333333333333333,1,0.3333333333333333,1,50.00," in lines[1]
    assert lines[-1].startswith("All texts of the flow,")
    assert daily.content.decode().splitlines()[0].startswith("Day,Sent,Delivered,Failed,Clicks,Unique clicks")
    assert "Cart recovery" in top.content.decode()


def test_an_experiment_report_shows_variants_side_by_side_with_the_winner(
    admin_client, shop_history, frozen_now
):
    store, flow, step = shop_history
    experiment = Experiment.objects.create(
        store=store, name="Cart copy", flow_step=step, min_recipients=1, started_at=frozen_now
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="Product name", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="Category name", body="b")
    now = frozen_now
    for key, clicks in (("A", 5), ("B", 40)):
        for n in range(60):
            message = text(
                make_customer(store),
                now - timedelta(hours=3),
                flow_step=step,
                variant=f"e{experiment.pk}.{key}",
            )
            if n < clicks:
                click(message, now - timedelta(hours=2))
    experiment_evaluate(experiment=experiment, now=now)

    response = admin_client.get(reverse("admin:reports_experiment", args=[experiment.pk]))

    body = response.content.decode()
    assert "Concluded:</strong> B (Category name) wins on click rate" in body
    assert "95 % CI" in body
    assert [row[0] for row in response.context["tables"][0].rows] == [
        "A: Product name (control)",
        "B: Category name",
    ]


def test_one_click_prepares_the_cold_preference_question(admin_client, shop_history):
    store, *_ = shop_history

    response = admin_client.post(reverse("admin:reports_cold_preferences", args=[store.pk]))

    campaign = Campaign.objects.get(slug__startswith="ask-cold-preferences")
    assert response.status_code == 302
    assert campaign.status == "draft" and campaign.segment.preset == "engagement-cold"
    assert (
        "DEALS, DROPS or RESTOCKS" in campaign.template.body and "{{ prefs_link }}" in campaign.template.body
    )
    assert "0 of 0 answered" in admin_client.get("/admin/").content.decode()


def test_a_store_owner_cannot_open_another_stores_report(client, django_user_model, shop_history):
    store, flow, step = shop_history
    other = make_store("other")
    client.force_login(store_owner(django_user_model, other, []))

    assert client.get(reverse("admin:reports_flow", args=[flow.pk])).status_code == 404
    home = client.get("/admin/").content.decode()
    assert "Cart recovery" not in home


def test_list_health_shows_the_count_the_reports_stage_kept_and_when(admin_client, shop_history, frozen_now):
    store, _, _ = shop_history
    taken = frozen_now - timedelta(minutes=3)
    list_health_refresh(now=taken, store_ids=[store.pk])
    Customer.objects.filter(store=store).update(sms_consent=Customer.Consent.NONE)

    body = admin_client.get("/admin/").content.decode()

    local = timezone.localtime(taken, ZoneInfo(store.default_timezone))
    assert f"as of {local:%H:%M} (store time)" in body
    assert "3 customers · 3 reachable by SMS" in body
