"""One text through a real `qcluster` process (PostgreSQL only: a second process cannot see an
in-memory SQLite test database)."""

from __future__ import annotations

import time as clock
from datetime import time

import pytest
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf

from campaigns.models import Message
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from customers.models import Customer
from harness.clusters import database_url, qcluster_start, qcluster_stop


@pytest.mark.django_db(transaction=True)
def test_a_worker_process_sends_the_queued_text(twilio_server, shop, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): qcluster runs in another process")
    shop.send_window_start, shop.send_window_end = time(0), time(23, 59, 59, 999999)
    shop.save()
    ada = Customer.objects.create(
        store=shop,
        phone="+12125550100",
        timezone="America/New_York",
        timezone_source="given",
        sms_consent="subscribed",
    )
    worker = qcluster_start(
        {
            "DATABASE_URL": database_url(connection.settings_dict),
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": twilio_server.url,
            "PUBLIC_BASE_URL": "https://sms.example.com",
            "Q_SYNC": "false",
            "Q_WORKERS": "1",
        }
    )
    try:
        monkeypatch.setattr(Conf, "SYNC", False)
        [message] = messages_create(
            drafts=[MessageDraft(customer=ada, body="Sent by a worker", idempotency_key="q")],
            now=timezone.now(),  # the worker process sends at its own real time
        )
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline and Message.objects.get(pk=message.pk).status == "queued":
            clock.sleep(0.2)  # waiting on another process, not on the app's clock
    finally:
        qcluster_stop(worker)

    assert Message.objects.get(pk=message.pk).status == "sent"
    assert [form["Body"] for form in twilio_server.creates] == ["Sent by a worker"]
