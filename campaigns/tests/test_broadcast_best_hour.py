"""A broadcast at each recipient's best hour: who has one gets the text when it comes in their
timezone; who has none gets it at the send time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.broadcasts.materialize import campaign_materialize
from campaigns.models import Campaign, Message, MessageTemplate
from campaigns.tests.inbound_helpers import everyone, make_store, subscribed
from customers.models import CustomerPrediction, PredictionRun

pytestmark = pytest.mark.django_db

SEND_AT = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 11:00 in New York
SEVEN_PM_NEW_YORK = datetime(2026, 6, 2, 23, 0, tzinfo=UTC)


def evening_reader(store):
    """A New York subscriber whose predicted best hour is 19:00."""
    customer = subscribed(store, "+12125550101", SEND_AT, timezone="America/New_York")
    run = PredictionRun.objects.create(store=store, started_at=SEND_AT, finished_at=SEND_AT)
    CustomerPrediction.objects.create(
        customer=customer, store=store, run=run, best_hour=19, scored_at=SEND_AT
    )
    return customer


def broadcast(store, **fields) -> Campaign:
    template = MessageTemplate.objects.create(store=store, name="Drop", body="The summer drop is live.")
    return Campaign.objects.create(
        store=store, name="Drop", slug="drop", template=template, segment=everyone(store), send_at=SEND_AT,
        status=Campaign.Status.SCHEDULED, **fields,
    )  # fmt: skip


def test_each_recipient_with_a_best_hour_gets_the_text_at_it():
    store = make_store()
    evening = evening_reader(store)
    unknown = subscribed(store, "+14155550102", SEND_AT, timezone="America/Los_Angeles")
    campaign = broadcast(store, at_best_hour=True, valid_hours=2)

    assert campaign_materialize(campaign_id=campaign.pk, now=SEND_AT) == 1
    assert campaign_materialize(campaign_id=campaign.pk, now=SEVEN_PM_NEW_YORK - timedelta(minutes=1)) == 0
    assert campaign_materialize(campaign_id=campaign.pk, now=SEVEN_PM_NEW_YORK) == 1

    texts = {m.customer_id: (m.created_at, m.valid_until) for m in Message.objects.filter(campaign=campaign)}
    assert texts == {
        unknown.pk: (SEND_AT, SEND_AT + timedelta(hours=2)),
        evening.pk: (SEVEN_PM_NEW_YORK, SEVEN_PM_NEW_YORK + timedelta(hours=2)),
    }
    campaign.refresh_from_db()
    assert (campaign.materialized_at, campaign.recipients_count) == (SEVEN_PM_NEW_YORK, 2)


def test_without_the_option_the_best_hour_is_not_read():
    store = make_store()
    evening_reader(store)
    campaign = broadcast(store)

    assert campaign_materialize(campaign_id=campaign.pk, now=SEND_AT) == 1
