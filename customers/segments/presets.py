"""Every segment the playbook names, as presets a store gets as editable copies.

Thresholds are the playbook's where it gives them (24 hours in the cart, 30 days for SMS clicks;
the engagement tiers use the store's own hot and cold days, and their names say them);
elsewhere they are the usual starting points (top 10 % by LTV, 3+ orders, half of orders with a
discount) and a store edits its copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from customers.engagement import TIERS, tier_descriptions, tier_labels
from customers.models import Segment, Store
from customers.segments.schema import check


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    family: str
    description: str
    rules: dict


def _all(*children: dict) -> dict:
    return {"type": "group", "match": "all", "children": list(children)}


def _any(*children: dict) -> dict:
    return {"type": "group", "match": "any", "children": list(children)}


def _last(amount: int, unit: str = "days") -> dict:
    return {"last": amount, "unit": unit}


PRESETS: tuple[Preset, ...] = (
    Preset(
        "added-to-cart-24h",
        "Added to cart in the last 24 hours",
        "High intent",
        "Put something in the cart in the last 24 hours.",
        _all({"type": "event", "event": "cart_updated", "window": _last(24, "hours")}),
    ),
    Preset(
        "checkout-not-completed",
        "Started checkout but didn't complete",
        "High intent",
        "Started checkout in the last 7 days and placed no order since.",
        _all(
            {
                "type": "sequence",
                "event": "checkout_started",
                "window": _last(7),
                "then_not": {"event": "order_placed"},
            }
        ),
    ),
    Preset(
        "viewed-same-product-repeatedly",
        "Viewed the same product repeatedly",
        "High intent",
        "Viewed one product at least 3 times in the last 7 days.",
        _all(
            {
                "type": "repetition",
                "event": "product_viewed",
                "per": "product",
                "at_least": 3,
                "window": _last(7),
            }
        ),
    ),
    Preset(
        "clicked-sms-30d",
        "Clicked an SMS link in the last 30 days",
        "High intent",
        "Clicked a link in one of our texts in the last 30 days.",
        _all({"type": "event", "event": "sms_clicked", "window": _last(30)}),
    ),
    Preset(
        "back-in-stock-requested",
        "Requested a back-in-stock alert",
        "High intent",
        "Asked to hear when a product is back, in the last 90 days.",
        _all({"type": "event", "event": "back_in_stock_requested", "window": _last(90)}),
    ),
    Preset(
        "vip-top-ltv",
        "VIP: top 10 % by lifetime value",
        "Value",
        "The store's top 10 % of customers by total spent.",
        _all({"type": "rank", "metric": "total_spent", "top_percent": 10}),
    ),
    Preset(
        "high-aov",
        "High average order value",
        "Value",
        "The store's top 10 % of customers by average order value.",
        _all({"type": "rank", "metric": "average_order_value", "top_percent": 10}),
    ),
    Preset(
        "low-margin-buyers",
        "Low-margin category buyers",
        "Value",
        "Ordered a low-margin product in the last 365 days.",
        _all(
            {
                "type": "event",
                "event": "order_placed",
                "filters": [{"property": "margin_class", "op": "eq", "value": "low"}],
                "window": _last(365),
            }
        ),
    ),
    Preset(
        "frequent-repeat-buyers",
        "Frequent repeat buyers",
        "Value",
        "Placed 3 or more orders.",
        _all({"type": "metric", "metric": "order_count", "op": "gte", "value": 3}),
    ),
    Preset(
        "prefers-deals",
        "Replied DEALS",
        "Preference",
        "Chose Deals as a topic.",
        _all({"type": "preference", "kind": "topic", "value": "deals", "op": "has"}),
    ),
    Preset(
        "prefers-drops",
        "Replied DROPS",
        "Preference",
        "Chose Drops (new arrivals) as a topic.",
        _all({"type": "preference", "kind": "topic", "value": "drops", "op": "has"}),
    ),
    Preset(
        "prefers-restocks",
        "Replied RESTOCKS",
        "Preference",
        "Chose Restocks as a topic.",
        _all({"type": "preference", "kind": "topic", "value": "restocks", "op": "has"}),
    ),
    Preset(
        "category-browsers",
        "Category browsing pattern",
        "Preference",
        "Viewed products of one category at least 3 times in the last 30 days.",
        _all(
            {
                "type": "repetition",
                "event": "product_viewed",
                "per": "category",
                "at_least": 3,
                "window": _last(30),
            }
        ),
    ),
    Preset(
        "quiz-or-onboarding-answer",
        "Answered the quiz or onboarding",
        "Preference",
        "Has a quiz answer on the profile, or set preferences during onboarding.",
        _any(
            {"type": "profile", "field": "attributes.quiz_goal", "op": "exists"},
            {"type": "profile", "field": "attributes.quiz_answer", "op": "exists"},
            {"type": "event", "event": "preference_set"},
        ),
    ),
    Preset(
        "loyalty-members",
        "Loyalty profile set",
        "Preference",
        "Has a loyalty status on the profile.",
        _all({"type": "loyalty", "op": "is_set"}),
    ),
    *(
        Preset(
            f"engagement-{tier}",
            f"{tier.capitalize()} (the store's engagement windows)",
            "Engagement",
            "By the last SMS click, with the store's hot and cold days.",
            _all({"type": "metric", "metric": "engagement_tier", "op": "eq", "value": tier}),
        )
        for tier in TIERS
    ),
    Preset(
        "offer-sensitive",
        "Offer-sensitive",
        "Engagement",
        "An offer lifts them by 20+ points by the store's offer tests; without them, half or more of "
        "their orders used a code (used by cart recovery's offer step).",
        _all({"type": "metric", "metric": "offer_sensitive", "op": "eq", "value": "yes"}),
    ),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}

# Presets whose live count exceeded a second at a million customers (docs/benchmarks.md, segments):
# their copies are served from membership rows.
STORED_PRESETS = frozenset(
    {
        "checkout-not-completed",
        "viewed-same-product-repeatedly",
        "low-margin-buyers",
        "category-browsers",
        "quiz-or-onboarding-answer",
    }
)

for _preset in PRESETS:
    check(_preset.rules)


def presets_install(*, store: Store) -> list[Segment]:
    """Create the store's copy of each preset it does not have yet; edited copies are left alone."""
    with transaction.atomic():
        have = set(Segment.objects.filter(store=store).exclude(preset="").values_list("preset", flat=True))
        taken = set(Segment.objects.filter(store=store).values_list("slug", flat=True))
        created = [
            Segment(
                store=store,
                name=_named(store, preset)[0],
                slug=_free_slug(preset.key, taken),
                description=_named(store, preset)[1],
                rules=preset.rules,
                preset=preset.key,
                stored=preset.key in STORED_PRESETS,
            )
            for preset in PRESETS
            if preset.key not in have
        ]
        return Segment.objects.bulk_create(created)


def _named(store: Store, preset: Preset) -> tuple[str, str]:
    """A preset's name and description; the engagement tiers' say the store's own windows."""
    tier = preset.key.removeprefix("engagement-")
    if tier in TIERS:
        return tier_labels(store)[tier], tier_descriptions(store)[tier]
    return preset.name, preset.description


def engagement_presets_rename(*, store: Store) -> int:
    """After the store's windows change, its engagement tiers' copies say the new ones (a copy
    whose name was edited keeps it)."""
    renamed = 0
    for segment in Segment.objects.filter(store=store, preset__in=[f"engagement-{t}" for t in TIERS]):
        name, description = _named(store, PRESETS_BY_KEY[segment.preset])
        if segment.name != name and segment.name.split(":")[0] in {t.capitalize() for t in TIERS}:
            renamed += Segment.objects.filter(pk=segment.pk).update(name=name, description=description)
    return renamed


def _free_slug(slug: str, taken: set[str]) -> str:
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    taken.add(candidate)
    return candidate
