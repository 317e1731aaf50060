"""The consent ledger only grows: no save over a record, no delete, in bulk or one by one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from customers.ingest.consent import consent_change
from customers.models import AppendOnlyError, ConsentRecord, Customer, Store

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    store = Store.objects.create(slug="shop", brand_name="Shop", site_url="https://shop.example.com")
    customer = Customer.objects.create(
        store=store, phone="+14155550101", timezone="America/New_York", timezone_source="given"
    )
    return consent_change(customer=customer, action="opt_in", source="api", wording="Yes", occurred_at=NOW)


def test_it_refuses_to_save_over_a_record(record):
    record.action = ConsentRecord.Action.OPT_OUT

    with pytest.raises(AppendOnlyError):
        record.save()

    assert ConsentRecord.objects.get().action == ConsentRecord.Action.OPT_IN


def test_it_refuses_to_delete_a_record(record):
    with pytest.raises(AppendOnlyError):
        record.delete()

    assert ConsentRecord.objects.filter(pk=record.pk).exists()


def test_it_refuses_bulk_updates_and_deletes(record):
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.filter(pk=record.pk).update(action=ConsentRecord.Action.OPT_OUT)
    with pytest.raises(AppendOnlyError):
        ConsentRecord.objects.all().delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        ConsentRecord.objects.bulk_update([record], ["action"])

    assert ConsentRecord.objects.get().action == ConsentRecord.Action.OPT_IN


def test_a_change_of_mind_is_a_new_record(record):
    consent_change(
        customer=record.customer, action="opt_out", source="keyword", keyword="STOP", occurred_at=NOW
    )

    assert list(record.customer.consent_records.order_by("pk").values_list("action", flat=True)) == [
        "opt_in",
        "opt_out",
    ]


def test_erasing_the_customer_removes_their_records(record):
    record.customer.delete()

    assert not ConsentRecord.objects.exists()
