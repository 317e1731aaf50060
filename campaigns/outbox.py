"""The one way into the outbox.

Contract used by flows and broadcasts:
    messages_create(*, drafts: list[MessageDraft], now: datetime) -> list[Message]
stores each draft once (its idempotency key is unique), applies the guardrails and queues the
sends after commit. Drafts whose key already exists are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from customers.models import Customer

from .models import Link, Message


@dataclass
class PendingLink:
    code: str
    target_url: str
    utm_campaign: str = ""
    utm_content: str = ""


@dataclass
class MessageDraft:
    customer: Customer
    body: str
    idempotency_key: str
    links: list[PendingLink] = field(default_factory=list)
    flow_run_id: int | None = None
    flow_step_id: int | None = None
    campaign_id: int | None = None
    variant: str = ""
    kind: str = Message.Kind.MARKETING
    valid_until: datetime | None = None


def messages_create(*, drafts: list[MessageDraft], now: datetime) -> list[Message]:
    keys = [d.idempotency_key for d in drafts]
    existing = set(Message.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    fresh = [d for d in drafts if d.idempotency_key not in existing]
    with transaction.atomic():
        messages = Message.objects.bulk_create(
            [
                Message(
                    store_id=d.customer.store_id,
                    customer=d.customer,
                    to=d.customer.phone,
                    body=d.body,
                    flow_run_id=d.flow_run_id,
                    flow_step_id=d.flow_step_id,
                    campaign_id=d.campaign_id,
                    variant=d.variant,
                    kind=d.kind,
                    idempotency_key=d.idempotency_key,
                    valid_until=d.valid_until,
                    status=Message.Status.QUEUED,
                    created_at=now,
                )
                for d in fresh
            ]
        )
        Link.objects.bulk_create(
            [
                Link(
                    store_id=m.store_id,
                    customer_id=m.customer_id,
                    message=m,
                    code=link.code,
                    target_url=link.target_url,
                    utm_campaign=link.utm_campaign,
                    utm_content=link.utm_content,
                )
                for m, d in zip(messages, fresh)
                for link in d.links
            ]
        )
    return messages
