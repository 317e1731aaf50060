"""A subscriber's own choices, set from the preference page or a keyword reply."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction

from customers.consent import consent_change
from customers.models import ConsentRecord, Customer, Event

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
    """Store the choices and record a `preference_set` event for segments and the timeline."""
    with transaction.atomic():
        customer.topics = topics
        customer.favorite_categories = categories
        customer.frequency = frequency
        customer.save(update_fields=["topics", "favorite_categories", "frequency", "updated_at"])
        Event.objects.create(
            store_id=customer.store_id,
            customer=customer,
            type="preference_set",
            occurred_at=now,
            received_at=now,
            properties={"topics": topics, "categories": categories, "frequency": frequency, "source": source},
            idempotency_key=f"preference:{uuid.uuid4().hex}",
        )
    return customer


def customer_opt_out_from_page(
    *, customer: Customer, wording: str, now: datetime, ip: str | None, user_agent: str
) -> ConsentRecord:
    return consent_change(
        customer=customer,
        action=ConsentRecord.Action.OPT_OUT,
        source="preference_page",
        occurred_at=now,
        wording=wording,
        ip_address=ip,
        user_agent=user_agent,
    )
