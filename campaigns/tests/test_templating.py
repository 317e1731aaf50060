from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.content.templating import MAX_BODY_CHARS, Money, TemplateError, parse, render

CART = ('Still thinking about {{ product_name|default:"this item" }}? '
        "Pick up where you left off: {{ cart_link }}")


def test_it_renders_the_klaviyo_style_example():
    text = render(CART, {"product_name": "Linen Shirt", "cart_link": "https://s.example/l/abc"})
    assert text == "Still thinking about Linen Shirt? Pick up where you left off: https://s.example/l/abc"


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t "])
def test_it_uses_the_fallback_for_missing_empty_and_whitespace_values(value):
    context = {"cart_link": "x"} if value is None else {"product_name": value, "cart_link": "x"}
    assert render(CART, context).startswith("Still thinking about this item?")


def test_a_field_without_fallback_leaves_no_stray_space():
    assert render("Hi {{ first_name }}, your cart is saved.", {}) == "Hi, your cart is saved."
    assert render("Hi {{ first_name }} welcome", {}) == "Hi welcome"
    assert render("Hi {{ first_name }}!", {"first_name": " Maya "}) == "Hi Maya!"


def test_it_collapses_newlines_inside_values():
    assert render("{{ product_name }}.", {"product_name": "Linen\n  Shirt"}) == "Linen Shirt."


def test_it_does_not_escape_html():
    assert render("{{ product_name }}", {"product_name": "Tom & Jerry <3"}) == "Tom & Jerry <3"


def test_case_filters():
    context = {"first_name": "mAYA rose"}
    assert render("{{ first_name|upper }}", context) == "MAYA ROSE"
    assert render("{{ first_name|lower }}", context) == "maya rose"
    assert render("{{ first_name|title }}", context) == "Maya Rose"
    assert render("{{ product_name|title }}", {"product_name": "maya's 3rd pick"}) == "Maya's 3rd Pick"


def test_filters_apply_left_to_right():
    assert render('{{ first_name|default:"friend"|upper }}', {}) == "FRIEND"
    assert render('{{ first_name|title|default:"there" }}', {"first_name": "maya"}) == "Maya"
    assert render("{{ first_name|upper }}", {}) == ""


def test_truncate_uses_three_dots_to_stay_gsm7():
    assert render("{{ product_name|truncate:10 }}", {"product_name": "Organic Cotton Hoodie"}) == "Organic..."
    assert render('{{ product_name|truncate:"40" }}', {"product_name": "Hoodie"}) == "Hoodie"


def test_money_in_the_store_currency():
    assert render("{{ reward_amount }}", {"reward_amount": Money(Decimal("15"), "USD")}) == "$15"
    assert render("{{ reward_amount }}", {"reward_amount": Money(Decimal("12.5"), "GBP")}) == "£12.50"
    assert render('{{ reward_amount|money:"2" }}', {"reward_amount": Money(Decimal("15"), "USD")}) == "$15.00"
    assert render("{{ reward_amount|money }}", {"reward_amount": "1234.5"}, currency="EUR") == "€1,234.50"
    assert render("{{ reward_amount|money }}", {"reward_amount": "20"}, currency="SEK") == "20 SEK"
    assert render("{{ reward_amount|money }}", {"reward_amount": "soon"}) == "soon"
    assert render("{{ reward_amount|money }}", {"reward_amount": "NaN"}) == "NaN"


def test_a_zero_amount_takes_the_fallback():
    context = {"reward_amount": Money(Decimal("0"), "USD")}
    assert render('{{ reward_amount|default:"a reward" }}', context) == "a reward"


def test_single_quotes_and_pipes_inside_arguments():
    assert render("{{ x|default:'a|b }}' }}", {}) == "a|b }}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{% load static %}Hi", "{% at line 1, column 1: templates have no tags"),
        ("{% include 'x.html' %}", "no tags"),
        ("{# hidden #}", "no tags or comments"),
        ("{{ customer.__class__ }}", '"customer.__class__" at line 1, column 1 reaches into an object'),
        ("{{ customer.store.owners }}", "reaches into an object"),
        ("{{ first_name[0] }}", "reaches into an object"),
        ("{{ __import__('os') }}", "reaches into an object"),
        ("{{ FirstName }}", "is not a field name"),
        ("{{ }}", "Empty field"),
        ("Hi {{ first_name", "never closed"),
        ("Hi first_name }}", "closes nothing"),
        ("{{ first_name|safe }}", 'Unknown filter "safe" on first_name'),
        ("{{ first_name|default }}", 'default on first_name needs a fallback text'),
        ("{{ first_name|truncate:0 }}", "truncate on first_name needs a length"),
        ("{{ first_name|truncate:99999 }}", "truncate on first_name needs a length"),
        ("{{ first_name|upper:\"x\" }}", "upper on first_name takes no argument"),
        ("{{ first_name|default:\"x }}", "never closed"),
        ("Line one\nline {{ x.y }}", "line 2, column 6"),
    ],
)
def test_hostile_and_broken_templates_are_rejected_with_clear_errors(body, message):
    with pytest.raises(TemplateError) as error:
        render(body, {"first_name": "Maya"})
    assert message in str(error.value)


def test_huge_templates_are_rejected():
    with pytest.raises(TemplateError, match=f"the limit is {MAX_BODY_CHARS}"):
        parse("a" * (MAX_BODY_CHARS + 1))
    with pytest.raises(TemplateError, match="uses 200 fields; the limit is 30"):
        parse("{{a}}" * 200)


def test_huge_rendered_text_is_rejected():
    with pytest.raises(TemplateError, match="rendered text is .* the limit is 1600"):
        render("{{ a }}" * 10, {"a": "x" * 300})


def test_values_are_capped():
    assert len(render("{{ a }}", {"a": "x" * 5000})) == 300


def test_context_objects_are_only_ever_turned_into_text():
    class Secret:
        def __str__(self) -> str:
            return "shown"

        password = "hidden"

    assert render("{{ thing }}", {"thing": Secret()}) == "shown"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#|:\"' ._abcfirst_nme0123\n")), max_size=60))
def test_any_text_either_renders_or_fails_with_a_template_error(body):
    try:
        render(body, {"first_name": "Maya"})
    except TemplateError as error:
        assert error.message


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=400), st.integers(), st.decimals(allow_nan=False,
                                                                               allow_infinity=False)))
def test_any_value_renders_as_single_line_text(value):
    text = render('{{ first_name|title|truncate:50|default:"there" }}', {"first_name": value})
    assert "\n" not in text and 0 < len(text) <= 50
