from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns.admin.flows import FlowStepForm
from campaigns.content.checks import step_checks
from campaigns.flows.event_triggers import events_check
from campaigns.flows.io import flow_export
from campaigns.flows.recipes import RECIPES, recipe_install
from campaigns.models import Flow, FlowStep
from campaigns.tests.flowkit import T0, make_customer, make_store, record
from campaigns.tests.inbound_helpers import store_owner
from campaigns.tick import tick


@pytest.fixture
def owner(django_user_model):
    campaigns_permissions = Permission.objects.filter(content_type__app_label="campaigns")
    return store_owner(django_user_model, None, campaigns_permissions)


@pytest.mark.django_db
def test_store_owners_see_only_their_stores_flows(client, owner):
    mine, theirs = make_store("mine"), make_store("theirs")
    mine.owners.add(owner)
    own = recipe_install(store=mine, name="cart_recovery")
    other = recipe_install(store=theirs, name="win_back")
    client.force_login(owner)

    listing = client.get("/admin/campaigns/flow/").content.decode()
    assert f"/admin/campaigns/flow/{own.pk}/change/" in listing
    assert f"/admin/campaigns/flow/{other.pk}/change/" not in listing
    assert client.get(f"/admin/campaigns/flow/{other.pk}/backtest/").status_code == 404
    page = client.get("/admin/campaigns/flow/install-recipe/").content.decode()
    assert f'value="{mine.pk}"' in page and f'value="{theirs.pk}"' not in page


@pytest.mark.django_db
def test_install_recipe_in_one_click(admin_client):
    store = make_store()
    response = admin_client.post(
        "/admin/campaigns/flow/install-recipe/", {"recipe": "back_in_stock", "store": store.pk}
    )
    flow = Flow.objects.get(store=store)
    assert response.url == f"/admin/campaigns/flow/{flow.pk}/change/"
    assert flow.status == "draft"


@pytest.mark.django_db
def test_the_diagram_counts_sent_exited_and_skipped(admin_client):
    store = make_store()
    flow = recipe_install(store=store, name="cart_recovery", live=True)
    ana, bo, cy = (make_customer(store) for _ in range(3))
    events = [
        record(ana, "cart_updated", T0, cart_id="a", cart_url="https://shop.example.com/c/a"),
        record(bo, "cart_updated", T0, cart_id="b", cart_url="https://shop.example.com/c/b"),
        record(
            cy, "cart_updated", T0 - timedelta(hours=3), cart_id="c", cart_url="https://shop.example.com/c/c"
        ),
    ]
    events_check(store_id=store.id, event_ids=[e.id for e in events], now=T0)
    tick(now=T0 + timedelta(minutes=60))
    events_check(
        store_id=store.id,
        event_ids=[record(bo, "order_placed", T0 + timedelta(hours=2), cart_id="b", order_id="1").id],
        now=T0,
    )

    page = admin_client.get(f"/admin/campaigns/flow/{flow.pk}/change/").content.decode()
    diagram = re.sub(r"\s+", " ", page[page.index('id="flow-diagram"') :])
    assert "3 entered" in diagram
    assert "2 sent" in diagram
    assert "1 skipped (It came too late to send (later than the flow allows).)" in diagram
    assert "1 exited (The customer places an order: the flow&#x27;s goal.)" in diagram
    assert "Your cart is saved. Finish checkout:" in diagram


@pytest.mark.django_db
def test_import_reports_the_bad_field(admin_client):
    store = make_store()
    data = flow_export(flow=recipe_install(store=make_store("src"), name="cart_recovery"))
    data["steps"][1]["kind"] = "teleport"
    upload = SimpleUploadedFile("flow.json", json.dumps(data).encode(), content_type="application/json")

    response = admin_client.post("/admin/campaigns/flow/import/", {"store": store.pk, "file": upload})

    assert "steps[1].kind" in response.content.decode()
    assert not Flow.objects.filter(store=store).exists()


@pytest.mark.django_db
def test_export_action_and_backtest_page(admin_client):
    flow = recipe_install(store=make_store(), name="loyalty_nudge")
    exported = admin_client.post(
        "/admin/campaigns/flow/", {"action": "export_json", "_selected_action": [flow.pk]}
    )
    assert exported["Content-Disposition"] == 'attachment; filename="loyalty-nudge.json"'
    assert json.loads(exported.content)["trigger"] == "reward_threshold"

    backtest = admin_client.get(f"/admin/campaigns/flow/{flow.pk}/backtest/?days=30")
    assert "Customers texted" in backtest.content.decode()
    assert "Would be sent" in backtest.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_installs_cart_recovery_edits_step_two_and_the_diagram_follows(admin_page):
    make_store("demo")
    page, base = admin_page, admin_page.live_server_url

    page.goto(f"{base}/admin/campaigns/flow/")
    page.click("text=Install a recipe")
    page.click("button[value=cart_recovery]")
    diagram = page.locator("#flow-diagram")
    assert "wait 4 hours" in diagram.inner_text()
    assert "T + 5 h" in diagram.inner_text()

    page.fill("#id_steps-1-delay_value", "6")
    page.click("input[name=_continue]")

    page.wait_for_selector(".messagelist")
    text = page.locator("#flow-diagram").inner_text()
    assert "wait 6 hours" in text and "T + 7 h" in text
    assert "wait 4 hours" not in text
    assert page.locator("#id_steps-1-delay_value").input_value() == "6"


@pytest.mark.django_db
def test_a_step_with_an_unknown_field_is_refused_with_a_suggestion():
    flow = recipe_install(store=make_store(), name="cart_recovery")
    step = flow.steps.get(position=1)
    form = FlowStepForm(
        data={"position": 1, "kind": "send", "delay_value": 60, "delay_unit": "minutes",
              "body": "Finish here: {{ cart_lnk }}"},  # fmt: skip
        instance=step,
    )

    assert not form.is_valid()
    assert form.errors["body"] == ["Unknown field cart_lnk. Did you mean cart_link?"]


@pytest.mark.django_db
def test_a_step_linking_off_the_stores_domains_is_refused_on_import(admin_client):
    store = make_store()
    data = flow_export(flow=recipe_install(store=make_store("src"), name="cart_recovery"))
    data["steps"][0]["body"] = "Your cart: https://elsewhere.example.net/cart"
    upload = SimpleUploadedFile("flow.json", json.dumps(data).encode(), content_type="application/json")

    response = admin_client.post("/admin/campaigns/flow/import/", {"store": store.pk, "file": upload})

    page = response.content.decode()
    assert "steps[0].body" in page and "elsewhere.example.net" in page
    assert not Flow.objects.filter(store=store).exists()


@pytest.mark.django_db
def test_creep_and_opt_out_findings_show_on_the_steps_of_the_flow_page(admin_client):
    flow = recipe_install(store=make_store(), name="cart_recovery")
    FlowStep.objects.filter(flow=flow, position=1).update(
        body="We noticed you looked at this 7 times: {{ cart_link }}"
    )

    page = admin_client.get(f"/admin/campaigns/flow/{flow.pk}/change/").content.decode()

    assert "Tells the customer they are being watched." in page
    assert "The first message of a flow should say how to opt out" in page


@pytest.mark.django_db
def test_every_recipes_steps_pass_the_template_checks():
    store = make_store()
    for name in RECIPES:
        flow = recipe_install(store=store, name=name)
        for step in flow.steps.all():
            assert not [c for checks in step_checks(step).values() for c in checks if c.level == "error"]
