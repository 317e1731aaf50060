"""The consent ledger: every change of a customer's SMS consent goes through `consent_change`.

The ledger is append-only; each opt-out is also an `sms_opted_out` event on the timeline.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from customers.ingest.event_rows import events_announce, events_insert
from customers.models import ConsentRecord, Customer, Event, Store
from customers.signals import customer_opted_out

# --- the app's own writes: one customer, one event, one consent change -------------------------
# Link taps, keyword replies, the preference page and the sign-up pages come in here, so what they
# record updates the customer's metrics and reaches flows and segments like an API event does.

STATUS_AFTER = {
    ConsentRecord.Action.OPT_IN: Customer.Consent.SUBSCRIBED,
    ConsentRecord.Action.CONFIRMED: Customer.Consent.SUBSCRIBED,
    ConsentRecord.Action.REQUESTED: Customer.Consent.PENDING,
    ConsentRecord.Action.OPT_OUT: Customer.Consent.UNSUBSCRIBED,
    ConsentRecord.Action.REFUSED: None,  # an attempt on record; the status stays
}


def opt_outs_on_timeline(store: Store, records: list[ConsentRecord]) -> None:
    """Each opt-out in the ledger is also an `sms_opted_out` event on the customer's timeline."""
    events = [
        Event(
            store_id=record.store_id,
            customer_id=record.customer_id,
            type="sms_opted_out",
            occurred_at=record.occurred_at,
            received_at=record.recorded_at,
            properties={"source": record.source, "keyword": record.keyword},
            idempotency_key=f"sms_opted_out:{record.pk}",
        )
        for record in records
        if record.action == ConsentRecord.Action.OPT_OUT
    ]
    events_announce(store, events_insert(events))


def consent_change(
    *,
    customer: Customer,
    action: str,
    source: str,
    occurred_at: datetime,
    wording: str = "",
    keyword: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> ConsentRecord:
    """Append to the ledger and move the customer's status; an opt-out is announced after commit.

    `now` is when the app records it (the ledger's `recorded_at`), by default the clock's."""
    action = ConsentRecord.Action(action)
    with transaction.atomic():
        record = ConsentRecord.objects.create(
            store_id=customer.store_id,
            customer=customer,
            action=action,
            source=source,
            wording=wording,
            keyword=keyword,
            ip_address=ip_address,
            user_agent=user_agent[:300],
            occurred_at=occurred_at,
            recorded_at=now or timezone.now(),
        )
        if STATUS_AFTER[action] is not None:
            customer.sms_consent = STATUS_AFTER[action]
            customer.sms_consent_at = occurred_at
            Customer.objects.filter(pk=customer.pk).update(
                sms_consent=customer.sms_consent, sms_consent_at=occurred_at
            )
        if action == ConsentRecord.Action.OPT_OUT:
            opt_outs_on_timeline(customer.store, [record])
            transaction.on_commit(
                lambda: customer_opted_out.send(Customer, customer=customer, source=source)
            )
    return record


def phone_opt_out(
    *,
    phone: str,
    source: str,
    occurred_at: datetime,
    wording: str,
    keyword: str = "",
    now: datetime | None = None,
) -> list[ConsentRecord]:
    """Opt this number out of every store that has it as a customer, one ledger row each.

    For a STOP that no single store can be told from: it must not be lost, so it counts for all.
    """
    with transaction.atomic():
        customers = list(
            Customer.objects.filter(phone=phone).exclude(sms_consent=Customer.Consent.UNSUBSCRIBED)
        )
        records = ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    store_id=customer.store_id,
                    customer=customer,
                    action=ConsentRecord.Action.OPT_OUT,
                    source=source,
                    wording=wording,
                    keyword=keyword,
                    occurred_at=occurred_at,
                    recorded_at=now or timezone.now(),
                )
                for customer in customers
            ]
        )
        Customer.objects.filter(pk__in=[c.pk for c in customers]).update(
            sms_consent=Customer.Consent.UNSUBSCRIBED, sms_consent_at=occurred_at
        )
        stores = Store.objects.in_bulk({c.store_id for c in customers})
        for store in stores.values():
            opt_outs_on_timeline(store, [r for r in records if r.store_id == store.pk])
        for customer in customers:
            customer.store = stores[customer.store_id]
            customer.sms_consent = Customer.Consent.UNSUBSCRIBED
        transaction.on_commit(
            lambda: [customer_opted_out.send(Customer, customer=c, source=source) for c in customers]
        )
    return records
