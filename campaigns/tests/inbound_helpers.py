"""Builders for the inbound, consent and broadcast tests: a store, customers, signed Twilio posts."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.test import Client
from twilio.request_validator import RequestValidator

from customers.models import Customer, Segment, Store

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
STORE_NUMBER = "+18445550100"
_sids = itertools.count(1)


def make_store(slug: str = "demo", **fields: object) -> Store:
    defaults = {
        "brand_name": "Trailhead Supply",
        "site_url": "https://shop.example.com",
        "from_number": STORE_NUMBER,
        "messaging_service_sid": "MG" + "0" * 32,
        "help_text": "Trailhead Supply outdoor gear.",
        "contact_email": "help@shop.example.com",
    }
    return Store.objects.create(slug=slug, **{**defaults, **fields})


def make_customer(store: Store, phone: str, **fields: object) -> Customer:
    defaults = {"timezone": "America/New_York", "timezone_source": Customer.TimezoneSource.GIVEN}
    return Customer.objects.create(store=store, phone=phone, **{**defaults, **fields})


def subscribed(store: Store, phone: str, at: datetime, **fields: object) -> Customer:
    return make_customer(store, phone, sms_consent=Customer.Consent.SUBSCRIBED, sms_consent_at=at, **fields)


def everyone(store: Store, name: str = "Everyone") -> Segment:
    segment, _ = Segment.objects.get_or_create(
        store=store, slug=name.lower(), defaults={"name": name, "rules": {}}
    )
    return segment


def signed_post(
    client: Client,
    path: str,
    params: dict[str, str],
    *,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    **extra: str,
):
    """POST as Twilio does: the signature covers `signed_url` (by default the public URL)."""
    url = signed_url or f"http://testserver{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature, **extra)


def inbound_params(body: str, from_: str, *, to: str = STORE_NUMBER, **more: str) -> dict[str, str]:
    return {
        "MessageSid": f"SM{next(_sids):032d}",
        "AccountSid": "AC" + "1" * 32,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        **more,
    }


def text_in(client: Client, body: str, from_: str, **more: str):
    return signed_post(client, "/webhooks/twilio/inbound", inbound_params(body, from_, **more))


def summer_drop(store: Store, *, at: datetime):
    """A scheduled broadcast of one short text to the whole store, materialized at `at`."""
    from campaigns.broadcasts.materialize import campaign_materialize
    from campaigns.models import Campaign, MessageTemplate

    template = MessageTemplate.objects.create(store=store, name="Drop", body="The summer drop is live")
    campaign = Campaign.objects.create(
        store=store,
        name="Summer drop",
        slug="summer-drop",
        template=template,
        segment=everyone(store),
        send_at=at,
        status=Campaign.Status.SCHEDULED,
    )
    campaign_materialize(campaign_id=campaign.pk, now=at)
    return campaign


def store_owner(django_user_model, store: Store | None, permissions, username: str = "owner"):
    """A staff user in the "Store owner" group with `permissions`, owning `store` if given."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username, password="pw-123456789", is_staff=True)
    group, _ = Group.objects.get_or_create(name="Store owner")
    group.permissions.set(permissions)
    user.groups.add(group)
    if store is not None:
        store.owners.add(user)
    return user
