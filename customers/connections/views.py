"""The shops' webhook endpoints: verify, store once, queue, answer 200. Nothing else happens in
the request, so Shopify (which retries answers slower than a few seconds) gets its answer at once."""

from __future__ import annotations

import json
import re

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from customers.connections.models import ShopConnection
from customers.connections.receive import delivery_receive
from customers.connections.signing import signature_valid

Platform = ShopConnection.Platform
# WooCommerce pings a new webhook's URL with this form body, unsigned, and keeps the webhook only
# if the answer is a 2xx.
WOO_PING = re.compile(rb"^webhook_id=\d+$")


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": "", "message": message}]}, status=status)


def _json_or_none(body: bytes) -> object | None:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _receive(
    request: HttpRequest, connection: ShopConnection | None, signature: str, topic: str, delivery_id: str
) -> JsonResponse:
    body = request.body
    if connection is None or not signature_valid(body, connection.webhook_secret, signature):
        # The same answer for an unknown shop and a wrong signature: nothing tells which shops exist.
        return _error(401, "The webhook's signature does not match this shop's secret.")
    if not topic:
        return _error(400, "The webhook names no topic.")
    if not isinstance(_json_or_none(body), dict):
        return _error(400, "The webhook's body is not a JSON object.")
    stored = delivery_receive(
        connection=connection, delivery_id=delivery_id, topic=topic, body=body, now=timezone.now()
    )
    return JsonResponse({"received": True, "duplicate": stored is None})


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    domain = request.headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    connection = (
        ShopConnection.objects.filter(platform=Platform.SHOPIFY, shop_domain=domain)
        .only("id", "webhook_secret")
        .first()
        if domain
        else None
    )
    return _receive(
        request,
        connection,
        request.headers.get("X-Shopify-Hmac-Sha256", ""),
        request.headers.get("X-Shopify-Topic", ""),
        request.headers.get("X-Shopify-Webhook-Id", ""),
    )


@csrf_exempt
@require_POST
def woocommerce_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    connection = (
        ShopConnection.objects.filter(platform=Platform.WOOCOMMERCE, store__slug=slug)
        .only("id", "webhook_secret")
        .first()
    )
    signature = request.headers.get("X-WC-Webhook-Signature", "")
    if connection is not None and not signature and WOO_PING.match(request.body):
        return JsonResponse({"received": True, "ping": True})
    return _receive(
        request,
        connection,
        signature,
        request.headers.get("X-WC-Webhook-Topic", ""),
        request.headers.get("X-WC-Webhook-Delivery-ID", ""),
    )
