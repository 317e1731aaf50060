"""Provider calls in flight at once within a batch (SMS_SEND_CONCURRENCY): the same texts, once each,
no new call after the breaker opens, and each text no earlier than its pacing slot."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from campaigns.models import Message, ProviderCircuit
from campaigns.sending.deliver import messages_send
from harness.twilio_server import Answer

NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)  # 12:00 in New York


@pytest.fixture(autouse=True)
def four_in_flight(settings):
    settings.SMS_SEND_CONCURRENCY = 4


def test_every_text_arrives_exactly_once(twilio_backend, queued_texts):
    ids = queued_texts(30, now=NOON)

    assert messages_send(message_ids=ids, now=NOON) == 30

    arrived = sorted(form["To"] for form in twilio_backend.creates)
    assert arrived == sorted(f"+1212555{i:04d}" for i in range(30))
    sent = Message.objects.filter(id__in=ids)
    assert {m.status for m in sent} == {"sent"}
    assert {m.provider_sid for m in sent} == set(twilio_backend.messages)
    for message in sent:
        assert twilio_backend.messages[message.provider_sid]["to"] == message.to


def test_an_outage_mid_batch_stops_new_calls_and_holds_the_rest(settings, twilio_backend, queued_texts):
    settings.SMS_CIRCUIT_THRESHOLD = 2
    ids = queued_texts(30, now=NOON)
    twilio_backend.answer_next(*[Answer()] * 5, *[Answer(http_status=503, code=20500)] * 30)

    sent = messages_send(message_ids=ids, now=NOON)

    # Five accepted, two "try later" open the breaker; at most three calls were still in flight.
    calls = len(twilio_backend.creates)
    assert sent == 5
    assert 7 <= calls <= 5 + 2 + 3
    circuit = ProviderCircuit.objects.get()
    assert circuit.open_until is not None and circuit.open_until > NOON
    statuses = dict(Message.objects.filter(id__in=ids).values_list("to", "status"))
    called = {form["To"] for form in twilio_backend.creates}
    assert sorted(statuses.values()).count("sent") == 5
    assert {statuses[to] for to in statuses if to not in called} == {"held"}
    held = Message.objects.filter(id__in=ids, status="held")
    assert held.count() == 25
    assert {m.send_after for m in held} == {circuit.open_until}


def test_pacing_still_spaces_the_texts(twilio_backend, queued_texts, shop):
    shop.send_rate_per_second = 20  # a slot every 50 ms
    shop.save()
    ids = queued_texts(6, now=NOON)

    started = time.monotonic()
    assert messages_send(message_ids=ids, now=NOON) == 6

    arrivals = sorted(r.at - started for r in twilio_backend.requests if r.method == "POST")
    assert len(arrivals) == 6
    for slot, arrival in enumerate(arrivals):
        assert arrival >= slot * 0.05


def test_one_call_at_a_time_makes_no_call_after_the_breaker_opens(settings, twilio_backend, queued_texts):
    settings.SMS_SEND_CONCURRENCY = 1
    settings.SMS_CIRCUIT_THRESHOLD = 2
    ids = queued_texts(10, now=NOON)
    twilio_backend.answer_next(Answer(), Answer(), *[Answer(http_status=503, code=20500)] * 10)

    assert messages_send(message_ids=ids, now=NOON) == 2

    assert len(twilio_backend.creates) == 4
    assert Message.objects.filter(id__in=ids, status="held").count() == 8
