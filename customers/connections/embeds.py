"""The signup form a store embeds on its own site: what the script shows, and which sites may post
to it (the store's own domains: its site and its allowed link domains)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.http import HttpRequest

from customers.connections.models import SignupEmbed
from customers.models import Store

EMBED_PATH = re.compile(r"^/embed/(?P<slug>[-\w]+)/")
TOPIC_CHOICES = [("deals", "Deals"), ("drops", "New drops"), ("restocks", "Restocks")]


def store_hosts(store: Store) -> set[str]:
    hosts = {urlsplit(store.site_url).hostname or ""} | {str(d).lower() for d in store.allowed_link_domains}
    return {h.lower() for h in hosts if h}


def embed_origin_allowed(store: Store, origin: str) -> bool:
    """An Origin header (scheme://host[:port]) of one of the store's own domains."""
    parts = urlsplit(origin or "")
    return parts.scheme in ("http", "https") and (parts.hostname or "") in store_hosts(store)


def cors_allow_embed(sender, request: HttpRequest, **kwargs) -> bool:
    """django-cors-headers asks this for each request: only the embed endpoints, only from the
    domains of the store they name."""
    match = EMBED_PATH.match(request.path_info)
    if not match:
        return False
    store = Store.objects.filter(slug=match["slug"]).only("site_url", "allowed_link_domains").first()
    return store is not None and embed_origin_allowed(store, request.headers.get("Origin", ""))


def embed_for(store: Store) -> SignupEmbed:
    """The store's form; a store that never set one gets the defaults."""
    return SignupEmbed.objects.filter(store=store).first() or SignupEmbed(store=store)


def question_choices(embed: SignupEmbed) -> list[tuple[str, str]]:
    if embed.question == SignupEmbed.Question.TOPICS:
        return TOPIC_CHOICES
    if embed.question == SignupEmbed.Question.CATEGORY:
        names = embed.store.categories.order_by("name").values_list("name", flat=True)[:30]
        return [(name, name) for name in names]
    return []


def embed_config(embed: SignupEmbed, *, consent_wording: str) -> dict:
    """What the script needs to draw the form: texts, colours, when to show it, the question."""
    config = {name: getattr(embed, name) for name in SignupEmbed.SETTINGS}
    config["consent_wording"] = embed.consent_wording or consent_wording
    config["choices"] = [{"value": v, "label": label} for v, label in question_choices(embed)]
    config["brand_name"] = embed.store.brand_name
    return config
