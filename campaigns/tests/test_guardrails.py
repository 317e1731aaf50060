from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.models import Message, QuietHoursRule
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.sending.policy import Limits, Recipient, Slot, decide, region_for_phone, window_opens
from customers.models import Customer

DEFAULT_LIMITS = Limits()
SUBSCRIBED = Recipient(consent=Customer.Consent.SUBSCRIBED, timezone="America/New_York")


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def verdict(
    now: datetime,
    *,
    recipient=SUBSCRIBED,
    limits=DEFAULT_LIMITS,
    slots=(),
    kind="marketing",
    priority=20,
    valid_until=None,
    confirms_opt_out=False,
):
    return decide(
        kind=kind,
        priority=priority,
        valid_until=valid_until,
        confirms_opt_out=confirms_opt_out,
        recipient=recipient,
        limits=limits,
        slots=list(slots),
        may_supersede=True,
        now=now,
    )


# Where 08:00 local falls in UTC on the two DST change days of 2026 (8 March, 1 November).
US_ZONES = [
    ("America/New_York", 12, 13),
    ("America/Chicago", 13, 14),
    ("America/Denver", 14, 15),
    ("America/Phoenix", 15, 15),
    ("America/Los_Angeles", 15, 16),
    ("America/Anchorage", 16, 17),
    ("Pacific/Honolulu", 18, 18),
    ("America/Puerto_Rico", 12, 12),
]


@pytest.mark.parametrize(("zone", "spring_utc", "fall_utc"), US_ZONES)
def test_a_text_at_22_local_waits_for_8_local_across_the_dst_change(zone, spring_utc, fall_utc):
    recipient = Recipient(consent=Customer.Consent.SUBSCRIBED, timezone=zone)

    spring = verdict(local(zone, 2026, 3, 7, 22, 0), recipient=recipient)
    fall = verdict(local(zone, 2026, 10, 31, 22, 0), recipient=recipient)

    assert (spring.outcome, spring.reason) == ("hold", "quiet_hours")
    assert spring.held_until == datetime(2026, 3, 8, spring_utc, 0, tzinfo=UTC)
    assert fall.held_until == datetime(2026, 11, 1, fall_utc, 0, tzinfo=UTC)


@pytest.mark.parametrize(("zone", "spring_utc", "fall_utc"), US_ZONES)
def test_early_morning_on_the_dst_day_waits_until_8_the_same_day(zone, spring_utc, fall_utc):
    recipient = Recipient(consent=Customer.Consent.SUBSCRIBED, timezone=zone)

    spring = verdict(local(zone, 2026, 3, 8, 1, 30), recipient=recipient)
    fall = verdict(local(zone, 2026, 11, 1, 7, 59), recipient=recipient)

    assert spring.held_until == datetime(2026, 3, 8, spring_utc, 0, tzinfo=UTC)
    assert fall.held_until == datetime(2026, 11, 1, fall_utc, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", [z for z, _, _ in US_ZONES])
def test_inside_the_window_a_text_goes_now(zone):
    recipient = Recipient(consent=Customer.Consent.SUBSCRIBED, timezone=zone)
    for hour, minute in [(8, 0), (12, 0), (20, 59)]:
        now = local(zone, 2026, 11, 1, hour, minute)
        assert verdict(now, recipient=recipient).outcome == "allow"
    assert verdict(local(zone, 2026, 11, 1, 21, 0), recipient=recipient).outcome == "hold"


def test_a_stricter_state_window_applies():
    florida = Limits(window_start=time(8), window_end=time(20), state_per_day=3)
    connecticut = Limits(window_start=time(9), window_end=time(20))

    assert verdict(local("America/New_York", 2026, 5, 4, 20, 30), limits=florida).outcome == "hold"
    held = verdict(local("America/New_York", 2026, 5, 4, 8, 30), limits=connecticut)
    assert held.held_until == local("America/New_York", 2026, 5, 4, 9, 0)


def test_opted_out_customers_get_nothing_but_the_opt_out_confirmation():
    gone = Recipient(consent=Customer.Consent.UNSUBSCRIBED, timezone="America/New_York")
    now = local("America/New_York", 2026, 5, 4, 12, 0)

    assert verdict(now, recipient=gone).reason == "opted_out"
    assert verdict(now, recipient=gone, kind="transactional").reason == "opted_out"
    assert verdict(now, recipient=gone, kind="transactional", confirms_opt_out=True).outcome == "allow"


def test_marketing_needs_a_subscription_but_a_confirmation_request_does_not():
    pending = Recipient(consent=Customer.Consent.PENDING, timezone="America/New_York")
    night = local("America/New_York", 2026, 5, 4, 23, 0)

    assert verdict(night, recipient=pending).reason == "no_consent"
    assert verdict(night, recipient=pending, kind="transactional").outcome == "allow"


def test_an_undeliverable_number_is_suppressed():
    dead = Recipient(consent=Customer.Consent.SUBSCRIBED, timezone="America/New_York", undeliverable=True)
    assert verdict(local("America/New_York", 2026, 5, 4, 12), recipient=dead).reason == "number_undeliverable"


def test_late_is_never():
    now = local("America/New_York", 2026, 5, 4, 12)
    assert verdict(now, valid_until=now).reason == "expired"
    night = local("America/New_York", 2026, 5, 4, 22)
    dropped = verdict(night, valid_until=night + timedelta(hours=2))
    assert (dropped.outcome, dropped.reason) == ("suppress", "quiet_hours")


def test_the_daily_cap_defers_to_when_the_oldest_text_leaves_the_window():
    sent = local("America/New_York", 2026, 5, 4, 10, 0)
    held = verdict(
        sent + timedelta(hours=5),
        slots=[Slot(at=sent, priority=20, message_id=1)],
        limits=Limits(overlap=timedelta(hours=1)),
    )

    assert (held.outcome, held.reason, held.held_until) == (
        "hold",
        "frequency_cap",
        sent + timedelta(hours=24),
    )


def test_the_cap_drops_a_text_whose_validity_ends_first():
    sent = local("America/New_York", 2026, 5, 4, 10, 0)
    now = sent + timedelta(hours=5)
    dropped = verdict(
        now,
        slots=[Slot(at=sent, priority=20, message_id=1)],
        valid_until=now + timedelta(hours=4),
        limits=Limits(overlap=timedelta(hours=1)),
    )

    assert (dropped.outcome, dropped.reason) == ("suppress", "frequency_cap")


def test_the_weekly_cap_is_tighter_for_cold_customers():
    now = local("America/New_York", 2026, 5, 8, 12, 0)
    slots = [Slot(at=now - timedelta(days=3), priority=20, message_id=1)]
    warm = Limits(per_day=1, per_week=3, overlap=timedelta(hours=1))
    cold = Limits(per_day=1, per_week=1, overlap=timedelta(hours=1))

    assert verdict(now, slots=slots, limits=warm).outcome == "allow"
    held = verdict(now, slots=slots, limits=cold)
    assert (held.reason, held.held_until) == ("frequency_cap", now + timedelta(days=4))


def test_the_state_limit_of_three_per_day_binds_over_a_looser_store_cap():
    now = local("America/New_York", 2026, 5, 8, 18, 0)
    slots = [Slot(at=now - timedelta(hours=h), priority=20, message_id=h) for h in (2, 4, 6)]
    florida = Limits(per_day=5, per_week=10, state_per_day=3, window_end=time(20), overlap=timedelta(hours=1))

    held = verdict(now, slots=slots, limits=florida)

    assert (held.reason, held.held_until) == ("state_cap", now - timedelta(hours=6) + timedelta(hours=24))


def test_overlap_lets_the_higher_priority_text_win():
    now = local("America/New_York", 2026, 5, 8, 12, 0)
    promo = Slot(at=now + timedelta(hours=2), priority=20, message_id=7, unsent=True)
    cart = Slot(at=now - timedelta(hours=2), priority=50, message_id=8)
    limits = Limits(per_day=5, per_week=10)

    replaced = verdict(now, slots=[promo], priority=50, limits=limits)
    blocked = verdict(now, slots=[cart], priority=20, limits=limits)

    assert replaced.outcome == "allow" and replaced.superseded == (7,)
    assert (blocked.outcome, blocked.reason) == ("suppress", "overlap")


def test_a_higher_priority_text_waits_out_the_overlap_after_one_already_sent():
    now = local("America/New_York", 2026, 5, 8, 9, 0)
    sent_promo = Slot(at=now - timedelta(hours=1), priority=20, message_id=7)

    held = verdict(now, slots=[sent_promo], priority=50, limits=Limits(per_day=5, per_week=10))

    assert (held.reason, held.held_until) == ("overlap", now + timedelta(hours=11))


def test_window_opens_returns_the_moment_itself_inside_the_window():
    now = local("America/Chicago", 2026, 7, 1, 14, 0)
    assert window_opens(now, "America/Chicago", time(8), time(21)) == now


def test_the_state_comes_from_the_area_code_when_no_region_is_given():
    assert region_for_phone("+13055550100") == "FL"
    assert region_for_phone("+12035550100") == "CT"
    assert region_for_phone("+12125550100") == "NY"
    assert region_for_phone("+447700900000") == ""


# --- with the database: state rules as data, batches --------------------------------------


def test_the_state_rules_are_seeded(db):
    rules = {r.region: (r.window_start, r.window_end, r.max_per_24h) for r in QuietHoursRule.objects.all()}
    assert rules["FL"] == (time(8), time(20), 3)
    assert rules["OK"] == rules["MD"] == (time(8), time(20), 3)
    assert rules["CT"] == (time(9), time(20), None)


def _draft(customer, key):
    return MessageDraft(customer=customer, body="New drops are live", idempotency_key=key)


def test_state_windows_apply_by_region_or_area_code(make_subscriber):
    miami = make_subscriber(phone="+13055550101")
    hartford = make_subscriber(region="CT")
    new_york = make_subscriber()
    evening = local("America/New_York", 2026, 5, 4, 20, 30)

    created = messages_create(
        drafts=[_draft(c, f"k{c.pk}") for c in (miami, hartford, new_york)], now=evening
    )

    status = {m.customer_id: (m.status, m.reason) for m in created}
    assert status[miami.pk] == ("held", "quiet_hours")
    assert status[hartford.pk] == ("held", "quiet_hours")
    assert status[new_york.pk] == ("queued", "")


def test_a_store_edits_a_state_rule_as_data(make_subscriber, shop):
    QuietHoursRule.objects.create(store=shop, region="FL", window_start=time(10), window_end=time(18))
    miami = make_subscriber(phone="+13055550102")

    [message] = messages_create(
        drafts=[_draft(miami, "edited")], now=local("America/New_York", 2026, 5, 4, 9)
    )

    assert message.send_after == local("America/New_York", 2026, 5, 4, 10)


def test_caps_and_overlap_in_one_batch_cost_a_few_queries(make_subscriber, django_assert_max_num_queries):
    customers = [make_subscriber() for _ in range(30)]
    now = local("America/New_York", 2026, 5, 4, 12)
    messages_create(drafts=[_draft(c, f"first-{c.pk}") for c in customers], now=now)

    with django_assert_max_num_queries(14):
        second = messages_create(drafts=[_draft(c, f"second-{c.pk}") for c in customers], now=now)

    assert {(m.status, m.reason) for m in second} == {("suppressed", "overlap")}
    assert Message.objects.filter(status="queued").count() == 30


def test_every_decision_is_recorded(make_subscriber):
    ada = make_subscriber(sms_consent=Customer.Consent.UNSUBSCRIBED)

    [message] = messages_create(drafts=[_draft(ada, "gone")], now=local("America/New_York", 2026, 5, 4, 12))

    [decision] = message.decisions.all()
    assert (decision.stage, decision.outcome, decision.reason) == ("create", "suppress", "opted_out")
    assert decision.decided_at == local("America/New_York", 2026, 5, 4, 12)


def test_cold_customers_get_the_tighter_weekly_cap(make_subscriber):
    monday = local("America/New_York", 2026, 5, 4, 12)
    thursday = monday + timedelta(days=3)
    cold = make_subscriber(last_sms_click_at=monday - timedelta(days=90))
    warm = make_subscriber(last_sms_click_at=monday - timedelta(days=5))
    Customer.objects.filter(pk__in=[cold.pk, warm.pk]).update(created_at=monday - timedelta(days=200))
    messages_create(drafts=[_draft(c, f"mon-{c.pk}") for c in (cold, warm)], now=monday)

    second = messages_create(drafts=[_draft(c, f"thu-{c.pk}") for c in (cold, warm)], now=thursday)

    status = {m.customer_id: (m.status, m.reason) for m in second}
    assert status[warm.pk] == ("queued", "")
    assert status[cold.pk] == ("suppressed", "frequency_cap")  # next room is Monday, after its 48 h validity


def test_the_opt_out_confirmation_is_the_one_text_after_an_opt_out(make_subscriber):
    gone = make_subscriber(sms_consent=Customer.Consent.UNSUBSCRIBED)
    night = local("America/New_York", 2026, 5, 4, 23)

    confirmation, other = messages_create(
        drafts=[
            MessageDraft(
                customer=gone,
                body="You're unsubscribed.",
                idempotency_key="bye",
                kind="transactional",
                confirms_opt_out=True,
            ),
            MessageDraft(
                customer=gone, body="Your code is 1234", idempotency_key="code", kind="transactional"
            ),
        ],
        now=night,
    )

    assert (confirmation.status, other.status, other.reason) == ("queued", "suppressed", "opted_out")


@settings(max_examples=300, deadline=None)
@given(
    at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from([z for z, _, _ in US_ZONES]),
)
def test_the_window_opening_is_the_first_allowed_local_moment(at, zone):
    opens = window_opens(at, zone, time(8), time(21))

    local_open = opens.astimezone(ZoneInfo(zone))
    assert opens >= at
    assert time(8) <= local_open.time() < time(21)
    assert opens == at or local_open.time() == time(8)
    assert opens - at <= timedelta(hours=12)  # 11 h of night, 12 h when clocks fall back
