"""Sending close to the wire: one kept connection per worker, one UPDATE per batch of answers."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Message
from campaigns.sending.deliver import messages_accepted, messages_send
from campaigns.sending.gateways import Accepted, gateway_from_settings

NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)  # 12:00 in New York


def test_a_worker_sends_a_batch_over_one_kept_connection(settings, twilio_backend, queued_texts):
    settings.SMS_SEND_CONCURRENCY = 1
    ids = queued_texts(5, now=NOON)

    assert messages_send(message_ids=ids[:3], now=NOON) == 3
    assert messages_send(message_ids=ids[3:], now=NOON) == 2

    assert len(twilio_backend.creates) == 5
    assert len({r.peer for r in twilio_backend.requests}) == 1
    assert gateway_from_settings() is gateway_from_settings()


def test_a_worker_keeps_one_connection_per_call_in_flight(settings, twilio_backend, queued_texts):
    settings.SMS_SEND_CONCURRENCY = 3
    ids = queued_texts(12, now=NOON)

    for start in range(0, 12, 4):
        assert messages_send(message_ids=ids[start : start + 4], now=NOON) == 4

    assert len(twilio_backend.creates) == 12
    assert len({r.peer for r in twilio_backend.requests}) <= 3


def test_a_batch_of_answers_is_recorded_in_one_update(twilio_backend, queued_texts):
    ids = queued_texts(6, now=NOON)

    with CaptureQueriesContext(connection) as queries:
        assert messages_send(message_ids=ids, now=NOON) == 6

    to_sent = [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "'sent'" in q["sql"]]
    assert len(to_sent) == 1
    sent = {m.to: m for m in Message.objects.filter(id__in=ids)}
    for form in twilio_backend.creates:
        message = sent[form["To"]]
        assert message.status == "sent"
        assert twilio_backend.messages[message.provider_sid]["body"] == form["Body"]
        assert (message.attempts, message.sent_at) == (1, NOON)


def test_a_row_another_worker_moved_is_not_recorded_as_sent(twilio_backend, queued_texts):
    [first, second] = queued_texts(2, now=NOON)
    claimed = list(Message.objects.filter(id__in=[first, second]).claim_due(now=NOON, token="0" * 32))
    Message.objects.filter(id=second).update(claim_token="1" * 32)  # taken over by another claim

    answers = [(m, NOON, Accepted(sid=f"SM{m.pk:032d}", status="queued")) for m in claimed]

    assert messages_accepted(answers=answers, now=NOON) == 1
    assert Message.objects.get(id=first).status == "sent"
    assert Message.objects.get(id=second).status == "sending"


def test_why_this_text_explains_an_allowed_text_without_a_decision_row(admin_client, queued_texts):
    [mid] = queued_texts(1, now=NOON)
    customer_id = Message.objects.get(id=mid).customer_id

    page = admin_client.get(f"/admin/campaigns/message/why/{customer_id}/").content.decode()

    assert "Queued" in page
    assert "every check passed (consent, quiet hours, caps, overlap)" in page


def test_a_plain_allow_before_sending_stores_no_row(twilio_backend, queued_texts, admin_client):
    ids = queued_texts(3, now=NOON)

    with CaptureQueriesContext(connection) as queries:
        assert messages_send(message_ids=ids, now=NOON) == 3

    assert not [q for q in queries if "guardraildecision" in q["sql"] and q["sql"].startswith("INSERT")]
    customer_id = Message.objects.get(id=ids[0]).customer_id
    page = admin_client.get(f"/admin/campaigns/message/why/{customer_id}/").content.decode()
    assert "Allowed when created and again right before sending: every check passed" in page
