"""A flow goes live only when the first text a customer may get says how to opt out and gives a
fallback to every field that can be empty; installing a recipe twice opens the first."""

from __future__ import annotations

import pytest

from campaigns.content.first_texts import first_send_steps
from campaigns.flows.recipes import recipe_install
from campaigns.models import Flow, FlowStep
from campaigns.tests.flowkit import make_store

UNSAFE = "Hi {{ first_name }}, your picks are in your cart: {{ cart_link }}"


def test_the_first_texts_are_those_reached_before_any_other_send():
    steps = [
        FlowStep(position=1, kind="wait"),
        FlowStep(position=2, kind="split", yes_next=4, no_next=3),
        FlowStep(position=3, kind="send", body="no branch"),
        FlowStep(position=4, kind="send", body="yes branch"),
        FlowStep(position=5, kind="send", body="later"),
    ]

    assert [s.position for s in first_send_steps(steps)] == [3, 4]


def change_form_data(response) -> dict[str, object]:
    """What the admin's change form would post back unchanged."""
    data: dict[str, object] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data |= {f"{formset.prefix}-{k}": v for k, v in management.initial.items()}
        forms += formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value
    return data


@pytest.mark.django_db
def test_the_make_live_action_refuses_an_unsafe_first_text_and_names_the_step(admin_client):
    flow = recipe_install(store=make_store(), name="cart_recovery")
    FlowStep.objects.filter(flow=flow, position=1).update(body=UNSAFE)
    safe = recipe_install(store=flow.store, name="checkout_abandon")

    response = admin_client.post(
        "/admin/campaigns/flow/", {"action": "make_live", "_selected_action": [flow.pk, safe.pk]}, follow=True
    )

    page = response.content.decode()
    assert "“Cart recovery” stays draft: Step 1: " in page
    assert "Step 1: it does not say how to opt out: add &quot;Reply STOP to opt out&quot;." in page
    assert "Step 1: first_name can be empty for some customers and has no fallback" in page
    assert "1 flow(s) now live." in page
    flow.refresh_from_db()
    safe.refresh_from_db()
    assert (flow.status, safe.status) == ("draft", "live")


@pytest.mark.django_db
def test_the_flow_page_will_not_save_it_live_with_an_unsafe_first_text(admin_client):
    flow = recipe_install(store=make_store(), name="cart_recovery")
    url = f"/admin/campaigns/flow/{flow.pk}/change/"
    data = change_form_data(admin_client.get(url))
    data |= {"status": "live", "steps-0-body": UNSAFE}

    response = admin_client.post(url, data)

    assert response.status_code == 200
    page = response.content.decode()
    assert '<ul class="errorlist nonform' in page or 'class="errorlist nonform"' in page
    assert "This flow cannot be live while the first text a customer may get falls short" in page
    assert "Step 1: it does not say how to opt out" in page
    assert Flow.objects.get(pk=flow.pk).status == "draft"

    data["steps-0-body"] = 'Hi {{ first_name|default:"there" }}: {{ cart_link }} Reply STOP to opt out.'
    assert admin_client.post(url, data).status_code == 302
    assert Flow.objects.get(pk=flow.pk).status == "live"


@pytest.mark.django_db
def test_installing_an_installed_recipe_opens_it_and_a_copy_is_a_named_draft(admin_client):
    store = make_store()
    first = recipe_install(store=store, name="cart_recovery", live=True)
    url = "/admin/campaigns/flow/install-recipe/"

    again = admin_client.post(url, {"recipe": "cart_recovery", "store": store.pk, "live": "1"}, follow=True)

    assert again.redirect_chain[-1][0] == f"/admin/campaigns/flow/{first.pk}/change/"
    assert "“Cart recovery” is already installed (live): here it is." in again.content.decode()
    assert Flow.objects.filter(store=store).count() == 1
    listing = admin_client.get(url).content.decode()
    assert "Make a draft copy" in listing and f"/admin/campaigns/flow/{first.pk}/change/" in listing

    admin_client.post(url, {"recipe": "cart_recovery", "store": store.pk, "copy": "1", "live": "1"})

    copy = Flow.objects.filter(store=store).exclude(pk=first.pk).get()
    assert (copy.name, copy.slug, copy.status) == ("Cart recovery 2", "cart-recovery-2", "draft")
