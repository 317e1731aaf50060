from __future__ import annotations

import pytest

from campaigns.content import creep
from campaigns.models.templates import CreepTerm
from campaigns.tests.fields_support import make_store

SAFE = [
    "Your cart is saved. Finish checkout: {{ cart_link }}",
    "Need help with size or shipping? Reply SIZE or SHIPPING. Checkout: {{ cart_link }}",
    "Take 10% off for 2 hours: CART10. Checkout: {{ cart_link }}",
    "It's back ✅ {{ product_name }} is in stock again. Grab it now: {{ product_link }}",
    "You've got $15 ready to use. Want to apply it today? Redeem: {{ redeem_link }}",
    "You've got {{ reward_amount }} ready to use. Want to apply it today? Redeem: {{ redeem_link }}",
    "Running low on {{ product_name }}? Reorder in one tap: {{ product_link }}",
    "Pro tip for your {{ product_name }}: {{ product_tip }}",
    "New in {{ last_category_bought }}: top picks just dropped",
    "Sale ends at 9pm tonight. Shop: {{ product_link }}",
    "Price drop on {{ product_name }}: now $38. {{ product_link }}",
]

AVOID = [
    ("We saw you looked at this 7 times. Still interested?", {"We saw", "you looked at", "7 times"}),
    ("You viewed the Linen Shirt at 2:14am last night", {"You viewed", "at 2:14am"}),
    ("You've browsed our jackets three times this week", {"three times"}),
    ("We noticed you were on the site 5 minutes ago", {"We noticed", "5 minutes ago"}),
    ("Pregnant? Our maternity line is here", {"Pregnant"}),
    ("Struggling with debt? Treat yourself anyway", {"debt"}),
    ("Your anxiety meds are running low", {"anxiety", "meds"}),
    ("For your faith journey: new Ramadan picks", {"Ramadan"}),
    ("Proud and gay? Pride collection is live", {"gay"}),
    ("Celebrate your heritage, Latina queen", {"your heritage", "Latina"}),
]


@pytest.mark.parametrize("text", SAFE)
def test_the_seed_safe_examples_pass_clean(text):
    assert creep.check(text) == []


@pytest.mark.parametrize(("text", "phrases"), AVOID)
def test_the_avoid_examples_are_flagged_finding_by_finding(text, phrases):
    findings = creep.check(text)
    assert phrases <= {f.phrase for f in findings}
    assert all(f.explanation and f.suggestion for f in findings)


def test_each_finding_names_its_category_and_place():
    text = "We saw you looked at this 7 times. Pregnant?"
    findings = creep.check(text)
    assert [(f.category, f.phrase, text[f.start : f.end]) for f in findings] == [
        ("behaviour", "We saw", "We saw"),
        ("behaviour", "you looked at", "you looked at"),
        ("behaviour", "7 times", "7 times"),
        ("pregnancy", "Pregnant", "Pregnant"),
    ]
    assert findings[0].label == "Hyper-specific behaviour"


def test_words_are_matched_whole_not_inside_other_words():
    assert creep.check("Our broken-in denim, debtless fun, and a templated gift") == []


def test_curly_apostrophes_are_read_like_straight_ones():
    assert {f.phrase for f in creep.check("You\u2019ve looked at this 3 times")} >= {"3 times"}


@pytest.mark.django_db
def test_a_store_extends_the_lists_and_silences_a_default():
    store = make_store()
    assert creep.check("Maternity jeans for you", store=store) == []
    CreepTerm.objects.create(store=store, category="pregnancy", phrase="maternity", note="Implies pregnancy.")
    CreepTerm.objects.create(store=store, category="finances", phrase="loan", action="allow")
    [finding] = creep.check("Maternity jeans, and a loan of our tote", store=store)
    assert (finding.phrase, finding.explanation) == ("Maternity", "Implies pregnancy.")
    other = make_store("other")
    assert creep.check("Maternity jeans", store=other) == []
    assert [f.phrase for f in creep.check("a loan", store=other)] == ["loan"]


def test_collections_in_a_shop_link_or_as_a_product_word_is_not_flagged():
    text = "New collections: https://shop.example.com/collections/summer or shop.example.com/collections/all"

    assert creep.check(text, lists=creep.word_lists()) == []


def test_a_sensitive_word_inside_a_link_or_a_field_is_not_flagged_but_the_same_word_in_prose_is():
    findings = creep.check("Out of debt yet? {{ link }} /blog/debt-free", lists=creep.word_lists())

    assert [f.phrase for f in findings] == ["debt"]
