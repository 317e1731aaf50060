from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from campaigns.flows.io import FlowImportError, flow_export, flow_import
from campaigns.flows.recipes import recipe_install
from campaigns.models import Flow, Offer
from campaigns.tests.flowkit import make_product, make_store
from customers.models import Segment

pytestmark = pytest.mark.django_db


def test_a_flow_exported_from_one_store_imports_into_another_as_a_draft():
    source, target = make_store("one"), make_store("two")
    flow = recipe_install(store=source, name="cart_recovery", live=True)
    flow.filters.create(property="total", op="gte", value="50")

    copy = flow_import(store=target, data=json.loads(json.dumps(flow_export(flow=flow))))

    assert (copy.store, copy.status, copy.slug, copy.event_type) == (
        target,
        "draft",
        "cart-recovery",
        "cart_updated",
    )
    assert [(s.position, s.kind, s.delay_label(), s.body) for s in copy.steps.all()] == [
        (s.position, s.kind, s.delay_label(), s.body) for s in flow.steps.all()
    ]
    split = copy.steps.get(kind="split")
    assert split.segment.store == target and split.segment.slug == "offer-sensitive"
    assert Segment.objects.filter(store=target).count() == 1
    assert [str(f) for f in copy.filters.all()] == ["total ≥ 50"]


def test_import_names_the_bad_field_and_stores_nothing():
    store = make_store()
    data = flow_export(flow=recipe_install(store=make_store("src"), name="price_drop"))
    data["steps"][0]["delay_unit"] = "fortnights"

    with pytest.raises(FlowImportError) as error:
        flow_import(store=store, data=data)

    assert error.value.field == "steps[0].delay_unit"
    assert not Flow.objects.filter(store=store).exists()


def test_a_copied_step_keeps_its_best_hour_wait_and_its_unique_code_offer():
    source, target = make_store("one"), make_store("two")
    flow = recipe_install(store=source, name="cart_recovery")
    step = flow.steps.get(position=1)
    step.best_hour_within = 12
    step.offer = Offer.objects.create(store=source, name="Cart 15%", value=15, expires_hours=4)
    step.save()

    copy = flow_import(store=target, data=json.loads(json.dumps(flow_export(flow=flow))))
    again = flow_import(store=target, data=flow_export(flow=flow))

    copied = copy.steps.get(position=1)
    assert copied.best_hour_within == 12
    assert (copied.offer.store, copied.offer.name, copied.offer.value, copied.offer.expires_hours) == (
        target,
        "Cart 15%",
        15,
        4,
    )
    assert again.steps.get(position=1).offer == copied.offer


def test_import_names_a_bad_offer_and_a_bad_best_hour():
    store = make_store()
    data = flow_export(flow=recipe_install(store=make_store("src"), name="cart_recovery"))
    data["steps"][0]["offer"] = {"name": "Too much", "value_type": "percentage", "value": "150"}
    with pytest.raises(FlowImportError) as error:
        flow_import(store=store, data=data)
    assert error.value.field == "steps[0].offer.value"

    data["steps"][0]["offer"] = None
    data["steps"][0]["best_hour_within"] = 100
    with pytest.raises(FlowImportError) as error:
        flow_import(store=store, data=data)
    assert error.value.field == "steps[0].best_hour_within"
    assert not Flow.objects.filter(store=store).exists() and not Offer.objects.filter(store=store).exists()


def test_import_needs_the_product_it_names():
    source, target = make_store("src"), make_store("dst")
    flow = recipe_install(store=source, name="post_purchase")
    flow.product = make_product(source, "kettle")
    flow.save()

    with pytest.raises(FlowImportError, match="product"):
        flow_import(store=target, data=flow_export(flow=flow))
    make_product(target, "kettle")
    assert flow_import(store=target, data=flow_export(flow=flow)).product.external_id == "kettle"


def test_export_and_import_commands(tmp_path, capsys):
    recipe_install(store=make_store("one"), name="win_back")
    target = make_store("two")
    path = tmp_path / "flow.json"

    call_command("export_flow", "win-back", "--store", "one", "-o", str(path))
    call_command("import_flow", str(path), "--store", "two")

    assert Flow.objects.get(store=target).steps.count() == 2
    assert "Imported “Win-back” as win-back (draft) into two" in capsys.readouterr().out
    path.write_text("{not json")
    with pytest.raises(CommandError, match="file"):
        call_command("import_flow", str(path), "--store", "two")


def test_a_flow_import_refuses_a_segment_rule_out_of_range():
    store = make_store()
    too_long = {"type": "event", "event": "cart_updated", "window": {"last": 10**30}}
    data = {
        "format": "smsmarketing.flow/1",
        "name": "Imported",
        "entry_segment": {"slug": "huge", "rules": {"type": "group", "match": "all", "children": [too_long]}},
    }
    with pytest.raises(FlowImportError) as error:
        flow_import(store=store, data=data)
    assert error.value.field == "entry_segment.rules.children[0].window.last"
    assert not Segment.objects.filter(slug="huge").exists()
