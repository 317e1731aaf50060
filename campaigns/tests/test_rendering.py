from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test.utils import override_settings

from campaigns.content import audience, meter
from campaigns.content.fields import CATALOGUE, FIELDS
from campaigns.content.links import CODE_LENGTH
from campaigns.content.rendering import preview_snapshots, render_message, render_messages
from campaigns.content.templating import TemplateError
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.tests.fields_support import NOW, make_customer, make_product, make_store, order
from customers.models import Customer, CustomerPrediction, Event, PredictionRun

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("public_base")]
SHORT = re.compile(r"https://sms\.example\.com/l/([A-Za-z0-9]{10})")

# The seed's message examples, as templates.
CART = "Your cart is saved. Finish checkout: {{ cart_link }}"
BACK = ('It\'s back ✅ {{ product_name|default:"Your pick" }} is in stock again. '
        "Grab it now: {{ product_link }}")
LOYALTY = "You've got {{ reward_amount }} ready to use. Want to apply it today? Redeem: {{ redeem_link }}"
TIP = 'Pro tip for your {{ product_name|default:"order" }}: {{ product_tip|default:"reply TIPS for more" }}'
WIN_BACK = 'New in {{ last_category_bought|default:"the shop" }}: top picks just dropped'


@pytest.fixture
def public_base():
    with override_settings(PUBLIC_BASE_URL="https://sms.example.com"):
        yield


@pytest.fixture
def store():
    return make_store()


def _render(body, customer, snapshot=None, **kwargs):
    return render_message(template_body=body, customer=customer, snapshot=snapshot or {},
                          utm_campaign=kwargs.pop("utm_campaign", "back-in-stock"),
                          utm_content=kwargs.pop("utm_content", "step-1"), **kwargs)


def test_the_back_in_stock_example_renders_with_and_without_a_product(store):
    customer = make_customer(store)
    product = make_product(store, "Trail Runner")
    with_product = _render(BACK, customer, {"product_id": product.pk})
    assert SHORT.sub("<link>", with_product.body) == (
        "It's back ✅ Trail Runner is in stock again. Grab it now: <link>")
    assert [(link.target_url, link.utm_campaign, link.utm_content) for link in with_product.links] == [
        ("https://shop.example.com/p/trail-runner", "back-in-stock", "step-1")]
    without = _render(BACK, customer, {})
    assert without.body == "It's back ✅ Your pick is in stock again. Grab it now:"
    assert without.links == []


def test_the_cart_example_links_the_customers_own_cart(store):
    customer = make_customer(store)
    rendered = _render(CART, customer, {"cart_link": "https://shop.example.com/cart/c-81?restore=1"})
    code = SHORT.search(rendered.body).group(1)
    assert rendered.body == f"Your cart is saved. Finish checkout: https://sms.example.com/l/{code}"
    assert rendered.links[0].code == code
    assert rendered.links[0].target_url == "https://shop.example.com/cart/c-81?restore=1"


def test_the_loyalty_example_shows_money_in_the_store_currency(store):
    customer = make_customer(store, reward_balance=Decimal("15.00"))
    rendered = _render(LOYALTY, customer)
    assert rendered.body.startswith("You've got $15 ready to use.")
    assert rendered.links[0].target_url == "https://shop.example.com/rewards"
    euro_store = make_store("euro", currency="EUR")
    assert _render(LOYALTY, make_customer(euro_store, reward_balance=Decimal("7.5"))).body.startswith(
        "You've got €7.50 ready")


def test_tip_and_win_back_examples_use_the_catalogue(store):
    customer = make_customer(store)
    serum = make_product(store, "Vitamin C Serum", category="Skincare", usage_tip="Use it in the morning.")
    assert _render(TIP, customer, {"product_id": serum.pk}).body == (
        "Pro tip for your Vitamin C Serum: Use it in the morning.")
    assert _render(TIP, customer).body == "Pro tip for your order: reply TIPS for more"
    assert _render(WIN_BACK, customer).body == "New in the shop: top picks just dropped"
    order(customer, serum, at=NOW - timedelta(days=90))
    order(customer, make_product(store, "Wool Socks", category="Socks"), at=NOW - timedelta(days=200))
    assert _render(WIN_BACK, customer).body == "New in Skincare: top picks just dropped"


def test_every_catalogue_field_has_a_value_for_a_full_profile(store):
    customer = make_customer(store, loyalty_status="Gold", reward_balance=Decimal("12.5"), reward_points=1200,
                             preferred_store="Downtown", favorite_categories=["shirts"])
    product = make_product(store, "Linen Shirt")
    order(customer, product)
    run = PredictionRun.objects.create(store=store, started_at=NOW, finished_at=NOW)
    expected = NOW.replace(month=12, day=14, hour=17)
    CustomerPrediction.objects.create(
        customer=customer, store=store, run=run, next_order_at=expected, scored_at=NOW
    )
    snapshot = {"product_id": product.pk, "cart_link": "/cart/c-1", "checkout_link": "/checkout/k-1"}
    body = " | ".join(f"{f.name}={{{{ {f.name} }}}}" for f in CATALOGUE)
    rendered = _render(body, customer, snapshot, offer_code="CART10")
    values = dict(part.split("=", 1) for part in rendered.body.split(" | "))
    assert set(values) == set(FIELDS)
    assert {k: v for k, v in values.items() if not FIELDS[k].is_link} == {
        "first_name": "Maya", "city": "Austin", "store_name": "Juniper & Co", "product_name": "Linen Shirt",
        "category_name": "Shirts", "preferred_category": "Shirts", "last_category_bought": "Shirts",
        "reward_amount": "$12.50", "reward_points": "1,200", "loyalty_status": "Gold",
        "preferred_store": "Downtown", "product_tip": "Wash cold, hang dry.", "offer_code": "CART10",
        "next_order_date": "Dec 14",
    }
    links = {link.code: link.target_url for link in rendered.links}
    targets = {k: links[SHORT.fullmatch(v).group(1)] for k, v in values.items() if FIELDS[k].is_link}
    assert targets == {
        "product_link": "https://shop.example.com/p/linen-shirt",
        "cart_link": "https://shop.example.com/cart/c-1",
        "checkout_link": "https://shop.example.com/checkout/k-1",
        "redeem_link": "https://shop.example.com/rewards",
        "prefs_link": f"https://sms.example.com/prefs/{customer.prefs_token}",
    }


def test_empty_profile_fields_take_their_fallbacks(store):
    customer = make_customer(store, first_name="  ", city="")
    body = 'Hi {{ first_name|default:"there" }} in {{ city|default:"your city" }}'
    assert _render(body, customer).body == "Hi there in your city"


def test_a_trigger_value_overrides_the_catalogue_but_not_the_fixed_fields(store):
    customer = make_customer(store)
    product = make_product(store)
    rendered = _render("{{ product_name }} {{ store_name }}", customer,
                       {"product_id": product.pk, "product_name": "Gift Card", "store_name": "Evil"})
    assert rendered.body == "Gift Card Juniper & Co"


def test_one_link_per_target_within_a_message(store):
    rendered = _render("{{ cart_link }} or {{ cart_link }} https://shop.example.com/cart/c-1",
                       make_customer(store), {"cart_link": "https://shop.example.com/cart/c-1"})
    assert len(rendered.links) == 1
    assert len(set(SHORT.findall(rendered.body))) == 1


def test_links_are_unguessable_and_unique_per_message(store):
    customers = [make_customer(store, f"+1415555010{i}") for i in range(5)]
    rendered = render_messages(template_body=CART, customers=customers,
                               snapshots=[{"cart_link": "https://shop.example.com/cart"}] * 5,
                               utm_campaign="c", utm_content="1")
    codes = [r.links[0].code for r in rendered]
    assert len(set(codes)) == 5
    assert all(len(code) == CODE_LENGTH and code.isalnum() for code in codes)


def test_a_foreign_trigger_link_is_never_shortened(store):
    rendered = _render('{{ cart_link|default:"/cart" }}', make_customer(store),
                       {"cart_link": "https://evil.example.net/phish"})
    assert [link.target_url for link in rendered.links] == ["https://shop.example.com/cart"]


def test_a_link_fallback_page_is_tracked_too(store):
    rendered = _render('Shop: {{ product_link|default:"/collections/new" }}', make_customer(store))
    assert rendered.links[0].target_url == "https://shop.example.com/collections/new"
    assert SHORT.fullmatch(rendered.body.removeprefix("Shop: "))


def test_short_links_count_at_their_real_length(store):
    long_cart = "https://shop.example.com/cart/" + "x" * 200
    rendered = _render(CART, make_customer(store), {"cart_link": long_cart})
    prefix = "Your cart is saved. Finish checkout: https://sms.example.com/l/"
    assert rendered.measure.characters == len(prefix) + CODE_LENGTH


def test_an_unknown_field_refuses_to_render(store):
    with pytest.raises(TemplateError, match="Unknown field frist_name"):
        _render("Hi {{ frist_name }}", make_customer(store))


def test_rendering_many_customers_takes_a_fixed_number_of_queries(store, django_assert_max_num_queries):
    products = [make_product(store, f"Item {i}", category=f"Cat {i % 3}") for i in range(4)]
    for i in range(40):
        customer = make_customer(store, f"+1415555{i:04d}", favorite_categories=["cat 1"])
        order(customer, products[i % 4])
    customers = list(Customer.objects.all())
    snapshots = {c.pk: {"product_id": products[c.pk % 4].pk} for c in customers}
    body = ("{{ first_name }} {{ product_name }} {{ product_tip }} {{ last_category_bought }} "
            "{{ preferred_category }} {{ product_link }}")
    with django_assert_max_num_queries(4):
        rendered = render_messages(template_body=body, customers=customers, snapshots=snapshots,
                                   utm_campaign="c", utm_content="1")
    assert len(rendered) == 40
    assert rendered[0].body.startswith("Maya Item")


def test_rendered_links_reach_the_outbox(store):
    customer = make_customer(store)
    rendered = _render(CART, customer, {"cart_link": "https://shop.example.com/cart/1"})
    draft = MessageDraft(customer=customer, body=rendered.body, idempotency_key="c:1", links=rendered.links)
    [message] = messages_create(drafts=[draft], now=NOW)
    link = message.links.get()
    assert (link.code, link.target_url, link.utm_campaign) == (
        rendered.links[0].code, "https://shop.example.com/cart/1", "back-in-stock")


def test_the_preview_context_is_the_customers_latest_product_event(store):
    customer = make_customer(store)
    shirt, socks = make_product(store, "Linen Shirt"), make_product(store, "Wool Socks")
    Event.objects.create(store=store, customer=customer, type="product_viewed", occurred_at=NOW,
                         received_at=NOW, product=shirt, idempotency_key="v1")
    Event.objects.create(store=store, customer=customer, type="cart_updated", occurred_at=NOW + timedelta(1),
                         received_at=NOW, product=socks, idempotency_key="c1",
                         properties={"cart_url": "https://shop.example.com/cart/c-9"})
    bare = make_customer(store, "+14155550199")
    assert preview_snapshots([customer, bare]) == {
        customer.pk: {"product_id": socks.pk, "cart_link": "https://shop.example.com/cart/c-9"}, bare.pk: {}}


def test_the_audience_meter_shows_the_back_in_stock_text_is_ucs2_across_customers(store):
    product = make_product(store, "Trail Runner")
    make_customer(store, "+14155550101")
    make_customer(store, "+14155550102", first_name="")
    result = audience.audience_meter(template_body=BACK, store=store, customers=Customer.objects.all(),
                                  snapshot={"product_id": product.pk})
    assert result.recipients == 2
    assert result.template.encoding == "UCS-2"
    assert result.ucs2_share == 1.0
    assert (result.min_segments, result.max_segments) == (2, 2)
    assert result.estimated_cost == meter.cost(4, store.price_per_segment)


def test_the_steps_offer_code_wins_over_the_triggers(store):
    customer = make_customer(store)
    body = 'Code: {{ offer_code|default:"none" }}'
    assert _render(body, customer, {"offer_code": "BACK5"}).body == "Code: BACK5"
    assert _render(body, customer, {"offer_code": "BACK5"}, offer_code="CART10").body == "Code: CART10"
    assert _render(body, customer).body == "Code: none"


def test_a_large_audience_is_measured_on_a_sample_and_scaled(store):
    for i in range(12):
        make_customer(store, f"+1415555{i:04d}")
    result = audience.audience_meter(template_body="Hi {{ first_name }}", store=store,
                                  customers=Customer.objects.all(), sample_size=5)
    assert (result.recipients, result.sampled, result.total_segments) == (12, 5, 12)
    assert result.estimated_cost == meter.cost(12, store.price_per_segment)


def test_the_audience_meter_names_the_characters_the_data_brings_and_what_they_cost(store):
    for i, name in enumerate(["Łukasz", "Łucja", "Łeon", "Ana", "Ben"]):
        make_customer(store, f"+141555502{i:02d}", first_name=name)
    body = (
        'Hi {{ first_name|default:"there" }}, our autumn collection is here: warm layers, trail boots and '
        "more. Reply STOP to opt out."
    )
    result = audience.audience_meter(template_body=body, store=store, customers=Customer.objects.all())

    assert result.template.encoding == "GSM-7" and result.ucs2_share == 0.6
    [forcing] = result.forcing
    assert (forcing["char"], forcing["texts"], forcing["where"]) == ("Ł", 3, "first names")
    assert forcing["extra_segments"] == 3
    assert forcing["extra_cost"] == str(meter.cost(3, store.price_per_segment))
