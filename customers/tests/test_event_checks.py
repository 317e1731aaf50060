"""The quick checks clear only events the full checks accept, cleaned exactly as they clean them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from customers.ingest.events import _event_check, _event_clean, _event_quick
from customers.ingest.schemas import Errors
from customers.tests.stores import NOW

texts = st.one_of(
    st.sampled_from(["sku-1", " sku-1 ", "", "  ", "a" * 100, "a" * 101, "a" * 201, "x\x00y", "\ud800", "é"]),
    st.text(max_size=12),
)
scalars = st.one_of(
    texts,
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 19.5, 1.0, -0.0, 1e10, 9999999999.99, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["19.50", "1e3", "abc", "https://shop.example.com/c", "HTTP://x.y", "ftp://x", "https://"]),
)
items = st.lists(
    st.dictionaries(
        st.sampled_from(["product_id", "name", "price", "quantity", "url", "category", "extra"]), scalars
    )
    | scalars,
    max_size=3,
)
properties = st.one_of(
    st.none(),
    scalars,
    st.dictionaries(
        st.sampled_from(
            ["product_id", "name", "price", "url", "cart_id", "cart_url", "items", "total", "checkout_id",
             "checkout_url", "order_id", "discount_code", "balance", "points", "loyalty_status", "topics",
             "categories", "free", "k" * 101]
        ),  # fmt: skip
        scalars | items,
    ),
)
customers = st.one_of(
    scalars,
    st.dictionaries(
        st.sampled_from(["external_id", "phone", "first_name", "sms_consent"]),
        st.sampled_from(["+13055550100", "305-555-0101", "+1555", "", "c-1", 7, None, True, " c-2 "]),
    ),
)
events = st.dictionaries(
    st.sampled_from(["id", "type", "occurred_at", "customer", "properties", "unknown"]),
    st.one_of(
        scalars,
        st.sampled_from(
            ["product_viewed", "cart_updated", "checkout_started", "order_placed", "order_delivered",
             "reward_balance_changed", "preference_set", "sms_clicked", "custom_thing", "Bad-Type",
             "2026-11-26T10:00:00Z", "2026-11-26T10:00:00", "1969-12-31T23:00:00+00:00",
             "2099-01-01T00:00:00Z", " 2026-11-26T10:00:00+02:00 "]
        ),  # fmt: skip
        customers,
        properties,
    ),
)
well_formed = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["product_viewed", "cart_updated", "order_placed", "sms_clicked", "custom"]),
        "customer": st.fixed_dictionaries(
            {"external_id": st.sampled_from(["c-1", 7]), "phone": st.just("+13055550100")}
        ),
        "properties": properties,
    },
    optional={"id": st.sampled_from(["e-1", 12, " e-2 "]), "occurred_at": st.just("2026-11-26T10:00:00Z")},
)


def check_both(value) -> None:
    errors = Errors()
    full = _event_check(value, "events[0]", errors, now=NOW)
    quick = _event_quick(value, "events[0]", now=NOW)
    if quick is not None:
        assert not errors
        assert quick == full
    cleaned_errors = Errors()
    assert _event_clean(value, "events[0]", cleaned_errors, now=NOW) == full
    assert cleaned_errors == errors


@settings(max_examples=600, deadline=None)
@given(events)
def test_it_clears_only_what_the_full_checks_accept_and_cleans_it_the_same(value):
    check_both(value)


@settings(max_examples=300, deadline=None)
@given(well_formed)
def test_well_formed_events_clear_quickly_as_the_full_checks_clean_them(value):
    check_both(value)


def test_a_typical_cart_event_is_cleared_by_the_quick_checks():
    value = {
        "id": "e-1",
        "type": "cart_updated",
        "occurred_at": "2026-11-26T10:00:00Z",
        "customer": {"external_id": "c-1", "phone": "+13055550100"},
        "properties": {
            "cart_id": "cart-1",
            "cart_url": "https://shop.example.com/cart/1",
            "items": [{"product_id": "sku-1", "name": "Soap", "price": 19.5, "quantity": 1}],
        },
    }
    quick = _event_quick(value, "events[0]", now=NOW)
    assert quick is not None
    assert quick == _event_check(value, "events[0]", Errors(), now=NOW)
