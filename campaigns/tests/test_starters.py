from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from campaigns.content.checks import ERROR, OPT_OUT_WORDING, check_template
from campaigns.flows.starters import starter_templates_install
from campaigns.models import MessageTemplate
from campaigns.tests.inbound_helpers import make_store
from customers.models import Store


@pytest.fixture
def store(db):
    return make_store()


def test_a_new_store_gets_starter_templates_that_say_how_to_opt_out(store):
    created = starter_templates_install(store=store)

    templates = MessageTemplate.objects.filter(store=store)
    assert created == templates.count() >= 10
    assert "New arrivals (broadcast)" in {t.name for t in templates}
    assert all(OPT_OUT_WORDING.search(t.body) for t in templates)
    assert not [c for t in templates for c in check_template(t.body, store=store) if c.level == ERROR]


def test_installing_again_keeps_the_stores_own_edits(store):
    starter_templates_install(store=store)
    MessageTemplate.objects.filter(name="Sale (broadcast)").update(
        body="Our own sale text. Reply STOP to opt out."
    )

    assert starter_templates_install(store=store) == 0
    assert MessageTemplate.objects.get(name="Sale (broadcast)").body.startswith("Our own sale text")


def test_bootstrap_adds_starter_templates(settings, tmp_path, monkeypatch, store):
    from smsmarketing.management.commands import bootstrap

    monkeypatch.setattr(bootstrap, "PASSWORD_FILE", tmp_path / ".admin-password")

    call_command("bootstrap", stdout=StringIO())

    assert MessageTemplate.objects.filter(store=store, name="Cart recovery: first text").exists()


def test_a_store_created_in_the_admin_gets_starters_and_its_template_form_is_preselected(admin_client, db):
    response = admin_client.post(
        "/admin/customers/store/add/",
        {
            "brand_name": "Fresh Shop",
            "slug": "fresh",
            "signup_embed-TOTAL_FORMS": "0",
            "signup_embed-INITIAL_FORMS": "0",
            "site_url": "https://fresh.example.com",
            "allowed_link_domains": "[]",
            "default_timezone": "America/New_York",
            "currency": "USD",
            "sender_type": "toll_free",
            "price_per_segment": "0.0079",
            "send_rate_per_second": "1",
            "send_window_start": "08:00",
            "send_window_end": "21:00",
            "cap_per_day": "1",
            "cap_per_week": "3",
            "cold_cap_per_week": "1",
            "cold_after_days": "60",
            "hot_days": "14",
            "overlap_hours": "12",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    fresh = Store.objects.get(slug="fresh")
    assert MessageTemplate.objects.filter(store=fresh, name="Sale (broadcast)").exists()

    form = admin_client.get("/admin/campaigns/messagetemplate/add/").context["adminform"].form
    assert form.initial["store"] == fresh.pk
