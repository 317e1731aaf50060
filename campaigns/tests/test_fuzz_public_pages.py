"""Fuzzed public pages — the signup page, the preference page, the short-link redirect: any path,
query or form field, NUL bytes and oversize numbers included, answers below 500, and a refused
request stores nothing."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from campaigns.models import Link
from campaigns.tests.inbound_helpers import make_store, subscribed
from customers.models import ConsentRecord, Customer
from customers.tests.hostile import FUZZ

FORM_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=20),
    st.sampled_from(["\x00", "a\x00b", "9" * 400, "1e100000000", "-1", "", "²", "Ⅻ", "on", "weekly",
                     "deals", "+14155550123", "(415) 555-0123", "x" * 5000]),
)  # fmt: skip
FORM = "application/x-www-form-urlencoded"
SIGNUP_FIELDS = ["phone", "first_name", "consent", "csrfmiddlewaretoken"]
PREFS_FIELDS = ["topics", "categories", "frequency", "opt_out"]
# (a slug with NUL matches no page: 404, before any view)
NUL_PATHS = ["/prefs/%00", "/prefs/abc%00def", "/join/shop%00", "/l/ab%00", "/prefs/x?next=%00",
             "/join/shop?a=%00"]


@pytest.fixture(autouse=True)
def unlimited(settings):
    """The fuzz sends many requests from one address: the rate limits have their own tests."""
    for name in ("SIGNUP_PER_IP", "SIGNUP_PER_NUMBER", "PREFS_PER_IP", "PREFS_PER_NUMBER"):
        setattr(settings, f"RATE_LIMIT_{name}", (0, 3600))


@pytest.fixture
def shop(db, now):
    store = make_store(slug="shop")
    ana = subscribed(store, "+14155550100", now)
    Link.objects.create(store=store, customer=ana, code="abc123", target_url="https://shop.example.com/a")
    return store, ana


def stored() -> tuple[int, int]:
    return Customer.objects.count(), ConsentRecord.objects.count()


def form(names: list[str]) -> st.SearchStrategy:
    values = FORM_TEXT | st.lists(FORM_TEXT, max_size=3)
    return st.dictionaries(st.sampled_from(names) | FORM_TEXT.filter(bool), values, max_size=5)


@FUZZ
@given(data=form(SIGNUP_FIELDS), slug=st.just("shop") | FORM_TEXT.filter(bool))
def test_no_signup_answers_5xx_and_a_refused_one_stores_nothing(client, shop, data, slug):
    before = stored()
    response = client.post(f"/join/{quote(slug, safe='')}", data)
    event(str(response.status_code))
    assert response.status_code < 500, response.content
    if response.status_code != 302:
        assert stored() == before


@FUZZ
@given(data=form(PREFS_FIELDS), token=st.sampled_from(["own", "other"]) | FORM_TEXT.filter(bool))
def test_no_preference_page_answers_5xx(client, shop, data, token):
    _, ana = shop
    path = f"/prefs/{ana.prefs_token if token == 'own' else quote(token, safe='')}"
    before = ConsentRecord.objects.count()
    for response in (client.get(path), client.post(path, data)):
        event(str(response.status_code))
        assert response.status_code < 500, response.content
        if response.status_code >= 400:
            assert ConsentRecord.objects.count() == before


@FUZZ
@given(code=FORM_TEXT.filter(bool), query=st.dictionaries(FORM_TEXT.filter(bool), FORM_TEXT, max_size=2))
def test_no_short_link_answers_5xx(client, shop, code, query):
    response = client.get(f"/l/{quote(code, safe='')}", query)
    assert response.status_code < 500, response.content


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_anywhere_in_a_public_url_is_400_and_stores_nothing(client, shop, path):
    before = stored()

    assert client.get(path).status_code in (400, 404)
    assert client.post(path, {"phone": "+14155550123", "consent": "on"}).status_code in (400, 404)
    assert stored() == before


@pytest.mark.parametrize("field", ["phone", "first_name"])
def test_a_nul_in_a_signup_field_is_refused_and_stores_nothing(client, shop, field):
    data = {"phone": "+14155550123", "first_name": "Bo", "consent": "on"}
    data[field] += "\x00"
    before = stored()

    # as a browser posts it: 400 at the door
    assert client.post("/join/shop", urlencode(data), content_type=FORM).status_code == 400
    # multipart is left to the form, whose fields refuse NUL by name
    answer = client.post("/join/shop", data)
    assert answer.status_code == 200 and "Null characters are not allowed." in answer.content.decode()
    assert stored() == before
