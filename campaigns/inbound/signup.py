"""Consent the app captures itself: double opt-in ("Reply Y to confirm"), then confirmed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from campaigns.models import Message
from campaigns.sending.outbox import MessageDraft, messages_create
from customers.ingest.consent import consent_change
from customers.ingest.customers import customer_for_phone  # noqa: F401 (the sign-up page imports it from here)
from customers.models import ConsentRecord, Customer, Store

# One "Reply Y" text per number and day at most: a form submitted again (or by someone typing a
# stranger's number over and over) does not turn into a stream of texts.
REQUEST_COOLDOWN = timedelta(hours=24)


def confirmation_prompt(store: Store) -> str:
    return (
        f"{store.brand_name}: Reply Y to confirm you want recurring automated marketing texts. "
        "Consent is not a condition of purchase. Msg frequency varies. Msg & data rates may apply. "
        "Reply HELP for help, STOP to cancel."
    )


def welcome_text(store: Store) -> str:
    return (
        f"{store.brand_name}: You're in! Thanks for confirming. Msg frequency varies. "
        "Msg & data rates may apply. Reply HELP for help, STOP to cancel."
    )


def _recently_requested(customer: Customer, now: datetime) -> bool:
    return customer.consent_records.filter(
        action=ConsentRecord.Action.REQUESTED, occurred_at__gt=now - REQUEST_COOLDOWN
    ).exists()


def signup_requested(
    *,
    customer: Customer,
    source: str,
    wording: str,
    now: datetime,
    keyword: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> ConsentRecord | None:
    """Record the request; None when there is nothing to confirm or it was asked for moments ago."""
    customer.refresh_from_db(fields=["sms_consent", "sms_consent_at"])
    if customer.is_subscribed:
        return None
    if customer.sms_consent == Customer.Consent.PENDING and _recently_requested(customer, now):
        return None
    return consent_change(
        customer=customer,
        action=ConsentRecord.Action.REQUESTED,
        source=source,
        occurred_at=now,
        now=now,
        wording=wording,
        keyword=keyword,
        ip_address=ip,
        user_agent=user_agent,
    )


def customer_signup_request(
    *,
    customer: Customer,
    source: str,
    wording: str,
    now: datetime,
    ip: str | None = None,
    user_agent: str = "",
) -> Message | None:
    """Record `requested` in the ledger and text "Reply Y to confirm" (a transactional message).

    Returns the confirmation message, or None when the customer is already subscribed or was asked
    within the last day (a retried sign-up stores and sends nothing twice). A number that opted out
    is not texted from a web page (anyone can type a number there): the ledger records the refused
    attempt, and only a keyword from the phone itself (START, UNSTOP) subscribes it again.
    """
    with transaction.atomic():
        customer.refresh_from_db(fields=["sms_consent", "sms_consent_at"])
        if customer.sms_consent == Customer.Consent.UNSUBSCRIBED:
            consent_change(
                customer=customer,
                action=ConsentRecord.Action.REFUSED,
                source=source,
                occurred_at=now,
                now=now,
                wording=wording,
                ip_address=ip,
                user_agent=user_agent,
            )
            return None
        record = signup_requested(
            customer=customer, source=source, wording=wording, now=now, ip=ip, user_agent=user_agent
        )
        if record is None:
            return None
        draft = MessageDraft(
            customer=customer,
            body=confirmation_prompt(customer.store),
            idempotency_key=f"optin:{customer.pk}:{record.pk}",
            kind=Message.Kind.TRANSACTIONAL,
            valid_until=now + REQUEST_COOLDOWN,
        )
        created = messages_create(drafts=[draft], now=now)
    return created[0] if created else None


def confirmations_send(*, record_ids: list[int], now: datetime) -> list[Message]:
    """Text "Reply Y to confirm" for sign-ups the store's systems sent without consent evidence.

    Only requests from the last day: a months-old pending sign-up in an import is not texted out
    of the blue.
    """
    records = ConsentRecord.objects.filter(
        pk__in=record_ids,
        action=ConsentRecord.Action.REQUESTED,
        occurred_at__gt=now - REQUEST_COOLDOWN,
        customer__sms_consent=Customer.Consent.PENDING,
    ).select_related("customer__store")
    drafts = [
        MessageDraft(
            customer=record.customer,
            body=confirmation_prompt(record.customer.store),
            idempotency_key=f"optin:{record.customer_id}:{record.pk}",
            kind=Message.Kind.TRANSACTIONAL,
            valid_until=now + REQUEST_COOLDOWN,
        )
        for record in records
    ]
    return messages_create(drafts=drafts, now=now)


def customer_signup_confirm(*, customer: Customer, source: str, now: datetime, keyword: str = "") -> bool:
    """Confirm a pending double opt-in; False when nothing was pending."""
    with transaction.atomic():
        customer.refresh_from_db(fields=["sms_consent", "sms_consent_at"])
        if customer.sms_consent != Customer.Consent.PENDING:
            return False
        consent_change(
            customer=customer,
            action=ConsentRecord.Action.CONFIRMED,
            source=source,
            occurred_at=now,
            now=now,
            wording=confirmation_prompt(customer.store),
            keyword=keyword,
        )
    return True
