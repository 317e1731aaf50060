"""Opt-out words as people really type them: typos, full-width letters, French."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.inbound.keywords import HELP, MESSAGE, OPT_IN, OPT_OUT, classify
from campaigns.tests.inbound_helpers import AUTH_TOKEN, make_store, subscribed, text_in
from customers.models import ConsentRecord, Customer

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+14155550101"


@pytest.mark.parametrize(
    "body", ["stopp", "sotp", "STPO", "stp", "sstop", "Stpo!", "unsubscrbe", "cancle", "quiit", "arrte"]
)
def test_a_single_opt_out_word_with_one_typo_opts_out(body):
    assert classify(body).family == OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "stoop by later",  # more than the one word
        "sotp it",
        "spot",  # two edits from STOP
        "and",  # one edit from END, but three letters are too short to guess
        "send",
        "ed",
        "stat",
    ],
)
def test_other_words_near_an_opt_out_word_are_messages(body):
    assert classify(body).family == MESSAGE


@pytest.mark.parametrize(
    "body", ["ｓｔｏｐ", "ＳＴＯＰ", "ARRÊT", "arrêt", "ARRET", "Arret.", "ｕｎｓｕｂｓｃｒｉｂｅ"]
)
def test_full_width_and_french_opt_out_words_opt_out(body):
    assert classify(body).family == OPT_OUT


@pytest.mark.parametrize("body", ["ｓｔａｒｔ", "ＵＮＳＴＯＰ", "Stárt"])
def test_opt_in_words_are_normalised_the_same_way(body):
    assert classify(body).family == OPT_IN


def test_french_help_gets_help():
    assert classify("Aide").family == HELP


def test_a_typo_of_an_opt_in_word_does_not_opt_in():
    assert classify("statr").family == MESSAGE


@pytest.fixture
def store(db, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    return make_store()


@pytest.mark.parametrize(("body", "keyword"), [("sotp", "SOTP"), ("ｓｔｏｐ", "STOP"), ("ARRÊT", "ARRET")])
def test_the_reply_opts_out_and_the_ledger_keeps_what_was_typed(client, store, body, keyword):
    customer = subscribed(store, PHONE, NOW - timedelta(days=30))

    response = text_in(client, body, PHONE)

    assert "unsubscribed" in response.content.decode()
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
    record = customer.consent_records.get()
    assert (record.action, record.keyword) == (ConsentRecord.Action.OPT_OUT, keyword)
