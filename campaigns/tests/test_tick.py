"""The tick: `manage.py tick` alone sends what is due; a flow that raises stops nothing else."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.management import call_command
from django_q.conf import Conf

from campaigns.isolation import tick_failures
from campaigns.models import (
    Campaign,
    Flow,
    FlowRun,
    FlowStep,
    Message,
    MessageTemplate,
    QuietHoursRule,
    SendRateBucket,
)
from campaigns.sending.deliver import messages_send
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.tests.flowkit import T0
from campaigns.tests.inbound_helpers import everyone
from campaigns.tick import STAGES, tick, tick_task

pytestmark = pytest.mark.django_db


def live_flow(store, slug: str, body: str) -> Flow:
    flow = Flow.objects.create(store=store, name=slug.title(), slug=slug, status="live", event_type="x")
    FlowStep.objects.create(flow=flow, position=1, kind="send", body=body)
    return flow


def enrol(flow: Flow, customer) -> None:
    FlowRun.objects.create(
        flow=flow,
        customer=customer,
        trigger_key=f"test:{flow.pk}:{customer.pk}",
        entered_at=T0,
        created_at=T0,
        current_step=flow.steps.get(position=1),
        next_due_at=T0,
    )


def broadcast(store, body: str = "The summer drop is live.") -> Campaign:
    template = MessageTemplate.objects.create(store=store, name="Drop", body=body)
    return Campaign.objects.create(
        store=store,
        name="Summer drop",
        slug="summer-drop",
        template=template,
        segment=everyone(store),
        send_at=T0,
        status=Campaign.Status.SCHEDULED,
    )


def bodies_to(server) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for form in server.creates:
        found.setdefault(form["To"], []).append(form["Body"])
    return found


def test_manage_py_tick_alone_sends_what_is_due(twilio_backend, shop, make_subscriber, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # as from cron: no worker would run a queued task
    ada, bob = make_subscriber(first_name="Ada"), make_subscriber(first_name="Bob")
    enrol(live_flow(shop, "welcome", "Hi {{ first_name }}, welcome!"), ada)
    broadcast(shop)

    call_command("tick", "--now", T0.isoformat())

    # Ada's broadcast text yields to her flow text (higher priority, within the overlap window).
    assert bodies_to(twilio_backend) == {
        ada.phone: ["Hi Ada, welcome!"],
        bob.phone: ["The summer drop is live."],
    }


def test_a_flow_that_raises_is_paused_and_the_rest_still_sends(
    twilio_backend, shop, make_subscriber, admin_client
):
    ada, bob = make_subscriber(first_name="Ada"), make_subscriber(first_name="Bob")
    broken = live_flow(shop, "broken", "Your size: {{ shoe_size }}")  # stored before steps were checked
    enrol(broken, ada)
    enrol(live_flow(shop, "welcome", "Hi {{ first_name }}, welcome!"), bob)
    broadcast(shop)

    report = tick(now=T0)

    assert bodies_to(twilio_backend) == {
        ada.phone: ["The summer drop is live."],
        bob.phone: ["Hi Bob, welcome!"],
    }
    broken.refresh_from_db()
    assert (broken.status, broken.error_at) == ("paused", T0)
    assert "shoe_size" in broken.error
    assert report.paused == ["flow Broken"]
    assert [(f["kind"], f["object"]) for f in tick_failures()] == [("flow", broken)]
    assert "shoe_size" in admin_client.get(f"/admin/campaigns/flow/{broken.pk}/change/").content.decode()
    home = admin_client.get("/admin/").content.decode()
    assert "Paused after an error" in home and "Flow: Broken" in home

    tick(now=T0 + timedelta(minutes=1))  # a paused flow is left alone: nothing raises again
    assert len(twilio_backend.creates) == 2


def test_a_campaign_that_raises_is_paused_with_its_error(twilio_backend, shop, make_subscriber, admin_client):
    make_subscriber()
    campaign = broadcast(shop, body="Your size: {{ shoe_size }}")

    tick(now=T0)

    campaign.refresh_from_db()
    assert (campaign.status, campaign.paused_from) == ("paused", "sending")
    assert "shoe_size" in campaign.error
    page = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/progress/").content.decode()
    assert "Paused after an error" in page and "shoe_size" in page
    change = admin_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "shoe_size" in change
    assert twilio_backend.creates == []


def test_a_tick_at_a_later_now_does_not_delay_real_texts(
    twilio_backend, shop, make_subscriber, settings, frozen_now
):
    settings.SMS_RATE_LIMIT = True
    shop.send_rate_per_second = None  # a long code: one text a second, shared by every worker
    # This test is about the real clock, so the sending window must not depend on when it runs.
    shop.send_window_start, shop.send_window_end = time(0, 0), time(23, 59)
    shop.save()
    QuietHoursRule.objects.all().delete()
    real_now = frozen_now
    ada = make_subscriber()
    [early] = messages_create(
        drafts=[MessageDraft(customer=ada, body="From the walk-through", idempotency_key="demo")],
        now=real_now,
    )
    tick(now=real_now + timedelta(minutes=61))  # docs/flows.md's `tick --now +61min`
    assert SendRateBucket.objects.get().next_slot_at > real_now + timedelta(minutes=61)

    [text] = messages_create(
        drafts=[MessageDraft(customer=make_subscriber(), body="Real", idempotency_key="real")],
        now=real_now,
    )
    assert messages_send(message_ids=[text.pk], now=real_now) == 1
    assert [form["Body"] for form in twilio_backend.creates] == ["From the walk-through", "Real"]
    assert Message.objects.get(pk=early.pk).status == "sent"


def test_the_schedule_runs_the_same_stages_as_tasks(
    twilio_backend, shop, make_subscriber, django_capture_on_commit_callbacks, frozen_now
):
    ada = make_subscriber()
    draft = MessageDraft(customer=ada, body="Your code: 1234", idempotency_key="t", kind="transactional")
    messages_create(drafts=[draft], now=frozen_now)
    Message.objects.update(enqueued_at=None)  # as if its send task had been lost

    with django_capture_on_commit_callbacks(execute=True):
        assert tick_task() == len(STAGES)

    assert bodies_to(twilio_backend) == {ada.phone: ["Your code: 1234"]}
