"""Two-way conversations: a thread per customer, a staff reply through the outbox, assignment.

A thread is open while one of the customer's texts for the staff is not handled; that state lives
on `InboundMessage.handled`, the assignment on `Conversation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery

from campaigns.inbound.keywords import inbound_mark_handled
from campaigns.models import Conversation, InboundMessage, Message
from campaigns.sending.outbox import MessageDraft, messages_create
from customers.models import Customer, Store

REPLY_WINDOW = timedelta(hours=24)
# A late reply is an ordinary text, but wins an overlap against campaigns and flows.
LATE_REPLY_PRIORITY = 90
FOR_STAFF = [InboundMessage.Outcome.MESSAGE, InboundMessage.Outcome.KEYWORD]
THREAD_LENGTH = 100


def open_texts(stores: QuerySet[Store]) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(
        store__in=stores, customer__isnull=False, outcome__in=FOR_STAFF, handled=False
    )


def conversations_open_count(*, stores: QuerySet[Store]) -> int:
    return open_texts(stores).values("customer_id").distinct().count()


def threads(*, stores: QuerySet[Store], state: str = "open") -> QuerySet[Customer]:
    """Customers who texted the staff, newest text first, with their open count and last text."""
    latest = InboundMessage.objects.filter(customer=OuterRef("pk")).order_by("-received_at", "-pk")
    customers = (
        Customer.objects.filter(store__in=stores, inbound_messages__outcome__in=FOR_STAFF)
        .annotate(
            last_text_at=Max("inbound_messages__received_at"),
            open_texts=Count(
                "inbound_messages",
                filter=Q(inbound_messages__handled=False, inbound_messages__outcome__in=FOR_STAFF),
            ),
            last_text=Subquery(latest.values("body")[:1]),
        )
        .select_related("store", "conversation__assigned_to")
        .order_by("-last_text_at")
    )
    if state == "open":
        return customers.filter(open_texts__gt=0)
    if state == "handled":
        return customers.filter(open_texts=0)
    return customers


@dataclass(frozen=True)
class Entry:
    at: datetime
    direction: str  # "in" or "out"
    body: str
    note: str = ""
    message: Message | None = None


def thread_entries(customer: Customer) -> list[Entry]:
    """Their texts, our texts and the automatic keyword replies, oldest first."""
    inbound = list(customer.inbound_messages.order_by("-received_at")[:THREAD_LENGTH])
    outbound = list(
        customer.messages.select_related("campaign", "flow_run__flow").order_by("-created_at")[:THREAD_LENGTH]
    )
    entries = []
    for text in inbound:
        note = text.get_outcome_display() if text.outcome not in FOR_STAFF else ""
        if text.keyword:
            note = f"{note or 'Keyword'} {text.keyword}".strip()
        entries.append(Entry(text.received_at, "in", text.body, note))
        if text.reply:
            entries.append(Entry(text.received_at, "out", text.reply, "Automatic reply"))
    entries.extend(Entry(m.created_at, "out", m.body, _source(m), m) for m in outbound)
    return sorted(entries, key=lambda e: (e.at, e.direction == "out"))[-THREAD_LENGTH:]


def _source(message: Message) -> str:
    if message.campaign_id:
        return f"Campaign “{message.campaign.name}”"
    if message.flow_run_id:
        return f"Flow “{message.flow_run.flow.name}”"
    if message.idempotency_key.startswith("reply:"):
        return "Staff reply"
    return message.get_kind_display()


def reply_kind(*, customer: Customer, now: datetime) -> str:
    """A reply within 24 h of the customer's own text may go out in quiet hours; a later one may not."""
    last = customer.inbound_messages.filter(outcome__in=FOR_STAFF).aggregate(at=Max("received_at"))["at"]
    if last is not None and now - last <= REPLY_WINDOW:
        return Message.Kind.REPLY
    return Message.Kind.MARKETING


def conversation_reply(*, customer: Customer, body: str, user: object, nonce: str, now: datetime) -> Message:
    """Send `body` to the customer through the outbox and policy; the thread becomes handled.

    `nonce` comes with the reply form, so a form posted twice sends one text.
    """
    key = f"reply:{customer.pk}:{nonce}"
    kind = reply_kind(customer=customer, now=now)
    draft = MessageDraft(
        customer=customer,
        body=body,
        idempotency_key=key,
        kind=kind,
        priority=None if kind == Message.Kind.REPLY else LATE_REPLY_PRIORITY,
    )
    with transaction.atomic():
        messages_create(drafts=[draft], now=now)
        inbound_mark_handled(
            messages=open_texts(Store.objects.filter(pk=customer.store_id)).filter(customer=customer),
            user=user,
            now=now,
        )
        conversation = _conversation(customer, now)
        if conversation.assigned_to_id is None:
            conversation.assigned_to = user
            conversation.save(update_fields=["assigned_to", "updated_at"])
    return Message.objects.get(idempotency_key=key)


@transaction.atomic
def conversation_assign(*, customer: Customer, user: object | None, now: datetime) -> Conversation:
    conversation = _conversation(customer, now)
    conversation.assigned_to = user
    conversation.save(update_fields=["assigned_to", "updated_at"])
    return conversation


def conversation_mark_handled(*, customer: Customer, user: object, now: datetime) -> int:
    texts = InboundMessage.objects.filter(customer=customer, outcome__in=FOR_STAFF)
    return inbound_mark_handled(messages=texts, user=user, now=now)


def conversation_reopen(*, customer: Customer) -> int:
    """Open the thread again: its latest text for the staff is unhandled."""
    latest = InboundMessage.objects.filter(customer=customer, outcome__in=FOR_STAFF).order_by(
        "-received_at", "-pk"
    )
    return InboundMessage.objects.filter(pk__in=latest.values("pk")[:1]).update(
        handled=False, handled_at=None, handled_by=None
    )


def _conversation(customer: Customer, now: datetime) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        customer=customer, defaults={"store_id": customer.store_id, "updated_at": now}
    )
    conversation.updated_at = now
    return conversation
