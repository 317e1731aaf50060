"""The seed's engagement move: ask Cold subscribers what they want (DEALS / DROPS / RESTOCKS)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from campaigns.models import Campaign, Message, MessageTemplate
from customers.models import Event, Segment, Store
from customers.segments.presets import presets_install

SLUG = "ask-cold-preferences"
COLD = "engagement-cold"
BODY = (
    "{{ store_name }}: we'd love to text you only what you like. Reply DEALS, DROPS or RESTOCKS, "
    "or choose here: {{ prefs_link }}"
)


def _cold_segment(store: Store) -> Segment:
    """The store's copy of the Cold preset (installed if it has none)."""
    found = Segment.objects.filter(store=store, preset=COLD).order_by("pk").first()
    if found is None:
        presets_install(store=store)
        found = Segment.objects.get(store=store, preset=COLD)
    return found


def cold_preferences_campaign_create(*, store: Store, now: datetime) -> Campaign:
    """A ready draft: the Cold segment, the question and the preference page link."""
    with transaction.atomic():
        template, _ = MessageTemplate.objects.get_or_create(
            store=store, name="Ask Cold subscribers their preferences", defaults={"body": BODY}
        )
        taken = Campaign.objects.filter(store=store, slug__startswith=SLUG).count()
        return Campaign.objects.create(
            store=store,
            name=f"Ask Cold subscribers their preferences ({now:%b %d})",
            slug=f"{SLUG}-{taken + 1}",
            template=template,
            segment=_cold_segment(store),
            send_at=now,
        )


def cold_preferences_answered(*, store: Store) -> dict | None:
    """The latest ask: how many got it and how many set preferences after it."""
    campaign = Campaign.objects.filter(store=store, slug__startswith=SLUG).order_by("-pk").first()
    if campaign is None:
        return None
    received = Message.objects.filter(campaign=campaign, status__in=Message.RECEIVED)
    answered = received.filter(
        Exists(
            Event.objects.filter(
                customer=OuterRef("customer"), type="preference_set", occurred_at__gte=OuterRef("created_at")
            )
        )
    )
    return {"campaign": campaign, "received": received.count(), "answered": answered.count()}
