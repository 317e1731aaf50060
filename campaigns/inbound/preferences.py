"""A subscriber's own choices, set from the preference page or a keyword reply."""

from __future__ import annotations

from datetime import datetime

from customers.ingest.consent import consent_change
from customers.models import ConsentRecord, Customer

TOPIC_CHOICES = [("deals", "Deals"), ("drops", "Drops (new arrivals)"), ("restocks", "Restocks")]
FREQUENCY_CHOICES = [
    ("", "Whatever the store sends"),
    ("weekly", "At most one text a week"),
    ("monthly", "At most one text a month"),
]


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
