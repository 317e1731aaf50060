"""Segments saved as "Offer-sensitive" with the code-share rule keep meaning it, and say so."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from customers.models import Segment
from customers.segments.presets import PRESETS_BY_KEY
from customers.tests.stores import store_make

pytestmark = pytest.mark.django_db
migration = importlib.import_module("customers.migrations.0020_offer_sensitive_code_share_label")
SHARE = {"type": "metric", "metric": "discount_order_share", "op": "gte", "value": 0.5}
ORDERED = {"type": "metric", "metric": "order_count", "op": "gte", "value": 1}


def group(*children):
    return {"type": "group", "match": "all", "children": list(children)}


def test_old_code_share_segments_are_labelled_and_keep_their_rules():
    store = store_make("labels")
    name = "Offer-sensitive"
    recipe = Segment.objects.create(store=store, name=name, slug="offer-sensitive", rules=group(SHARE))
    preset = Segment.objects.create(
        store=store, name="Offer-sensitive", slug="offer-sensitive-2", rules=group(ORDERED, SHARE),
        preset="offer-sensitive",
    )  # fmt: skip
    learned = Segment.objects.create(
        store=store, name=name, slug="offer-sensitive-3", rules=PRESETS_BY_KEY["offer-sensitive"].rules
    )
    edited = Segment.objects.create(
        store=store, name="Offer-sensitive", slug="mine", rules=group(SHARE, {**ORDERED, "value": 3})
    )

    migration.relabel(apps, None)

    for segment in (recipe, preset):
        segment.refresh_from_db()
        assert segment.name == "Offer-sensitive (code share)"
        assert segment.description.startswith("Half or more of their orders used a discount code")
    assert recipe.rules == group(SHARE) and preset.rules == group(ORDERED, SHARE)
    learned.refresh_from_db()
    assert learned.name == "Offer-sensitive"
    edited.refresh_from_db()
    assert edited.name == "Offer-sensitive (code share)"  # its own order minimum, the same code-share rule

    migration.unlabel(apps, None)
    recipe.refresh_from_db()
    assert recipe.name == "Offer-sensitive"
