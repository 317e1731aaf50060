"""The seed's eight flows, ready to install in one click with their copy and timings."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from campaigns.content.checks import text_clean
from campaigns.flows.going_live import flow_live_problems
from campaigns.models import Flow, FlowStep, Offer
from customers.connections.discounts import code_shop
from customers.connections.models import ShopConnection
from customers.models import Segment, Store

OFFER_SENSITIVE = {
    "slug": "offer-sensitive",
    "name": "Offer-sensitive",
    "description": "An offer lifts them by 20+ points by the store's offer tests; without them, half or "
    "more of their orders used a code.",
    "rules": {
        "type": "group",
        "match": "all",
        "children": [{"type": "metric", "metric": "offer_sensitive", "op": "eq", "value": "yes"}],
    },
}


@dataclass
class Recipe:
    name: str
    title: str
    description: str
    flow: dict
    steps: list[dict] = field(default_factory=list)


def _send(body: str, value: int = 0, unit: str = "minutes", **extra) -> dict:
    return {"kind": "send", "body": body, "delay_value": value, "delay_unit": unit, **extra}


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "cart_recovery",
            "Cart recovery",
            "Three texts after a cart is left; the cart's order ends it. The offer goes to offer-sensitive "
            "customers only.",
            {
                "trigger": "event",
                "event_type": "cart_updated",
                "exit_events": "order_placed",
                "reentry_days": 7,
                "max_lateness_minutes": 60,
                "priority": 90,
            },
            [
                _send("Your cart is saved. Finish checkout: {{ cart_link }} Reply STOP to opt out.", 60),
                _send(
                    "Need help with size or shipping? Reply SIZE or SHIPPING. Checkout: {{ cart_link }}",
                    4,
                    "hours",
                ),
                {"kind": "split", "segment": "offer-sensitive", "delay_value": 19, "delay_unit": "hours"},
                _send(
                    "Take 10% off for 2 hours: {{ offer_code }}. Checkout: {{ cart_link }}",
                    offer_code="CART10",
                ),
            ],
        ),
        Recipe(
            "checkout_abandon",
            "Checkout abandon",
            "A started checkout with no order: one reminder after 45 minutes, one the next day.",
            {
                "trigger": "event",
                "event_type": "checkout_started",
                "exit_events": "order_placed",
                "reentry_days": 7,
                "max_lateness_minutes": 60,
                "priority": 95,
            },
            [
                _send(
                    "You're one step away. Complete your order: {{ checkout_link }} Reply STOP to opt out.",
                    45,
                ),
                _send("Still want it? Your checkout is waiting: {{ checkout_link }}", 1, "days"),
            ],
        ),
        Recipe(
            "back_in_stock",
            "Back in stock",
            "Everyone who asked for an alert in the last 30 days, the moment stock comes back.",
            {"trigger": "back_in_stock", "lookback_days": 30, "reentry_days": 1, "priority": 80},
            [
                _send(
                    "It's back ✅ {{ product_name }} is in stock again. Grab it now: {{ product_link }} "
                    "Reply STOP to opt out."
                )
            ],
        ),
        Recipe(
            "price_drop",
            "Price drop",
            "A price falls by 10 % or more: those who viewed or carted it in the last 14 days.",
            {
                "trigger": "price_drop",
                "price_drop_percent": 10,
                "lookback_days": 14,
                "reentry_days": 7,
                "priority": 60,
            },
            [
                _send(
                    "Good news: {{ product_name }} just dropped in price. See it: {{ product_link }} "
                    "Reply STOP to opt out.",
                    window_start="10:00",
                    window_end="19:00",
                )
            ],
        ),
        Recipe(
            "post_purchase",
            "Post-purchase tip",
            "Three days after delivery, a tip for what they bought.",
            {
                "trigger": "post_purchase",
                "days_after": 3,
                "reentry_days": 14,
                "max_lateness_minutes": 1440,
                "priority": 40,
            },
            [
                _send(
                    'Pro tip for your {{ product_name }}: {{ product_tip|default:"see how others use it" }} '
                    "{{ product_link }} Reply STOP to opt out.",
                    window_start="10:00",
                    window_end="19:00",
                )
            ],
        ),
        Recipe(
            "replenishment",
            "Replenishment",
            "When a consumable should be running low: its learned reorder window, 30 days until learned.",
            {
                "trigger": "replenishment",
                "days_after": 30,
                "reentry_days": 14,
                "max_lateness_minutes": 1440,
                "exit_events": "order_placed",
                "priority": 70,
            },
            [
                _send(
                    "Running low on {{ product_name }}? Reorder in one tap: {{ product_link }} "
                    "Reply STOP to opt out.",
                    window_start="10:00",
                    window_end="19:00",
                )
            ],
        ),
        Recipe(
            "win_back",
            "Win-back",
            "No order for twice the customer's own gap between orders: new picks, then a preference "
            "question instead of a bigger discount.",
            {
                "trigger": "win_back",
                "winback_multiplier": 2,
                "winback_default_gap_days": 45,
                "exit_events": "order_placed",
                "reentry_days": 90,
                "max_lateness_minutes": 1440,
                "priority": 30,
            },
            [
                _send(
                    'New in {{ last_category_bought|default:"the shop" }}: top picks just dropped. '
                    "Reply STOP to opt out.",
                    window_start="10:00",
                    window_end="19:00",
                ),
                _send(
                    "Want fewer texts, or different ones? Reply DEALS, DROPS or RESTOCKS, or pick here: "
                    "{{ prefs_link }}",
                    5,
                    "days",
                    window_start="10:00",
                    window_end="19:00",
                ),
            ],
        ),
        Recipe(
            "loyalty_nudge",
            "Loyalty nudge",
            "When the reward balance crosses $10 upward.",
            {"trigger": "reward_threshold", "reward_threshold": 10, "reentry_days": 30, "priority": 50},
            [
                _send(
                    "You've got {{ reward_amount|default:'a reward' }} ready to use. Want to apply it today? "
                    "Redeem: {{ redeem_link }} Reply STOP to opt out.",
                    window_start="10:00",
                    window_end="19:00",
                )
            ],
        ),
    ]
}


def segment_offer_sensitive(*, store: Store) -> Segment:
    segment, _ = Segment.objects.get_or_create(
        store=store,
        slug=OFFER_SENSITIVE["slug"],
        defaults={k: OFFER_SENSITIVE[k] for k in ("name", "description", "rules")},
    )
    return segment


def recipe_offer(*, store: Store) -> Offer:
    """The recipes' "10% for 2 hours" as unique single-use codes created in the connected shop."""
    offer, _ = Offer.objects.get_or_create(
        store=store,
        name="Cart recovery: 10% for 2 hours",
        defaults={"source": Offer.Source.SHOP, "value": 10, "expires_hours": 2, "code_prefix": "CART"},
    )
    return offer


def _shop_adapted(store: Store, recipe: Recipe) -> tuple[dict, list[dict]]:
    """A connected shop's version of the recipe: Shopify tells a cart only once its checkout has the
    buyer's number, so its cart flows start at the checkout; a shop that creates codes gives each
    recipient their own code instead of the shared one."""
    flow, steps = dict(recipe.flow), [dict(spec) for spec in recipe.steps]
    shopify = ShopConnection.objects.filter(store=store, platform=ShopConnection.Platform.SHOPIFY).exists()
    if shopify and flow.get("event_type") == "cart_updated":
        flow["event_type"] = "checkout_started"
    if code_shop(store) is not None:
        for spec in steps:
            if spec.get("offer_code"):
                spec.update(offer=recipe_offer(store=store), offer_code="")
    return flow, steps


def unique_flow_slug(store: Store, base: str) -> str:
    taken = set(Flow.objects.filter(store=store, slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def recipe_flows(name: str) -> Q:
    """Flows installed from this recipe: its slug, or a copy's (cart-recovery-2)."""
    return Q(slug__regex=rf"^{name.replace('_', '-')}(-[0-9]+)?$")


def recipe_installed(*, store: Store, name: str) -> Flow | None:
    """The store's flow installed from this recipe (its first, if copies were made)."""
    return Flow.objects.filter(recipe_flows(name), store=store).order_by("pk").first()


def recipe_install(*, store: Store, name: str, live: bool = False) -> Flow:
    """Installs a recipe as a new flow (a draft unless `live`); installing it again makes a copy
    named apart ("Cart recovery 2"). The admin opens the installed flow instead of asking this."""
    recipe = RECIPES[name]
    with transaction.atomic():
        flow_fields, specs = _shop_adapted(store, recipe)
        slug = unique_flow_slug(store, name.replace("_", "-"))
        suffix = slug.removeprefix(name.replace("_", "-")).replace("-", " ")
        flow = Flow.objects.create(
            store=store,
            name=f"{recipe.title}{suffix}",
            slug=slug,
            status=Flow.Status.LIVE if live else Flow.Status.DRAFT,
            **flow_fields,
        )
        for position, spec in enumerate(specs, start=1):
            spec = dict(spec)
            if spec.get("segment"):
                spec["segment"] = segment_offer_sensitive(store=store)
            step = FlowStep(flow=flow, position=position, **spec)
            step.full_clean(validate_unique=False)
            text_clean(step)
            step.save()
        if live:
            problems = flow_live_problems(flow)
            if problems:
                raise ValidationError(problems)
    return flow


def recipe_live(*, store: Store, name: str) -> Flow:
    """The store's flow from this recipe (the demo store has cart recovery live already), else
    the recipe installed live."""
    return Flow.objects.filter(store=store, slug=name.replace("_", "-")).first() or recipe_install(
        store=store, name=name, live=True
    )
