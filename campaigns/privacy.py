"""The texts of a customer under privacy law: their part of an export, their erasure, and the
store's retention of wording (customers/privacy.py asks through signals; campaigns/receivers.py
answers with these).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Q

from campaigns.models import FlowRun, InboundMessage, Link, Message, ReportDayMark, UndeliverableNumber
from customers.models import Customer, Store
from customers.privacy import json_ready

# Texts whose wording is no longer needed to send them: gone out, or decided never to.
SETTLED = [
    Message.Status.SENT,
    Message.Status.DELIVERED,
    Message.Status.UNDELIVERED,
    Message.Status.FAILED,
    Message.Status.SUPPRESSED,
]
RETENTION_EVERY = timedelta(hours=1)


def _received(store: Store, customer_ids: list[int], phones: list[str]) -> Q:
    """Texts received from these customers, and from their numbers before they were known."""
    from_them = Q(customer_id__in=customer_ids) | Q(customer__isnull=True, from_number__in=phones)
    return from_them & (Q(store=store) | Q(store__isnull=True))


def customer_texts_export(*, customer: Customer) -> dict[str, list[dict[str, Any]]]:
    texts = Message.objects.filter(customer=customer).order_by("created_at", "id")
    received = InboundMessage.objects.filter(_received(customer.store, [customer.pk], [customer.phone]))
    links = Link.objects.filter(customer=customer).order_by("created_at", "id")
    return {
        "texts": [json_ready(row) for row in texts.values(
            "to", "body", "kind", "status", "reason", "created_at", "sent_at", "delivered_at", "variant",
            "flow_step__flow__name", "campaign__name",
        )],  # fmt: skip
        "texts_received": [json_ready(row) for row in received.order_by("received_at", "id").values(
            "from_number", "to_number", "body", "keyword", "outcome", "reply", "received_at",
        )],  # fmt: skip
        "links": [json_ready(row) for row in links.values(
            "code", "target_url", "clicks", "first_clicked_at", "last_clicked_at", "created_at",
        )],  # fmt: skip
    }


def customers_texts_erase(*, store: Store, customers: dict[int, str]) -> dict[str, int]:
    """Every text to and from these customers, their links and flow runs, and their numbers'
    undeliverable marks. Deleted in sets; the decisions and clicks of a text go with it."""
    ids, phones = list(customers), sorted(set(customers.values()))
    # Their texts leave the reports' figures: those days are counted again.
    ReportDayMark.objects.add_for(Message.objects.filter(store=store, customer_id__in=ids))
    links = _deleted(Link.objects.filter(store=store, customer_id__in=ids))
    texts = _deleted(Message.objects.filter(store=store, customer_id__in=ids))
    received = _deleted(InboundMessage.objects.filter(_received(store, ids, phones)))
    runs = _deleted(FlowRun.objects.filter(flow__store=store, customer_id__in=ids))
    UndeliverableNumber.objects.filter(store=store, phone__in=phones).delete()
    return {"texts": texts, "texts_received": received, "links": links, "flow_runs": runs}


def _deleted(rows) -> int:
    """How many rows of the queryset's own model went (not those of the cascade)."""
    return rows.delete()[1].get(rows.model._meta.label, 0)


def message_bodies_expire(*, now: datetime) -> int:
    """Blank the wording of settled texts older than their store's retention, sent and received.

    The rows stay, so every report keeps counting them. Once an hour of `now` is enough: it is a
    matter of days.
    """
    if not cache.add(f"retention:{now:%Y-%m-%dT%H}", True, timeout=int(2 * RETENTION_EVERY.total_seconds())):
        return 0
    blanked = 0
    for store_id, days in Store.objects.filter(message_retention_days__isnull=False).values_list(
        "id", "message_retention_days"
    ):
        cutoff = now - timedelta(days=days)
        blanked += (
            Message.objects.filter(store_id=store_id, created_at__lt=cutoff, status__in=SETTLED)
            .exclude(body="")
            .update(body="")
        )
        blanked += (
            InboundMessage.objects.filter(store_id=store_id, received_at__lt=cutoff)
            .exclude(body="", reply="")
            .update(body="", reply="")
        )
    return blanked
