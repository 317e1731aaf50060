from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django_q.conf import Conf

from campaigns.models import Attribution, OptOutAttribution
from campaigns.reports.stage import reports_tick
from campaigns.tests.flowkit import make_customer, make_store
from campaigns.tests.history import text
from customers.ingest.consent import consent_change
from customers.ingest.events import events_ingest
from customers.models import ListHealth


@pytest.mark.django_db(transaction=True)
def test_an_ingested_order_is_credited_at_once(settings, frozen_now):
    store = make_store()
    ana = make_customer(store)
    now = frozen_now
    message = text(ana, now - timedelta(hours=2))

    events_ingest(
        store=store,
        payloads=[
            {
                "type": "order_placed",
                "customer": {"phone": ana.phone},
                "occurred_at": now.isoformat(),
                "properties": {"total": 25, "order_id": "o1", "items": []},
                "id": "o1",
            }
        ],
        now=now,
    )

    assert Attribution.objects.get().message_id == message.pk


@pytest.mark.django_db(transaction=True)
def test_an_opt_out_is_tied_at_once(frozen_now):
    store = make_store()
    ana = make_customer(store)
    now = frozen_now
    message = text(ana, now - timedelta(hours=2))

    consent_change(customer=ana, action="opt_out", source="keyword", occurred_at=now)

    assert OptOutAttribution.objects.get().message_id == message.pk


@pytest.mark.django_db
def test_the_tick_stage_runs_every_part(frozen_now):
    store = make_store()
    report = reports_tick(now=frozen_now)
    assert (report.orders_credited, report.opt_outs_tied, report.decisions) == (0, 0, 0)
    assert report.health_counted == 1
    assert ListHealth.objects.get(store=store).taken_at == frozen_now


@pytest.mark.django_db
def test_from_cron_alone_the_reports_command_credits_an_order(monkeypatch, frozen_now):
    monkeypatch.setattr(Conf, "SYNC", False)  # no cluster: the task queued on ingestion never runs
    store = make_store()
    ana = make_customer(store)
    now = frozen_now
    message = text(ana, now - timedelta(hours=2))
    order = {"total": 25, "order_id": "o1", "items": []}
    payload = {"type": "order_placed", "customer": {"phone": ana.phone}, "id": "o1", "properties": order}
    events_ingest(store=store, payloads=[{**payload, "occurred_at": now.isoformat()}], now=now)
    assert not Attribution.objects.exists()

    out = StringIO()
    call_command("reports_tick", "--now", (now + timedelta(minutes=5)).isoformat(), stdout=out)

    assert Attribution.objects.get().message_id == message.pk
    assert "1 orders credited" in out.getvalue()
