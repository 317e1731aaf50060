from __future__ import annotations

import pytest

from campaigns.content.checks import check_template, nearest_field
from campaigns.tests.fields_support import make_store


def _codes(checks, level=None):
    return [(c.code, c.field) for c in checks if level is None or c.level == level]


def test_a_clean_template_has_no_checks():
    assert check_template("Your cart is saved. Finish checkout: {{ cart_link|default:\"/cart\" }}") == []


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("frist_name", "first_name"), ("product", "product_name"), ("productname", "product_name"),
     ("cart_url", "cart_link"), ("reward", "reward_amount"), ("zzz", None)],
)
def test_the_nearest_field_is_suggested(typed, suggested):
    assert nearest_field(typed) == suggested


def test_an_unknown_field_is_an_error_naming_it_and_the_nearest_field():
    [check] = check_template("Still thinking about {{ prodct_name|default:\"it\" }}?")
    assert (check.level, check.code, check.field) == ("error", "unknown_field", "prodct_name")
    assert check.message == "Unknown field prodct_name. Did you mean product_name?"


def test_a_syntax_error_is_an_error():
    [check] = check_template("Hi {{ first_name")
    assert (check.level, check.code) == ("error", "syntax")
    assert "never closed" in check.message


def test_a_field_that_can_be_empty_without_fallback_is_a_warning():
    checks = check_template("Hi {{ first_name }}, {{ store_name }} misses you")
    assert _codes(checks) == [("no_fallback", "first_name")]
    assert checks[0].level == "warning"
    assert 'first_name|default:"..."' in checks[0].message


def test_an_empty_link_field_without_fallback_is_a_warning():
    assert _codes(check_template("Checkout: {{ cart_link }}")) == [("no_fallback", "cart_link")]


def test_more_than_one_link_is_a_warning():
    checks = check_template('{{ cart_link|default:"/cart" }} or {{ product_link|default:"/shop" }}')
    assert ("many_links", "body") in _codes(checks, "warning")
    assert _codes(check_template('{{ cart_link|default:"/c" }} {{ cart_link|default:"/c" }}')) == []


@pytest.mark.django_db
def test_a_bare_homepage_link_where_a_cart_link_exists_is_a_hint():
    store = make_store()
    body = "Your cart is saved. Finish checkout: https://shop.example.com/"
    assert ("homepage_link", "body") in _codes(check_template(body, store=store), "hint")
    [hint] = check_template("Back soon: https://shop.example.com", store=store,
                            available_fields=["cart_link", "product_name"])
    assert hint.message == "This links to the homepage; link straight to the item with cart_link."
    assert check_template("New arrivals: https://shop.example.com/", store=store) == []
    assert check_template("Sale: https://shop.example.com/", store=store, available_fields=["city"]) == []


@pytest.mark.django_db
def test_a_foreign_link_is_an_error():
    [check] = check_template("Sale: https://evil.example.net/sale", store=make_store())
    assert (check.level, check.code) == ("error", "foreign_link")


def test_a_first_flow_message_without_opt_out_wording_is_a_warning():
    body = "Welcome to Juniper texts!"
    assert _codes(check_template(body, is_first_in_flow=True)) == [("no_opt_out", "body")]
    assert check_template(body, is_first_in_flow=False) == []
    assert check_template(body + " Reply STOP to opt out.", is_first_in_flow=True) == []
    assert check_template(body + " Text unsubscribe anytime.", is_first_in_flow=True) == []


def test_characters_that_force_ucs2_get_a_replacement_hint():
    [hint] = check_template("It\u2019s back \u2014 grab it")
    assert hint.code == "ucs2_fixable"
    assert "\u2019 → '" in hint.message and "\u2014 → -" in hint.message
    assert check_template("It's back ✅ grab it") == []


def test_creepy_wording_is_a_warning():
    checks = check_template("We saw you looked at this 7 times")
    assert {c.code for c in checks} == {"creep"}
    assert all(c.level == "warning" for c in checks)
