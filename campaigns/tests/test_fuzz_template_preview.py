"""Fuzzed template preview and audience meter: bodies made of fields, filters and hostile arguments,
and hostile ids and texts beside them. No answer is a 5xx and nothing is stored."""

from __future__ import annotations

import json

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from campaigns.models import Message, MessageTemplate
from campaigns.tests.fields_support import make_customer, make_store
from customers.models import Segment
from customers.tests.hostile import FUZZ, JSON, NUMBER, TEXT, VALUE, either

PREVIEW = "/admin/campaigns/messagetemplate/preview/"
AUDIENCE = "/admin/campaigns/messagetemplate/audience/"

FIELD = st.sampled_from(["first_name", "product_name", "product_link", "reward_amount", "cart_total",
                         "brand_name", "nope"]) | TEXT
ARG = st.sampled_from(['"there"', '"1e100000000"', '"-1e999999999999999999"', '"0"', '"2"', "160", "0",
                       '"\ud800"', "99999999999999999999"]) | TEXT.map(json.dumps)
FILTER = st.builds(lambda name, arg: f"{name}:{arg}" if arg else name,
                   st.sampled_from(["default", "money", "upper", "title", "truncate", "evil"]),
                   st.none() | ARG)
PLACEHOLDER = st.builds(lambda field, filters: "{{ " + "|".join([field, *filters]) + " }}",
                        FIELD, st.lists(FILTER, max_size=3))
BODY = st.lists(PLACEHOLDER | TEXT | st.sampled_from(["{{", "}}", "{%", "Reply STOP to opt out"]),
                max_size=6).map("".join) | TEXT


@pytest.fixture
def shop(db):
    store = make_store()
    make_customer(store, first_name="1e100000000")
    make_customer(store, phone="+14155550101", first_name="")
    segment = Segment.objects.create(store=store, name="Everyone", slug="everyone", rules={})
    return store, segment


def stored() -> tuple[int, int, int]:
    return MessageTemplate.objects.count(), Message.objects.count(), Segment.objects.count()


@FUZZ
@given(
    body=either(BODY),
    customer=st.none() | st.just("+14155550100") | TEXT | NUMBER,
    segment=st.none() | st.just("everyone") | NUMBER | TEXT,
    extra=st.dictionaries(st.sampled_from(["context", "is_first_in_flow", "store"]), VALUE, max_size=2),
)
def test_the_template_preview_never_answers_5xx(admin_client, shop, body, customer, segment, extra):
    store, everyone = shop
    payload = {"store": store.pk, "body": body, "customer": customer,
               "segment": everyone.pk if segment == "everyone" else segment, **extra}
    before = stored()
    for url in (PREVIEW, AUDIENCE):
        response = admin_client.post(url, json.dumps(payload), content_type="application/json")
        assert response.status_code < 500, response.content
        event(f"{url.split('/')[-2]} {response.status_code}")
        if response.status_code >= 400:
            assert all(e["field"] for e in response.json()["errors"])
    assert stored() == before


@FUZZ
@given(payload=JSON)
def test_no_preview_body_of_any_shape_answers_5xx(admin_client, shop, payload):
    response = admin_client.post(PREVIEW, json.dumps(payload), content_type="application/json")
    assert response.status_code < 500, response.content
