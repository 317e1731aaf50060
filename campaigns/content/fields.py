"""The field catalogue: every name a template may use, where its value comes from, an example.

Sources:
- customer: the subscriber's profile;
- trigger: the context snapshot the triggering event captured (a flow run's or the preview's);
- catalogue: looked up from the store's products, categories and orders;
- store: the store's settings;
- step: set on the flow step or campaign;
- prediction: the customer's scores from the store's latest prediction run.
`can_be_empty` fields need a fallback (`{{ first_name|default:"there" }}`): the template checks
warn when one has none. Link fields are replaced by a tracked short link in every text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    source: str
    description: str
    example: str
    can_be_empty: bool = True
    is_link: bool = False
    is_money: bool = False


CATALOGUE: tuple[Field, ...] = (
    Field("first_name", "customer", "The subscriber's first name.", "Maya"),
    Field("city", "customer", "The subscriber's city.", "Austin"),
    Field("store_name", "store", "The store's brand name.", "Juniper & Co", can_be_empty=False),
    Field("product_name", "trigger",
          "The browsed, carted or last purchased product, whichever the trigger gives.", "Linen Shirt"),
    Field("product_link", "trigger", "That product's page.", "https://shop.example.com/p/linen-shirt",
          is_link=True),
    Field("category_name", "trigger", "The category of the trigger's product.", "Shirts"),
    Field("preferred_category", "customer", "The first category the subscriber chose as a favourite.",
          "Outdoor"),
    Field("last_category_bought", "catalogue", "The category of the subscriber's latest ordered product.",
          "Skincare"),
    Field("cart_link", "trigger", "The subscriber's own cart, restored.", "https://shop.example.com/cart/c-81",
          is_link=True),
    Field("checkout_link", "trigger", "The checkout the subscriber started.",
          "https://shop.example.com/checkout/k-81", is_link=True),
    Field("reward_amount", "customer", "Reward balance in the store's currency; empty when zero.", "$15",
          is_money=True),
    Field("reward_points", "customer", "Loyalty points; empty when zero.", "1,200"),
    Field("loyalty_status", "customer", "Loyalty tier.", "Gold"),
    Field("preferred_store", "customer", "The subscriber's preferred shop location.", "Downtown"),
    Field("product_tip", "trigger",
          "The trigger's product usage tip (from the product when the trigger gives none).",
          "Wash cold, hang dry."),
    Field("next_order_date", "prediction",
          "When the subscriber is expected to order next (the store's prediction), their time; "
          "empty before any.", "Dec 14"),
    Field("offer_code", "step", "The discount code set on the flow step or campaign.", "CART10"),
    Field("redeem_link", "store", "The store's rewards page; empty when the store has none.",
          "https://shop.example.com/rewards", is_link=True),
    Field("prefs_link", "customer", "The subscriber's own preference page.",
          "https://sms.example.com/prefs/Xy3...", can_be_empty=False, is_link=True),
)

FIELDS: dict[str, Field] = {f.name: f for f in CATALOGUE}
LINK_FIELDS = frozenset(f.name for f in CATALOGUE if f.is_link)
PRODUCT_LINK_FIELDS = frozenset({"product_link", "cart_link", "checkout_link"})
# Filled from the event that started a flow run: a broadcast has no such event.
TRIGGER_FIELDS = frozenset(f.name for f in CATALOGUE if f.source == "trigger")


def example_context() -> dict[str, object]:
    """Each field at its example value, for measuring a template before any audience exists."""
    return {f.name: f.example for f in CATALOGUE}


def field_chips() -> list[tuple[Field, bool]]:
    """Each field for a picker, with whether only a flow's trigger fills it."""
    return [(f, f.name in TRIGGER_FIELDS) for f in CATALOGUE]
