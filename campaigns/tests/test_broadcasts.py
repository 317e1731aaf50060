from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection
from django_q.conf import Conf
from django_q.models import OrmQ

from campaigns.broadcasts.materialize import CampaignStateError, campaign_materialize, local_send_at
from campaigns.broadcasts.states import (
    campaign_cancel,
    campaign_pause,
    campaign_progress,
    campaign_resume,
    campaign_schedule,
    campaigns_due,
    campaigns_finish,
)
from campaigns.models import Campaign, Message, MessageTemplate
from campaigns.models.outbox import TransitionError
from campaigns.sending.deliver import paused_campaign_ids
from campaigns.sending.queue import foreground
from campaigns.tests.inbound_helpers import everyone, make_customer, make_store, subscribed
from campaigns.tick import tick
from customers.models import Customer, Segment

NOW = datetime(2026, 6, 2, 4, 0, tzinfo=UTC)
# Inside the sending window in every US timezone, for tests about what happens after materializing.
DAYTIME = datetime(2026, 6, 2, 17, 0, tzinfo=UTC)
C = Campaign.Status
S = Message.Status


@pytest.fixture
def store(db):
    return make_store()


def new_campaign(store, *, segment: Segment | None = None, **fields) -> Campaign:
    template = MessageTemplate.objects.create(
        store=store, name="Drop", body='Hi {{ first_name|default:"there" }}, the summer drop is live.'
    )
    defaults = {"send_at": NOW, "status": C.SCHEDULED, "slug": "summer-drop"}
    return Campaign.objects.create(
        store=store,
        name="Summer drop",
        template=template,
        segment=segment or everyone(store),
        **{**defaults, **fields},
    )


def test_it_materializes_one_text_per_subscribed_member(store):
    maya = subscribed(store, "+14155550101", NOW, first_name="Maya")
    sam = subscribed(store, "+14155550102", NOW)
    make_customer(store, "+14155550103", sms_consent=Customer.Consent.UNSUBSCRIBED)
    make_customer(store, "+14155550104", sms_consent=Customer.Consent.PENDING)
    campaign = new_campaign(store)

    created = campaign_materialize(campaign_id=campaign.pk, now=NOW)

    assert created == 2
    texts = {m.customer_id: m for m in Message.objects.filter(campaign=campaign)}
    assert texts[maya.pk].body == "Hi Maya, the summer drop is live."
    assert texts[sam.pk].body == "Hi there, the summer drop is live."
    assert texts[maya.pk].idempotency_key == f"campaign:{campaign.pk}:{maya.pk}"
    assert texts[maya.pk].valid_until == NOW + timedelta(hours=6)
    assert texts[maya.pk].kind == Message.Kind.MARKETING
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_count, campaign.materialized_at) == (C.SENDING, 2, NOW)


def test_it_follows_the_segment(store):
    subscribed(store, "+14155550101", NOW, city="Austin")
    subscribed(store, "+14155550102", NOW, city="Boston")
    austin = Segment.objects.create(
        store=store,
        name="Austin",
        slug="austin",
        rules={
            "type": "group",
            "match": "all",
            "children": [{"type": "profile", "field": "city", "value": "Austin"}],
        },
    )
    campaign = new_campaign(store, segment=austin)

    campaign_materialize(campaign_id=campaign.pk, now=NOW)

    assert list(Message.objects.filter(campaign=campaign).values_list("to", flat=True)) == ["+14155550101"]


def test_it_materializes_thousands_in_batches_with_few_queries(store, django_assert_max_num_queries):
    Customer.objects.bulk_create(
        [
            Customer(
                store=store,
                phone=f"+1415555{i:04d}",
                timezone="America/Chicago",
                timezone_source="given",
                sms_consent=Customer.Consent.SUBSCRIBED,
            )
            for i in range(2500)
        ]
    )
    campaign = new_campaign(store)

    # No query per customer: batches of 1,000 (SQLite further splits inserts at 999 parameters).
    with django_assert_max_num_queries(100):
        created = campaign_materialize(campaign_id=campaign.pk, now=NOW)

    assert created == 2500
    assert Message.objects.filter(campaign=campaign).values("customer").distinct().count() == 2500


def test_materializing_again_creates_nothing_twice(store):
    subscribed(store, "+14155550101", NOW)
    campaign = new_campaign(store)
    campaign_materialize(campaign_id=campaign.pk, now=NOW)

    assert campaign_materialize(campaign_id=campaign.pk, now=NOW) == 0
    assert Message.objects.filter(campaign=campaign).count() == 1


def test_a_run_that_died_midway_is_finished_by_the_next_without_duplicates(store):
    subscribed(store, "+14155550101", NOW)
    subscribed(store, "+14155550102", NOW)
    campaign = new_campaign(store)
    campaign_materialize(campaign_id=campaign.pk, now=NOW)
    # As if the worker died after its first batch: one text stored, the campaign not marked prepared.
    Message.objects.filter(campaign=campaign).order_by("pk").last().delete()
    Campaign.objects.filter(pk=campaign.pk).update(
        materialized_at=None, preparing_until=NOW + timedelta(minutes=5)
    )

    assert campaign_materialize(campaign_id=campaign.pk, now=NOW + timedelta(minutes=1)) == 0  # lease held
    assert campaign_materialize(campaign_id=campaign.pk, now=NOW + timedelta(minutes=20)) == 1

    assert Message.objects.filter(campaign=campaign).count() == 2
    campaign.refresh_from_db()
    assert (campaign.recipients_count, campaign.preparing_until) == (2, None)


def test_a_campaign_is_not_materialized_before_its_time_or_as_a_draft(store):
    subscribed(store, "+14155550101", NOW)
    later = new_campaign(store, send_at=NOW + timedelta(hours=1))
    draft = new_campaign(store, slug="draft", status=C.DRAFT)

    assert campaign_materialize(campaign_id=later.pk, now=NOW) == 0
    assert campaign_materialize(campaign_id=draft.pk, now=NOW) == 0
    assert not Message.objects.exists()


def test_an_empty_segment_is_done_at_once(store):
    campaign = new_campaign(store)

    campaign_materialize(campaign_id=campaign.pk, now=NOW)

    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at) == (C.DONE, NOW)


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("America/New_York", datetime(2026, 6, 2, 14, 0, tzinfo=UTC)),
        ("America/Chicago", datetime(2026, 6, 2, 15, 0, tzinfo=UTC)),
        ("America/Denver", datetime(2026, 6, 2, 16, 0, tzinfo=UTC)),
        ("America/Phoenix", datetime(2026, 6, 2, 17, 0, tzinfo=UTC)),
        ("America/Los_Angeles", datetime(2026, 6, 2, 17, 0, tzinfo=UTC)),
        ("America/Anchorage", datetime(2026, 6, 2, 18, 0, tzinfo=UTC)),
        ("Pacific/Honolulu", datetime(2026, 6, 2, 20, 0, tzinfo=UTC)),
    ],
)
def test_local_time_mode_sends_at_ten_in_each_recipients_timezone(store, tz, expected):
    customer = subscribed(store, "+14155550101", NOW, timezone=tz)
    campaign = new_campaign(store, local_send_time=time(10, 0), valid_hours=3)

    assert campaign_materialize(campaign_id=campaign.pk, now=expected - timedelta(minutes=1)) == 0
    assert campaign_materialize(campaign_id=campaign.pk, now=expected) == 1

    text = Message.objects.get(customer=customer)
    assert (text.created_at, text.valid_until) == (expected, expected + timedelta(hours=3))


def test_local_time_mode_prepares_each_timezone_when_its_moment_comes(store):
    east = subscribed(store, "+12125550101", NOW, timezone="America/New_York")
    west = subscribed(store, "+14155550102", NOW, timezone="America/Los_Angeles")
    campaign = new_campaign(store, local_send_time=time(10, 0))
    ten_in_new_york = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
    ten_in_los_angeles = datetime(2026, 6, 2, 17, 0, tzinfo=UTC)

    assert campaign_materialize(campaign_id=campaign.pk, now=NOW) == 0
    assert campaign_materialize(campaign_id=campaign.pk, now=ten_in_new_york) == 1
    assert campaign_materialize(campaign_id=campaign.pk, now=ten_in_new_york + timedelta(minutes=1)) == 0
    campaign.refresh_from_db()
    assert (campaign.status, campaign.materialized_at, campaign.recipients_count) == (C.SENDING, None, 1)

    assert campaign_materialize(campaign_id=campaign.pk, now=ten_in_los_angeles) == 1
    campaign.refresh_from_db()
    assert (campaign.materialized_at, campaign.recipients_count) == (ten_in_los_angeles, 2)
    assert dict(Message.objects.values_list("customer_id", "created_at")) == {
        east.pk: ten_in_new_york,
        west.pk: ten_in_los_angeles,
    }


def test_the_tick_keeps_preparing_a_local_time_campaign_until_the_last_timezone(
    store, django_capture_on_commit_callbacks
):
    subscribed(store, "+12125550101", NOW, timezone="America/New_York")
    campaign = new_campaign(store, local_send_time=time(10, 0), send_at=datetime(2026, 1, 1, tzinfo=UTC))

    assert campaigns_due(now=NOW) == [campaign.pk]
    tick(now=NOW)

    campaign.refresh_from_db()
    assert campaign.materialized_at is not None
    assert campaigns_due(now=NOW) == []


def test_local_time_across_the_autumn_dst_change():
    # 1 November 2026: clocks in New York go back at 02:00, so 10:00 is 15:00 UTC, not 14:00.
    starts = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)

    assert local_send_at(starts=starts, local_time=time(10), tz_name="America/New_York") == datetime(
        2026, 11, 1, 15, 0, tzinfo=UTC
    )


def test_local_time_already_passed_moves_to_the_next_day():
    starts = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)

    assert local_send_at(starts=starts, local_time=time(10), tz_name="America/New_York") == datetime(
        2026, 6, 3, 14, 0, tzinfo=UTC
    )
    assert local_send_at(starts=starts, local_time=time(10), tz_name="America/Los_Angeles") == datetime(
        2026, 6, 2, 17, 0, tzinfo=UTC
    )


def test_pausing_holds_back_its_queued_texts_and_resuming_releases_them(store):
    subscribed(store, "+14155550101", DAYTIME)
    subscribed(store, "+14155550102", DAYTIME)
    campaign = new_campaign(store, send_at=DAYTIME)
    campaign_materialize(campaign_id=campaign.pk, now=DAYTIME)
    sendable = Message.objects.filter(status=S.QUEUED).exclude(campaign_id__in=paused_campaign_ids())

    campaign_pause(campaign=campaign)
    assert campaign.status == C.PAUSED
    assert sendable.count() == 0

    campaign_resume(campaign=campaign)
    assert campaign.status == C.SENDING
    assert sendable.count() == 2


def test_a_scheduled_campaign_paused_is_not_materialized_until_resumed(store):
    subscribed(store, "+14155550101", NOW)
    campaign = new_campaign(store)
    campaign_pause(campaign=campaign)

    assert campaign_materialize(campaign_id=campaign.pk, now=NOW) == 0
    campaign_resume(campaign=campaign)
    assert campaign.status == C.SCHEDULED
    assert campaign_materialize(campaign_id=campaign.pk, now=NOW) == 1


def test_state_changes_out_of_order_are_refused(store):
    campaign = new_campaign(store, status=C.DRAFT)

    with pytest.raises(CampaignStateError):
        campaign_pause(campaign=campaign)
    with pytest.raises(CampaignStateError):
        campaign_resume(campaign=campaign)
    campaign_schedule(campaign=campaign)
    with pytest.raises(CampaignStateError):
        campaign_schedule(campaign=campaign)
    assert campaign.status == C.SCHEDULED


def test_a_finished_campaign_has_no_move_left_and_a_move_not_listed_is_a_bug(store):
    done = new_campaign(store, status=C.DONE)

    with pytest.raises(TransitionError):
        Campaign.objects.filter(pk=done.pk).move(source=[C.DONE], target=C.SENDING)
    with pytest.raises(TransitionError):
        Campaign.objects.filter(pk=done.pk).move(source=[C.DRAFT], target=C.DONE)
    assert Campaign.objects.filter(pk=done.pk).move(source=[C.SENDING], target=C.DONE) == 0
    with pytest.raises(CampaignStateError):
        campaign_cancel(campaign=done, now=NOW)
    done.refresh_from_db()
    assert (done.status, done.finished_at) == (C.DONE, None)


def test_cancelling_suppresses_what_has_not_gone_out(store):
    subscribed(store, "+14155550101", DAYTIME)
    subscribed(store, "+14155550102", DAYTIME)
    campaign = new_campaign(store, send_at=DAYTIME)
    campaign_materialize(campaign_id=campaign.pk, now=DAYTIME)
    gone = Message.objects.filter(campaign=campaign).first()
    Message.objects.filter(pk=gone.pk).update(status=S.SENT)

    campaign_cancel(campaign=campaign, now=DAYTIME)

    statuses = dict(Message.objects.filter(campaign=campaign).values_list("pk", "status"))
    assert statuses.pop(gone.pk) == S.SENT
    assert list(statuses.values()) == [S.SUPPRESSED]
    assert Message.objects.get(campaign=campaign, status=S.SUPPRESSED).reason == "campaign_cancelled"


def test_progress_counts_every_status_and_suppressions_by_reason(store):
    for i in range(10):
        subscribed(store, f"+141555501{i:02d}", DAYTIME)
    campaign = new_campaign(store, send_at=DAYTIME)
    campaign_materialize(campaign_id=campaign.pk, now=DAYTIME)
    ids = list(Message.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True))
    for pks, changes in [
        (ids[:3], {"status": S.DELIVERED}),
        (ids[3:5], {"status": S.SENT}),
        (ids[5:6], {"status": S.FAILED, "error_code": "21211"}),
        (ids[6:8], {"status": S.SUPPRESSED, "reason": "quiet_hours_expired"}),
        (ids[8:9], {"status": S.SUPPRESSED, "reason": "frequency_cap"}),
    ]:
        Message.objects.filter(pk__in=pks).update(**changes)

    progress = campaign_progress(campaign)

    assert progress.materialized == 10
    assert progress.by_status == {S.DELIVERED: 3, S.SENT: 2, S.FAILED: 1, S.SUPPRESSED: 3, S.QUEUED: 1}
    assert progress.suppressed_by_reason == {"quiet_hours_expired": 2, "frequency_cap": 1}
    assert progress.waiting == 1
    assert progress.percent_done == 90.0
    assert [(label, n) for label, _, n, _ in progress.bars] == [
        ("Delivered", 3),
        ("Sent", 2),
        ("Failed", 1),
        ("Suppressed", 3),
        ("Waiting", 1),
    ]


def test_a_campaign_with_nothing_left_to_send_is_done(store):
    subscribed(store, "+14155550101", DAYTIME)
    campaign = new_campaign(store, send_at=DAYTIME)
    campaign_materialize(campaign_id=campaign.pk, now=DAYTIME)

    assert campaigns_finish(now=DAYTIME) == 0
    Message.objects.filter(campaign=campaign).update(status=S.DELIVERED)
    assert campaigns_finish(now=DAYTIME) == 1
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at) == (C.DONE, DAYTIME)


def test_the_tick_materializes_due_campaigns_through_the_task_queue(
    store, django_capture_on_commit_callbacks
):
    subscribed(store, "+14155550101", NOW)
    due = new_campaign(store)
    later = new_campaign(store, slug="later", send_at=datetime(2100, 1, 1, tzinfo=UTC))

    assert campaigns_due(now=NOW) == [due.pk]
    with django_capture_on_commit_callbacks(execute=True):
        tick(now=NOW, in_process=False)

    assert Message.objects.filter(campaign=due).count() == 1
    assert not Message.objects.filter(campaign=later).exists()


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_batches_are_stored_beside_the_next_ones_reading_each_text_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("batches are stored on a connection of their own on PostgreSQL only")
    monkeypatch.setattr("campaigns.broadcasts.materialize.BATCH", 1000)
    store = make_store()
    Customer.objects.bulk_create(
        Customer(
            store=store,
            phone=f"+1415555{i:04d}",
            first_name=f"Guest{i}",
            timezone="America/Chicago",
            timezone_source="given",
            sms_consent=Customer.Consent.SUBSCRIBED,
        )
        for i in range(2500)
    )
    campaign = new_campaign(store, send_at=DAYTIME)  # sent at once: queued, not held

    def backends() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    monkeypatch.setattr(Conf, "SYNC", False)
    before = backends()
    with foreground():  # as `manage.py tick`: the texts are left for its own send stage
        created = campaign_materialize(campaign_id=campaign.pk, now=DAYTIME)

    assert created == 2500
    bodies = dict(Message.objects.filter(campaign=campaign).values_list("customer__first_name", "body"))
    assert len(bodies) == 2500 and bodies["Guest2499"] == "Hi Guest2499, the summer drop is live."
    campaign.refresh_from_db()
    assert (campaign.recipients_count, campaign.materialized_at) == (2500, DAYTIME)
    assert Message.objects.filter(campaign=campaign, status=S.QUEUED).count() == 2500
    assert backends() == before  # the storing thread's connection is closed
    assert not OrmQ.objects.exists()  # the storing thread acted in the caller's context
