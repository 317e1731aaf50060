from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from campaigns.content.links import PendingLink
from campaigns.content.meter import encoding_and_segments
from campaigns.models import Link, Message
from campaigns.sending.outbox import MessageDraft, message_ids_create, messages_create
from customers.models import Customer

NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)  # 12:00 in New York
NIGHT = datetime(2026, 5, 5, 3, 0, tzinfo=UTC)  # 23:00 in New York


def draft(customer, key="cart-1-step-1", **fields):
    return MessageDraft(
        customer=customer, body=fields.pop("body", "Your cart is waiting"), idempotency_key=key, **fields
    )


def test_a_draft_is_stored_once_however_often_it_is_handed_in(make_subscriber):
    ada = make_subscriber()

    first = messages_create(drafts=[draft(ada), draft(ada)], now=NOON)
    again = messages_create(drafts=[draft(ada)], now=NOON + timedelta(minutes=1))

    assert len(first) == 1 and again == []
    assert Message.objects.filter(idempotency_key="cart-1-step-1").count() == 1


def test_a_key_stored_meanwhile_is_skipped_even_when_the_caller_says_the_keys_are_new(make_subscriber):
    ada = make_subscriber()
    [stored] = message_ids_create(drafts=[draft(ada, body="First")], now=NOON)

    again = message_ids_create(drafts=[draft(ada, body="Second")], now=NOON, new_keys=True)

    assert again == []
    assert list(Message.objects.values_list("id", "body")) == [(stored, "First")]


def test_new_keys_with_one_stored_meanwhile_store_the_others_with_their_links(make_subscriber):
    ada, bo = make_subscriber(), make_subscriber()
    [stored] = message_ids_create(drafts=[draft(ada, key="a", body="First")], now=NOON)
    link = PendingLink("abcdefghij", "https://shop.example.com/", "drop", "broadcast")

    ids = message_ids_create(
        drafts=[draft(ada, key="a", body="Again"), draft(bo, key="b", body="Hi Bo", links=[link])],
        now=NOON,
        new_keys=True,
    )

    [new] = ids
    assert sorted(Message.objects.values_list("id", "idempotency_key", "body")) == sorted(
        [(stored, "a", "First"), (new, "b", "Hi Bo")]
    )
    assert list(Link.objects.values_list("message_id", "customer_id", "code")) == [(new, bo.pk, "abcdefghij")]


def test_new_keys_are_stored_under_the_ids_returned_for_them(make_subscriber):
    customers = [make_subscriber() for _ in range(3)]

    ids = message_ids_create(
        drafts=[draft(c, key=f"k{i}", body=f"Hi {i}") for i, c in enumerate(customers)],
        now=NOON,
        new_keys=True,
    )

    stored = dict(Message.objects.values_list("id", "idempotency_key"))
    assert [stored[pk] for pk in ids] == ["k0", "k1", "k2"]
    # the table's own sequence moved past them: a later insert does not clash
    [later] = message_ids_create(drafts=[draft(customers[0], key="later")], now=NOON)
    assert later > max(ids)


def test_rows_of_one_batch_keep_their_own_values_and_share_the_common_ones(make_subscriber):
    ada = make_subscriber()
    bo = make_subscriber()
    later = NOON + timedelta(hours=30)

    ids = message_ids_create(
        drafts=[draft(ada, key="a", body="Hi Ada"), draft(bo, key="b", body="Hi Bo", valid_until=later)],
        now=NOON,
    )

    rows = Message.objects.filter(id__in=ids).order_by("idempotency_key")
    assert [(m.customer_id, m.to, m.body, m.status) for m in rows] == [
        (ada.pk, ada.phone, "Hi Ada", Message.Status.QUEUED),
        (bo.pk, bo.phone, "Hi Bo", Message.Status.QUEUED),
    ]
    assert [m.valid_until for m in rows] == [NOON + timedelta(hours=48), later]
    assert {(m.created_at, m.provider_sid, m.attempts) for m in rows} == {(NOON, "", 0)}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_with_the_same_key_store_one_row(shop):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip(
            "in-memory SQLite fails a second writer ('table is locked') instead of queueing it; "
            "run with DATABASE_URL=postgres://... or a file database"
        )
    ada = Customer.objects.create(
        store=shop,
        phone="+12125550100",
        timezone="America/New_York",
        timezone_source="given",
        sms_consent="subscribed",
    )
    start = threading.Barrier(2)
    results: list[list[Message]] = []
    errors: list[BaseException] = []

    def create() -> None:
        try:
            start.wait()
            results.append(messages_create(drafts=[draft(ada, key="race")], now=NOON))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Message.objects.filter(idempotency_key="race").count() == 1
    assert sorted(len(r) for r in results) == [0, 1]
    stored = Message.objects.get(idempotency_key="race")
    # A plain allow stores no decision, and the losing call stores none for a row it did not create.
    assert stored.decisions.filter(stage="create").count() == 0


def test_it_stores_encoding_segments_links_and_source(make_subscriber):
    ada = make_subscriber()
    link = PendingLink(code="abc123", target_url="https://shop.example.com/cart", utm_campaign="cart")

    [message] = messages_create(drafts=[draft(ada, links=[link], variant="B", flow_run_id=None)], now=NOON)

    assert (message.encoding, message.segments, message.variant) == ("gsm7", 1, "B")
    assert Link.objects.get(code="abc123").message_id == message.pk
    assert message.valid_until == NOON + timedelta(hours=48)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("a" * 160, ("gsm7", 1)),
        ("a" * 161, ("gsm7", 2)),
        ("a" * 306, ("gsm7", 2)),
        ("a" * 307, ("gsm7", 3)),
        ("{" * 80, ("gsm7", 1)),
        ("{" * 81, ("gsm7", 2)),
        ("It’s here", ("ucs2", 1)),
        ("’" * 71, ("ucs2", 2)),
    ],
)
def test_it_counts_encoding_and_segments(body, expected):
    assert encoding_and_segments(body) == expected


def open_all_day(store) -> None:
    """Send tasks run at the real time: a window open all day keeps these tests clock-free."""
    store.send_window_start, store.send_window_end = time(0), time(23, 59, 59, 999999)
    store.save()


def test_sends_are_queued_only_after_commit(
    make_subscriber, django_capture_on_commit_callbacks, settings, shop, frozen_now
):
    settings.SMS_BACKEND = "console"
    open_all_day(shop)
    ada = make_subscriber()

    with django_capture_on_commit_callbacks() as callbacks:
        [message] = messages_create(drafts=[draft(ada)], now=frozen_now)
        assert Message.objects.get(pk=message.pk).status == "queued"

    assert len(callbacks) == 1
    callbacks[0]()
    assert Message.objects.get(pk=message.pk).status == "sent"


def test_sends_go_out_in_batches(
    make_subscriber, django_capture_on_commit_callbacks, settings, shop, frozen_now
):
    settings.SMS_BACKEND = "console"
    settings.SMS_SEND_BATCH_SIZE = 2
    open_all_day(shop)
    customers = [make_subscriber() for _ in range(5)]

    with django_capture_on_commit_callbacks(execute=True):
        messages_create(drafts=[draft(c, key=f"drop-{c.pk}") for c in customers], now=frozen_now)

    assert Message.objects.filter(status="sent").count() == 5
    assert len({m.claim_token for m in Message.objects.all()}) == 3


def test_a_message_outside_the_window_is_held_not_queued(make_subscriber, django_capture_on_commit_callbacks):
    ada = make_subscriber()

    with django_capture_on_commit_callbacks() as callbacks:
        [message] = messages_create(drafts=[draft(ada)], now=NIGHT)

    assert (message.status, message.send_after) == ("held", datetime(2026, 5, 5, 12, 0, tzinfo=UTC))
    assert callbacks == []


def test_a_confirmation_request_skips_quiet_hours(make_subscriber):
    pending = make_subscriber(sms_consent=Customer.Consent.PENDING)

    [message] = messages_create(
        drafts=[draft(pending, kind="transactional", body="Reply Y to confirm")], now=NIGHT
    )

    assert (message.status, message.priority) == ("queued", 100)


def test_a_higher_priority_text_replaces_a_queued_lower_one(make_subscriber):
    ada = make_subscriber()
    [promo] = messages_create(drafts=[draft(ada, key="promo", priority=20)], now=NIGHT)

    [cart] = messages_create(drafts=[draft(ada, key="cart", priority=50)], now=NIGHT + timedelta(minutes=5))

    promo.refresh_from_db()
    assert (promo.status, promo.reason) == ("suppressed", "superseded")
    assert cart.status == "held"
    assert [d.reason for d in promo.decisions.order_by("id")] == ["quiet_hours", "superseded"]


def test_priorities_default_by_source(make_subscriber):
    ada, bob = make_subscriber(), make_subscriber()

    [campaign_text] = messages_create(drafts=[draft(ada, key="c")], now=NOON)
    [reply] = messages_create(drafts=[draft(bob, key="r", kind="transactional")], now=NOON)

    assert (campaign_text.priority, reply.priority) == (20, 100)
