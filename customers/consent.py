"""The consent ledger: every change of a customer's SMS consent goes through here."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from .models import ConsentRecord, Customer
from .signals import customer_opted_out

STATUS_AFTER = {
    ConsentRecord.Action.OPT_IN: Customer.Consent.SUBSCRIBED,
    ConsentRecord.Action.CONFIRMED: Customer.Consent.SUBSCRIBED,
    ConsentRecord.Action.REQUESTED: Customer.Consent.PENDING,
    ConsentRecord.Action.OPT_OUT: Customer.Consent.UNSUBSCRIBED,
    ConsentRecord.Action.REFUSED: None,  # an attempt on record; the status stays
}


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
) -> ConsentRecord:
    """Append to the ledger and move the customer's status; an opt-out is announced after commit."""
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
        )
        if STATUS_AFTER[action] is not None:
            customer.sms_consent = STATUS_AFTER[action]
            customer.sms_consent_at = occurred_at
            Customer.objects.filter(pk=customer.pk).update(
                sms_consent=customer.sms_consent, sms_consent_at=occurred_at
            )
        if action == ConsentRecord.Action.OPT_OUT:
            transaction.on_commit(
                lambda: customer_opted_out.send(Customer, customer=customer, source=source)
            )
    return record
