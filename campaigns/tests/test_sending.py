from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.management import call_command

from campaigns.models import Message, SendRateBucket, UndeliverableNumber
from campaigns.sending.answers import message_status_apply, messages_reconcile, messages_status_apply
from campaigns.sending.deliver import messages_claim, messages_send, rate_slots_reserve
from campaigns.sending.gateways import gateway_from_settings
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.tests.conftest import SERVICE_SID
from campaigns.tick import SENDING, tick
from customers.ingest.consent import consent_change
from customers.models import ConsentRecord, Customer

NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)  # 12:00 in New York
LATER = NOON + timedelta(hours=2)
STUCK = timedelta(minutes=11)


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing in the app catches it."""


class KilledAfterProviderCall:
    """The real gateway, with the worker dying after the provider accepted and before the commit."""

    paced = True

    def __init__(self) -> None:
        self.inner = gateway_from_settings()

    def send(self, **kwargs):
        self.inner.send(**kwargs)
        raise WorkerKilled

    def __getattr__(self, name):
        return getattr(self.inner, name)


def create(customer, key="cart-1", now=NOON, **fields) -> Message:
    [message] = messages_create(
        drafts=[
            MessageDraft(
                customer=customer,
                body=fields.pop("body", "Ada, your cart is waiting"),
                idempotency_key=key,
                **fields,
            )
        ],
        now=now,
    )
    return message


def send(*messages: Message, now=NOON) -> int:
    return messages_send(message_ids=[m.pk for m in messages], now=now)


def refreshed(message: Message) -> Message:
    message.refresh_from_db()
    return message


def test_it_sends_through_the_messaging_service(twilio_backend, make_subscriber):
    message = create(make_subscriber(phone="+12125550100"))

    assert send(message) == 1

    [form] = twilio_backend.creates
    assert form == {
        "To": "+12125550100",
        "Body": "Ada, your cart is waiting",
        "MessagingServiceSid": SERVICE_SID,
        "StatusCallback": "https://sms.example.com/webhooks/twilio/status",
    }
    message = refreshed(message)
    assert (message.status, message.attempts, message.sent_at) == ("sent", 1, NOON)
    assert message.provider_sid in twilio_backend.messages
    # A plain allow stores no decision, at creation or at the check before sending.
    assert not message.decisions.exists()


def test_it_sends_from_a_number(twilio_backend, make_subscriber, shop):
    shop.messaging_service_sid, shop.from_number = "", "+18005550199"
    shop.save()

    send(create(make_subscriber()))

    assert twilio_backend.creates[0]["From"] == "+18005550199"


@pytest.mark.parametrize(("http_status", "code"), [(429, 20429), (500, 20500)])
def test_throttling_and_server_errors_hold_the_text_with_backoff(
    twilio_backend, make_subscriber, http_status, code
):
    twilio_backend.fail_next(http_status, code)
    message = create(make_subscriber())

    assert send(message) == 0
    message = refreshed(message)
    assert (message.status, message.attempts, message.error_code) == ("held", 1, str(code))
    assert NOON + timedelta(seconds=15) <= message.send_after <= NOON + timedelta(seconds=30)
    assert tick(now=NOON + timedelta(seconds=10), stages=SENDING).messages_sent == 0  # not due yet

    assert tick(now=NOON + timedelta(seconds=30), stages=SENDING).messages_sent == 1
    assert refreshed(message).status == "sent"
    assert len(twilio_backend.creates) == 2


def test_backoff_grows_and_the_text_waits_until_its_valid_until(twilio_backend, make_subscriber):
    message = create(make_subscriber(), valid_until=NOON + timedelta(minutes=4))
    now = NOON
    waits = []
    while True:
        twilio_backend.fail_next(503)
        tick(now=now, stages=SENDING)
        message = refreshed(message)
        if message.status != "held":
            break
        waits.append(message.send_after - now)
        now = message.send_after

    assert (message.status, message.reason) == ("suppressed", "expired")
    assert message.attempts == len(waits) + 1 >= 3
    assert timedelta(seconds=15) <= waits[0] <= timedelta(seconds=30) < waits[1] <= timedelta(seconds=60)
    assert len(twilio_backend.creates) == message.attempts


def test_a_timeout_is_retried_once_the_provider_is_checked(twilio_backend, make_subscriber):
    twilio_backend.slow_next(1.0, accept=False)
    message = create(make_subscriber(phone="+12125550100"))

    send(message)
    message = refreshed(message)
    assert (message.status, message.error_code) == ("held", "timeout")

    tick(now=message.send_after, stages=SENDING)
    assert refreshed(message).status == "sent"
    assert len(twilio_backend.messages) == 1
    assert [r.method for r in twilio_backend.requests] == ["POST", "GET", "POST"]


def test_a_timeout_after_the_provider_took_the_text_is_not_sent_twice(twilio_backend, make_subscriber):
    twilio_backend.slow_next(1.0, accept=True)
    message = create(make_subscriber(phone="+12125550100"))

    send(message)
    tick(now=refreshed(message).send_after, stages=SENDING)

    message = refreshed(message)
    [only] = twilio_backend.messages
    assert (message.status, message.provider_sid) == ("sent", only)
    assert len(twilio_backend.creates) == 1


def test_21610_opts_the_customer_out_and_is_never_retried(twilio_backend, make_subscriber):
    ada = make_subscriber()
    twilio_backend.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    message = create(ada)

    send(message)

    message = refreshed(message)
    assert (message.status, message.reason, message.error_code) == ("failed", "provider_opt_out", "21610")
    ada.refresh_from_db()
    assert ada.sms_consent == Customer.Consent.UNSUBSCRIBED
    record = ConsentRecord.objects.get(customer=ada)
    assert (record.action, record.source) == ("opt_out", "provider")
    assert send(message, now=LATER) == 0
    later = create(ada, key="cart-2", now=NOON + timedelta(days=3))
    assert (later.status, later.reason) == ("suppressed", "opted_out")
    assert len(twilio_backend.creates) == 1


@pytest.mark.parametrize("code", [21211, 21614])
def test_an_invalid_number_is_marked_undeliverable(twilio_backend, make_subscriber, code):
    ada = make_subscriber(phone="+12125550123")
    twilio_backend.fail_next(400, code, "The 'To' number is not a valid phone number.")
    message = create(ada)

    send(message)

    assert (refreshed(message).status, refreshed(message).reason) == ("failed", "number_undeliverable")
    assert UndeliverableNumber.objects.filter(phone="+12125550123", error_code=str(code)).exists()
    later = create(ada, key="cart-2", now=NOON + timedelta(days=3))
    assert later.reason == "number_undeliverable"


def test_an_opt_out_between_creation_and_sending_stops_the_text(twilio_backend, make_subscriber):
    ada = make_subscriber()
    message = create(ada)
    consent_change(customer=ada, action="opt_out", source="keyword", keyword="STOP", occurred_at=NOON)

    assert send(message, now=NOON + timedelta(minutes=1)) == 0

    assert (refreshed(message).status, refreshed(message).reason) == ("suppressed", "opted_out")
    assert twilio_backend.creates == []


def test_a_worker_killed_between_claim_and_provider_call_loses_nothing(twilio_backend, make_subscriber):
    message = create(make_subscriber())
    [claimed] = messages_claim(message_ids=[message.pk], now=NOON)  # ... and the worker dies here
    assert claimed.status == "sending"
    assert send(message) == 0  # another worker does not take a claimed row

    assert messages_reconcile(now=NOON + timedelta(minutes=5))["requeued"] == 0  # too early to call it stuck
    assert messages_reconcile(now=NOON + STUCK)["requeued"] == 1
    tick(now=NOON + STUCK, stages=SENDING)

    assert refreshed(message).status == "sent"
    assert len(twilio_backend.creates) == 1


def test_a_worker_killed_between_provider_call_and_commit_sends_once(twilio_backend, make_subscriber):
    message = create(make_subscriber(phone="+12125550100"))

    with pytest.raises(WorkerKilled):
        messages_send(message_ids=[message.pk], now=NOON, gateway=KilledAfterProviderCall())
    assert refreshed(message).status == "sending"

    report = tick(now=NOON + STUCK, stages=SENDING)
    tick(now=NOON + STUCK + timedelta(minutes=1), stages=SENDING)

    [sid] = twilio_backend.messages
    assert report.reconciled["found"] == 1
    message = refreshed(message)
    assert (message.status, message.provider_sid) == ("sent", sid)
    assert len(twilio_backend.creates) == 1


def test_a_customer_at_22_local_gets_the_text_at_8(twilio_backend, make_subscriber):
    denver = make_subscriber(timezone="America/Denver")
    ten_pm = datetime(2026, 5, 5, 4, 0, tzinfo=UTC)  # 22:00 MDT
    message = create(denver, now=ten_pm)
    assert refreshed(message).status == "held"

    tick(now=datetime(2026, 5, 5, 13, 59, tzinfo=UTC), stages=SENDING)
    assert twilio_backend.creates == []
    tick(now=datetime(2026, 5, 5, 14, 0, tzinfo=UTC), stages=SENDING)  # 08:00 MDT

    message = refreshed(message)
    assert (message.status, message.sent_at) == ("sent", datetime(2026, 5, 5, 14, 0, tzinfo=UTC))
    assert [(d.stage, d.outcome) for d in message.decisions.order_by("id")] == [
        ("create", "hold"),
        ("release", "allow"),
    ]


def test_the_tick_releases_due_texts_and_queues_their_sends(
    twilio_backend, make_subscriber, shop, django_capture_on_commit_callbacks, frozen_now
):
    shop.send_window_start, shop.send_window_end = time(0), time(23, 59, 59, 999999)
    shop.save()
    now = frozen_now
    message = create(make_subscriber(), now=now - timedelta(minutes=1))
    Message.objects.filter(pk=message.pk).update(status="held", send_after=now - timedelta(seconds=1))

    with django_capture_on_commit_callbacks(execute=True) as queued:
        report = tick(now=now, in_process=False, stages=["release", "send"])

    assert report.messages_released == 1
    assert len(queued) == 1
    assert refreshed(message).status == "sent"  # django-q2 runs the queued task inline in tests
    assert tick(now=now, in_process=False, stages=["release", "send"]).messages_released == 0


def test_the_rate_limit_is_shared_through_one_row(db):
    first = rate_slots_reserve(sender="+18005550199", rate=1, count=3, now=NOON)
    second = rate_slots_reserve(sender="+18005550199", rate=1, count=2, now=NOON)

    assert first == [NOON, NOON + timedelta(seconds=1), NOON + timedelta(seconds=2)]
    assert second == [NOON + timedelta(seconds=3), NOON + timedelta(seconds=4)]
    assert rate_slots_reserve(sender="MG" + "b" * 32, rate=3, count=2, now=NOON)[1] == NOON + timedelta(
        seconds=1 / 3
    )


def test_the_rate_limit_hands_out_no_slot_beyond_the_horizon(db, settings):
    settings.SMS_RATE_HORIZON_SECONDS = 90
    assert len(rate_slots_reserve(sender="+18005550199", rate=1, count=200, now=NOON)) == 90
    assert rate_slots_reserve(sender="+18005550199", rate=1, count=5, now=NOON) == []


def test_a_busy_sender_hands_its_messages_back_for_later(twilio_backend, make_subscriber, shop):
    shop.send_rate_per_second = None  # long code: 1 per second
    shop.save()
    SendRateBucket.objects.create(sender=SERVICE_SID, next_slot_at=NOON + timedelta(seconds=90))
    message = create(make_subscriber())

    assert send(message) == 0

    message = refreshed(message)
    assert (message.status, message.send_after) == ("queued", NOON + timedelta(seconds=90))
    assert twilio_backend.creates == []


def test_status_only_moves_forward_and_a_missing_callback_is_polled(twilio_backend, make_subscriber):
    message = create(make_subscriber())
    send(message)
    message = refreshed(message)
    twilio_backend.set_status(message.provider_sid, "delivered")

    assert messages_reconcile(now=NOON + timedelta(minutes=30))["polled"] == 0
    assert messages_reconcile(now=NOON + timedelta(hours=2))["polled"] == 1

    message = refreshed(message)
    assert message.status == "delivered"
    assert not message_status_apply(message=message, provider_status="sent", error_code="", now=LATER)
    assert refreshed(message).status == "delivered"


def test_a_late_failure_callback_marks_the_number(twilio_backend, make_subscriber):
    message = create(make_subscriber(phone="+12125550177"))
    send(message)

    assert message_status_apply(
        message=refreshed(message), provider_status="undelivered", error_code="30006", now=LATER
    )
    assert refreshed(message).status == "undelivered"
    assert UndeliverableNumber.objects.filter(phone="+12125550177").exists()


def test_send_due_runs_one_pass(twilio_backend, make_subscriber, capsys):
    create(make_subscriber())

    call_command("send_due", "--now", "2026-05-04T16:00:00+00:00")

    assert "released: 0, sent: 1" in capsys.readouterr().out
    assert len(twilio_backend.creates) == 1


def test_a_text_still_queued_when_the_window_closes_waits_for_the_morning(twilio_backend, make_subscriber):
    evening = datetime(2026, 5, 5, 0, 50, tzinfo=UTC)  # 20:50 in New York
    message = create(make_subscriber(), now=evening)
    assert message.status == "queued"

    assert send(message, now=evening + timedelta(minutes=15)) == 0  # the worker got to it at 21:05

    message = refreshed(message)
    assert (message.status, message.reason) == ("held", "quiet_hours")
    assert message.send_after == datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
    assert twilio_backend.creates == []


def test_many_answers_apply_at_once_as_each_would(twilio_backend, make_subscriber):
    first = create(make_subscriber(phone="+12125550181"), key="cart-a")
    second = create(make_subscriber(phone="+12125550182"), key="cart-b")
    third = create(make_subscriber(phone="+12125550183"), key="cart-c")
    send(first, second, third)
    first, second, third = (refreshed(m) for m in (first, second, third))

    moved = messages_status_apply(
        answers=[(third, "sent", ""), (first, "delivered", ""), (second, "undelivered", "30006")], now=LATER
    )

    assert [m.pk for m in moved] == [first.pk, second.pk]  # a repeated "sent" moves nothing
    assert [(m.status, m.delivered_at) for m in moved] == [("delivered", LATER), ("undelivered", None)]
    assert (refreshed(first).status, refreshed(first).delivered_at) == ("delivered", LATER)
    assert (refreshed(second).status, refreshed(second).error_code) == ("undelivered", "30006")
    assert UndeliverableNumber.objects.filter(phone="+12125550182").exists()
    assert messages_status_apply(answers=[(refreshed(first), "sent", "")], now=LATER) == []
