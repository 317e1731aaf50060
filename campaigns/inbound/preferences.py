"""A subscriber's own choices, set from the preference page or a keyword reply."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from customers.ingest.consent import consent_change
from customers.ingest.events import customer_event_record
from customers.models import ConsentRecord, Customer

TOPIC_CHOICES = [("deals", "Deals"), ("drops", "Drops (new arrivals)"), ("restocks", "Restocks")]
FREQUENCY_CHOICES = [
    ("", "Whatever the store sends"),
    ("weekly", "At most one text a week"),
    ("monthly", "At most one text a month"),
]


def customer_preferences_update(
    *,
    customer: Customer,
    topics: list[str],
    categories: list[str],
    frequency: str,
    source: str,
    now: datetime,
) -> Customer:
    """Record a `preference_set` event: ingestion sets topics and categories from it, as it does
    for one sent through the API, and flows and segments see it."""
    with transaction.atomic():
        customer.frequency = frequency
        customer.save(update_fields=["frequency", "updated_at"])
        customer_event_record(
            customer=customer,
            type="preference_set",
            properties={"topics": topics, "categories": categories, "frequency": frequency, "source": source},
            now=now,
        )
        customer.refresh_from_db(fields=["topics", "favorite_categories"])
    return customer


def customer_opt_out_from_page(
    *, customer: Customer, wording: str, now: datetime, ip: str | None, user_agent: str
) -> ConsentRecord:
    return consent_change(
        customer=customer,
        action=ConsentRecord.Action.OPT_OUT,
        source="preference_page",
        occurred_at=now,
        now=now,
        wording=wording,
        ip_address=ip,
        user_agent=user_agent,
    )
