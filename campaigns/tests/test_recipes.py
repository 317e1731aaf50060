from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from campaigns.flows.recipes import RECIPES, recipe_install
from campaigns.models import Flow
from campaigns.tests.flowkit import make_store

pytestmark = pytest.mark.django_db

SEED_NAMES = {
    "cart_recovery",
    "checkout_abandon",
    "back_in_stock",
    "price_drop",
    "post_purchase",
    "replenishment",
    "win_back",
    "loyalty_nudge",
}


def test_all_eight_seed_recipes_install_as_drafts():
    store = make_store()
    assert set(RECIPES) == SEED_NAMES
    for name in sorted(SEED_NAMES):
        flow = recipe_install(store=store, name=name)
        assert flow.status == Flow.Status.DRAFT
        assert flow.steps.exists()
    assert Flow.objects.filter(store=store).count() == 8


def test_cart_recovery_has_the_seeds_copy_and_timings():
    flow = recipe_install(store=make_store(), name="cart_recovery")
    steps = list(flow.steps.order_by("position"))

    assert [(s.kind, s.delay_label()) for s in steps] == [
        ("send", "60 minutes"),
        ("send", "4 hours"),
        ("split", "19 hours"),
        ("send", "at once"),
    ]
    assert steps[0].body == "Your cart is saved. Finish checkout: {{ cart_link }} Reply STOP to opt out."
    assert (
        steps[1].body == "Need help with size or shipping? Reply SIZE or SHIPPING. Checkout: {{ cart_link }}"
    )
    assert steps[2].segment.rules["children"][0]["metric"] == "offer_sensitive"
    assert (steps[3].offer_code, steps[3].body) == (
        "CART10",
        "Take 10% off for 2 hours: {{ offer_code }}. Checkout: {{ cart_link }}",
    )
    assert flow.exit_event_types == ["order_placed"]


def test_the_seeds_other_copy():
    store = make_store()
    body = {name: recipe_install(store=store, name=name).steps.first().body for name in SEED_NAMES}
    assert (
        body["back_in_stock"]
        == "It's back ✅ {{ product_name }} is in stock again. Grab it now: {{ product_link }} "
        "Reply STOP to opt out."
    )
    assert body["loyalty_nudge"] == (
        "You've got {{ reward_amount|default:'a reward' }} ready to use. Want to apply it today? "
        "Redeem: {{ redeem_link }} "
        "Reply STOP to opt out."
    )
    assert body["post_purchase"].startswith("Pro tip for your {{ product_name }}: ")
    assert body["replenishment"].startswith("Running low on {{ product_name }}? Reorder in one tap")
    assert body["win_back"].startswith("New in {{ last_category_bought")
    win_back = Flow.objects.get(store=store, trigger="win_back")
    assert "Reply DEALS, DROPS or RESTOCKS" in win_back.steps.last().body


def test_install_recipe_command_installs_live_on_request(capsys):
    store = make_store("demo")
    call_command("install_recipe", "cart_recovery", "--store", "demo", "--live")
    call_command("install_recipe", "cart_recovery", "--store", "demo")
    call_command("install_recipe", "cart_recovery", "--store", "demo", "--copy", "--live")

    flows = list(Flow.objects.filter(store=store).order_by("id").values_list("name", "slug", "status"))
    assert flows == [
        ("Cart recovery", "cart-recovery", "live"),
        ("Cart recovery 2", "cart-recovery-2", "draft"),
    ]
    out = capsys.readouterr().out
    assert "Installed “Cart recovery” as cart-recovery (live)" in out
    assert "Already installed: “Cart recovery” as cart-recovery (live)" in out


def test_install_recipe_names_an_unknown_store():
    with pytest.raises(CommandError, match="--store"):
        call_command("install_recipe", "cart_recovery", "--store", "nope")


def test_schedules_are_installed_once():
    call_command("setup_schedules")
    call_command("setup_schedules")
    ours = Schedule.objects.filter(func__startswith="campaigns.")
    assert sorted(ours.values_list("func", "schedule_type")) == [
        ("campaigns.tasks.reports_tick_task", Schedule.MINUTES),
        ("campaigns.tick.tick_task", Schedule.MINUTES),
    ]


def test_tick_command_takes_a_time(capsys):
    call_command("tick", "--now", "2026-11-26T11:05:00Z")
    assert "tick at 2026-11-26T11:05:00+00:00: 0 runs advanced" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--now"):
        call_command("tick", "--now", "tomorrow")


@pytest.mark.parametrize("name", sorted(SEED_NAMES))
def test_each_recipes_first_text_says_how_to_opt_out(name):
    from campaigns.content.checks import check_template

    first = next(step for step in RECIPES[name].steps if step["kind"] == "send")

    assert "no_opt_out" not in [c.code for c in check_template(first["body"], is_first_in_flow=True)]
