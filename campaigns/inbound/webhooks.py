"""Twilio's webhooks: delivery status callbacks and inbound texts, both signed by Twilio.

The signature covers the exact URL Twilio called. Behind a proxy that rewrites the scheme or host
(TLS terminated at a load balancer, an internal hostname), the URL Django sees is not that URL,
so it is rebuilt from PUBLIC_BASE_URL + the request's path and query string.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, QueryDict
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.messaging_response import MessagingResponse

from campaigns.inbound.keywords import inbound_receive
from campaigns.models import Message
from campaigns.sending.answers import message_status_apply

logger = logging.getLogger(__name__)

def public_url(request: HttpRequest) -> str:
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def signature_valid(request: HttpRequest) -> bool:
    token = settings.TWILIO_AUTH_TOKEN
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not token or not signature:
        return False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER, ""))
    return RequestValidator(token).validate(public_url(request), request.POST, signature, algorithm)


def twilio_signed(view):
    def checked(request: HttpRequest) -> HttpResponse:
        if not signature_valid(request):
            logger.warning(
                "Rejected a Twilio webhook with a bad or missing signature: %s", public_url(request)
            )
            return HttpResponseForbidden("Invalid Twilio signature.")
        request.POST = without_nul(request.POST)
        return view(request)

    signed = csrf_exempt(require_POST(checked))
    signed.strips_nul = True  # the signature covers the text as Twilio sent it: stripped after the check
    return signed


def without_nul(params: QueryDict) -> QueryDict:
    """A provider's text as it came, less NUL characters, which no database column stores."""
    if not any("\x00" in key or any("\x00" in v for v in values) for key, values in params.lists()):
        return params
    cleaned = QueryDict(mutable=True)
    for key, values in params.lists():
        cleaned.setlist(key.replace("\x00", ""), [v.replace("\x00", "") for v in values])
    return cleaned


def message_status_update(*, sid: str, provider_status: str, error_code: str, now: datetime) -> int:
    """Move the message forward to the reported status; a late or repeated callback changes nothing."""
    message = Message.objects.filter(provider_sid=sid).first() if sid else None
    if message is None:
        return 0
    return int(
        message_status_apply(
            message=message, provider_status=provider_status.lower(), error_code=error_code, now=now
        )
    )


@twilio_signed
def status_callback(request: HttpRequest) -> HttpResponse:
    moved = message_status_update(
        sid=request.POST.get("MessageSid", ""),
        provider_status=request.POST.get("MessageStatus", "") or request.POST.get("SmsStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
        now=timezone.now(),
    )
    if not moved:
        logger.info("Status callback changed nothing: %s", request.POST.get("MessageSid", ""))
    return HttpResponse(status=200)


@twilio_signed
def inbound(request: HttpRequest) -> HttpResponse:
    reply = inbound_receive(params=request.POST.dict(), now=timezone.now())
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return HttpResponse(str(twiml), content_type="application/xml")
