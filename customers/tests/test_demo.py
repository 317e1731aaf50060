from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count

from customers.demo import demo_load
from customers.models import Customer, Event, Product, Store
from customers.tests.stores import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    return demo_load(now=NOW, customers=120)


def test_it_builds_the_demo_store_through_ingestion(demo):
    store = Store.objects.get(slug="demo")
    assert (store.site_url, store.allowed_link_domains) == ("https://shop.example.com", ["shop.example.com"])
    assert Customer.objects.count() == 120
    assert Product.objects.count() == 50 and store.categories.count() >= 5
    assert (
        Product.objects.filter(consumable=True, reorder_window_days__isnull=False)
        .exclude(usage_tip="")
        .exists()
    )
    assert set(Product.objects.values_list("margin_class", flat=True)) == {"low", "medium", "high"}
    assert Customer.objects.filter(sms_consent="subscribed").count() > 90
    assert Customer.objects.values("timezone").distinct().count() >= 4
    assert not Event.objects.filter(occurred_at__gt=NOW).exists()


def test_every_kind_of_event_the_segments_need_is_there(demo):
    kinds = dict(Event.objects.values_list("type").annotate(n=Count("id")))
    for kind in (
        "product_viewed", "cart_updated", "checkout_started", "order_placed", "order_delivered",
        "back_in_stock_requested", "reward_balance_changed", "preference_set", "sms_clicked",
    ):  # fmt: skip
        assert kinds.get(kind, 0) > 0, kind
    assert Event.objects.filter(type="cart_updated", occurred_at__gte=NOW - timedelta(hours=24)).exists()


def test_metrics_and_engagement_tiers_have_members(demo):
    customers = Customer.objects.all()
    assert customers.filter(order_count__gte=3).exists()
    assert customers.filter(discount_order_share__gte=0.5).exists()
    assert customers.filter(predicted_next_order_at__isnull=False).exists()
    assert customers.filter(last_sms_click_at__gte=NOW - timedelta(days=14)).exists()
    assert customers.filter(
        last_sms_click_at__lt=NOW - timedelta(days=14), last_sms_click_at__gte=NOW - timedelta(days=60)
    ).exists()
    assert customers.filter(last_sms_click_at__lt=NOW - timedelta(days=60)).exists()
    assert customers.exclude(topics=[]).exists() and customers.filter(reward_balance__gt=0).exists()


def test_it_is_deterministic_and_leaves_an_existing_store_alone(demo):
    # The shop's side is the same; the texts' side follows the engine, whose experiment arms are
    # drawn from database ids (the same on a fresh database, not after a reset in the same one).
    first = list(Customer.objects.order_by("phone").values_list("phone", "first_name", "email"))
    assert demo_load(now=NOW, customers=120) is None
    demo_load(now=NOW, customers=120, reset=True)
    assert list(Customer.objects.order_by("phone").values_list("phone", "first_name", "email")) == first


def test_the_command_prints_a_summary(capsys):
    call_command("load_demo", "--customers", "30", "--now", "2026-11-26T15:00:00Z")
    assert "30 customers" in capsys.readouterr().out
    call_command("load_demo")
    assert "already exists" in capsys.readouterr().out
