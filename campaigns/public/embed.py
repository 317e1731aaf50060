"""The embedded signup form's endpoints: its settings, and a sign-up posted from the store's own
site. Cross-origin requests are answered for the store's own domains only (django-cors-headers asks
`customers.connections.embeds.cors_allow_embed`); a post from any other site is refused here too.

A sign-up goes the way the hosted page's does: rate limited per address and per number, recorded
as requested in the consent ledger, and confirmed by a "Reply Y" text. A number that opted out is
never texted from here (the ledger records the refused attempt), and the answer does not say so.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from campaigns.inbound.signup import customer_signup_request
from campaigns.public.forms import signup_disclosure
from campaigns.public.throttle import Rate, client_ip, rate_hit
from customers.connections.embeds import embed_config, embed_for, embed_origin_allowed, question_choices
from customers.connections.models import SignupEmbed
from customers.ingest.customers import customer_for_phone
from customers.ingest.events import customer_preferences_update
from customers.models import Store
from customers.phones import InvalidPhone, phone_normalize

SOURCE = "embed_form"


def _error(status: int, field: str, message: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _store(slug: str) -> Store | None:
    return Store.objects.filter(slug=slug).first()


@require_GET
def embed_settings(request: HttpRequest, slug: str) -> JsonResponse:
    store = _store(slug)
    if store is None:
        return _error(404, "store", "No such store.")
    return JsonResponse(embed_config(embed_for(store), consent_wording=signup_disclosure(store)))


def _limited(scope: str, key: str, rate: tuple[int, int], request: HttpRequest) -> JsonResponse | None:
    wait = rate_hit(scope=scope, key=key, rate=Rate(*rate), now=timezone.now())
    if wait:
        minutes = max(1, -(-wait // 60))
        return _error(
            429, "", f"Too many sign-ups from here: try again in {minutes} min.", **{"Retry-After": str(wait)}
        )
    return None


def _answer(embed: SignupEmbed, value: object) -> list[str] | None:
    """The preference question's answer as a list of allowed choices; None when it is not one."""
    if value in (None, "", []):
        return []
    values = value if isinstance(value, list) else [value]
    allowed = {v for v, _ in question_choices(embed)}
    return [str(v) for v in values] if all(str(v) in allowed for v in values) else None


@csrf_exempt
@require_POST
def embed_signup(request: HttpRequest, slug: str) -> JsonResponse:
    store = _store(slug)
    if store is None:
        return _error(404, "store", "No such store.")
    origin = request.headers.get("Origin", "")
    if origin and not embed_origin_allowed(store, origin):
        return _error(403, "", "This form may only be posted from the store's own site.")
    embed = embed_for(store)
    if not embed.enabled:
        return _error(403, "", "The store's signup form is switched off.")
    if limited := _limited("signup-ip", client_ip(request), settings.RATE_LIMIT_SIGNUP_PER_IP, request):
        return limited
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _error(400, "", "Send a JSON object: phone, consent and the question's answer.")
    raw = str(data.get("phone") or "")
    try:
        phone = phone_normalize(raw) if len(raw) <= 32 else None
    except InvalidPhone:
        phone = None
    if phone is None:
        return _error(400, "phone", "Enter a valid US mobile number, e.g. (415) 555-0100.")
    if data.get("consent") is not True:
        return _error(400, "consent", "Tick the box to agree to receive texts; we need your consent.")
    answer = _answer(embed, data.get("answer"))
    if answer is None:
        return _error(400, "answer", "Choose one of the answers offered.")
    if limited := _limited("signup-number", phone, settings.RATE_LIMIT_SIGNUP_PER_NUMBER, request):
        return limited
    _sign_up(request, store, embed, phone, answer)
    return JsonResponse({"ok": True, "message": embed.thanks_text})


def _sign_up(request: HttpRequest, store: Store, embed: SignupEmbed, phone: str, answer: list[str]) -> None:
    now = timezone.now()
    wording = embed.consent_wording or signup_disclosure(store)
    with transaction.atomic():
        customer = customer_for_phone(store=store, phone=phone)
        if answer:
            topics = answer if embed.question == SignupEmbed.Question.TOPICS else customer.topics
            categories = (
                answer if embed.question == SignupEmbed.Question.CATEGORY else customer.favorite_categories
            )
            customer_preferences_update(
                customer=customer,
                topics=topics,
                categories=categories,
                frequency=customer.frequency,
                source=SOURCE,
                now=now,
            )
        customer_signup_request(
            customer=customer,
            source=SOURCE,
            wording=wording,
            now=now,
            ip=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.headers.get("User-Agent", ""),
        )
