"""One text through a real `qcluster` process (PostgreSQL only: a second process cannot see an
in-memory SQLite test database)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as clock
from datetime import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf

from campaigns.models import Message
from campaigns.outbox import MessageDraft, messages_create
from customers.models import Customer

from .conftest import ACCOUNT_SID, AUTH_TOKEN

ROOT = Path(__file__).resolve().parents[2]


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
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST']}:"
        f"{settings['PORT']}/{settings['NAME']}",
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio_server.url,
        "PUBLIC_BASE_URL": "https://sms.example.com",
        "Q_SYNC": "false",
        "Q_WORKERS": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        monkeypatch.setattr(Conf, "SYNC", False)
        [message] = messages_create(
            drafts=[MessageDraft(customer=ada, body="Sent by a worker", idempotency_key="q")],
            now=timezone.now(),
        )
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline and Message.objects.get(pk=message.pk).status == "queued":
            clock.sleep(0.2)  # waiting on another process, not on the app's clock
    finally:
        worker.send_signal(signal.SIGTERM)  # one SIGTERM: two can deadlock qcluster's shutdown
        worker.wait(timeout=30)

    assert Message.objects.get(pk=message.pk).status == "sent"
    assert [form["Body"] for form in twilio_server.creates] == ["Sent by a worker"]
