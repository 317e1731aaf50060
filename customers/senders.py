"""The sender of a store: one answer for the texts it sends and for the replies it gets.

A store sends from its own Messaging Service, else its own number; a store with neither sends
from the default sender in settings (TWILIO_MESSAGING_SERVICE_SID, else TWILIO_FROM_NUMBER).
Replies come back to that sender, so they are matched the same way.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q, QuerySet

from customers.models import Store


def default_senders() -> set[str]:
    return {settings.TWILIO_MESSAGING_SERVICE_SID, settings.TWILIO_FROM_NUMBER} - {""}


def store_sender(store: Store) -> str:
    """The Messaging Service SID or number this store's texts go out from ("" when none is set)."""
    return (
        store.messaging_service_sid
        or store.from_number
        or settings.TWILIO_MESSAGING_SERVICE_SID
        or settings.TWILIO_FROM_NUMBER
    )


def stores_for_sender(*, to: str, messaging_service_sid: str) -> QuerySet[Store]:
    """The stores a reply to this number or Messaging Service may be for, the most specific first:
    stores listing the number, else stores using the Messaging Service, else (a reply to the
    default sender) the stores without a sender of their own. Exactly one: the reply is theirs."""
    matches = []
    if to:
        matches.append(Q(from_number=to))
    if messaging_service_sid:
        matches.append(Q(messaging_service_sid=messaging_service_sid))
    if default_senders() & {to, messaging_service_sid}:
        matches.append(Q(from_number="", messaging_service_sid=""))
    for match in matches:
        stores = Store.objects.filter(match).order_by("pk")
        if stores.exists():
            return stores
    return Store.objects.none()
