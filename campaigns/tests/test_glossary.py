"""Every code a page shows has plain words: the guardrails' reasons, each status, Twilio's errors."""

from __future__ import annotations

from campaigns.glossary import (
    PROVIDER_ERRORS,
    REASONS,
    STATUSES,
    event_words,
    provider_error_words,
    reason_words,
)
from campaigns.models import Campaign, Flow, Message
from campaigns.models.guardrails import Reason
from campaigns.sending.gateways import OPTED_OUT_CODES, UNDELIVERABLE_CODES


def test_every_stored_reason_and_status_has_a_sentence():
    assert set(Reason.values) <= set(REASONS)
    assert set(Message.Status.values) == set(STATUSES["message"])
    assert set(Campaign.Status.values) == set(STATUSES["campaign"])
    assert set(Flow.Status.values) == set(STATUSES["flow"])


def test_the_error_numbers_the_gateway_sorts_have_meanings():
    assert OPTED_OUT_CODES | UNDELIVERABLE_CODES <= set(PROVIDER_ERRORS)
    assert provider_error_words("30007") == "30007: The carrier filtered the text as spam or for its content."
    assert provider_error_words("39999") == "39999 (see twilio.com/docs/api/errors/39999)"


def test_reasons_with_details_read_as_sentences():
    assert reason_words("goal: order_placed") == "The customer places an order: the flow's goal."
    assert reason_words("late by 12 min") == "It came 12 min late, later than the flow allows."
    assert reason_words("frequency_cap").startswith("The customer had as many texts as the store allows")
    assert reason_words("something_new") == "Something new."
    assert event_words("cart_updated") == "adds to or changes their cart"
