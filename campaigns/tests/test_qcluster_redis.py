"""Two `qcluster` processes sharing one Redis queue and one PostgreSQL database: the work is
shared and no text goes out twice, even when every batch is queued twice."""

from __future__ import annotations

import shutil
import time as clock
from collections import Counter
from datetime import time
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.tasks import async_task

from campaigns.models import Message
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from customers.models import Customer
from harness.clusters import (
    clusters_running,
    database_url,
    qcluster_start,
    qcluster_stop,
    redis_server,
)

TEXTS = 120
BATCH = 10


def _customers(shop) -> list[Customer]:
    return Customer.objects.bulk_create(
        Customer(
            store=shop,
            phone=f"+1212555{i:04d}",
            timezone="America/New_York",
            timezone_source="given",
            sms_consent="subscribed",
        )
        for i in range(TEXTS)
    )


@pytest.mark.django_db(transaction=True)
def test_two_clusters_on_redis_send_every_text_exactly_once(twilio_server, shop, settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...): the clusters run in other processes")
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on the PATH (apt-get install redis-server)")
    shop.send_window_start, shop.send_window_end = time(0), time(23, 59, 59, 999999)
    shop.save()
    customers = _customers(shop)
    settings.SMS_SEND_BATCH_SIZE = BATCH
    with redis_server() as redis_url:
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "REDIS", redis_url)
        monkeypatch.setattr(Conf, "SYNC", False)
        env = {
            "DATABASE_URL": database_url(connection.settings_dict),
            "Q_BROKER": "redis",
            "REDIS_URL": redis_url,
            "Q_WORKERS": "1",
            "Q_SYNC": "false",
            "Q_SCHEDULER": "false",
            "SMS_BACKEND": "twilio",
            "SMS_SEND_BATCH_SIZE": str(BATCH),
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": twilio_server.url,
        }
        # Each cluster names its own status callback host: the provider sees who sent what.
        clusters = [qcluster_start({**env, "PUBLIC_BASE_URL": f"https://{x}.example.com"}) for x in "ab"]
        try:
            assert clusters_running(2), "the two clusters never reported to Redis"
            now = timezone.now()  # the clusters send at their own real time
            messages_create(
                drafts=[
                    MessageDraft(customer=c, body=f"Drop for {c.phone}", idempotency_key=f"drop:{c.pk}")
                    for c in customers
                ],
                now=now,
            )
            ids = sorted(Message.objects.values_list("id", flat=True))
            for start in range(0, len(ids), BATCH):  # a re-run of every batch, racing the first
                async_task("campaigns.tasks.send_batch", ids[start : start + BATCH])
            deadline = clock.monotonic() + 60
            while clock.monotonic() < deadline and Message.objects.exclude(status="sent").exists():
                clock.sleep(0.2)  # waiting on other processes, not on the app's clock
        finally:
            for cluster in clusters:
                qcluster_stop(cluster)

    assert Counter(Message.objects.values_list("status", flat=True)) == {"sent": TEXTS}
    received = Counter(form["To"] for form in twilio_server.creates)
    assert set(received) == {c.phone for c in customers}
    assert set(received.values()) == {1}
    assert {urlsplit(form["StatusCallback"]).hostname for form in twilio_server.creates} == {
        "a.example.com",
        "b.example.com",
    }
