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
from customers.connections.receive import delivery_receive, delivery_receive_known
from customers.connections.signing import signature_valid

Platform = ShopConnection.Platform
# WooCommerce pings a new webhook's URL with this form body, unsigned, and keeps the webhook only
# if the answer is a 2xx.
WOO_PING = re.compile(rb"^webhook_id=\d+$")


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": "", "message": message}]}, status=status)


def _json_object(body: bytes) -> bool:
    """Whether the body is a JSON object, in UTF-8 (the text column stores it as that)."""
    try:
        return isinstance(json.loads(body.decode()), dict)
    except ValueError:
        return False


# The id and secret of each connection a webhook named, as this process last read them: a delivery
# of a connection seen before is verified without reading its row, and stored by one statement that
# checks the secret is still the connection's (`delivery_receive_known`).
_seen: dict[tuple[str, str], tuple[int, str]] = {}


def _receive(
    request: HttpRequest, platform: str, name: str, signature: str, topic: str, delivery_id: str
) -> JsonResponse:
    body, seen = request.body, _seen.get((platform, name))
    if seen is not None and topic and signature_valid(body, seen[1], signature) and _json_object(body):
        stored = delivery_receive_known(
            seen=seen,
            platform=platform,
            name=name,
            delivery_id=delivery_id,
            topic=topic,
            body=body,
            now=timezone.now(),
        )
        if stored is not None:
            return JsonResponse({"received": True, "duplicate": False})
    connection = _connection(platform, name)
    if connection is None or not signature_valid(body, connection.webhook_secret, signature):
        # The same answer for an unknown shop and a wrong signature: nothing tells which shops exist.
        return _error(401, "The webhook's signature does not match this shop's secret.")
    if not topic:
        return _error(400, "The webhook names no topic.")
    if not _json_object(body):
        return _error(400, "The webhook's body is not a JSON object.")
    _seen[platform, name] = (connection.pk, connection.webhook_secret)
    stored = delivery_receive(
        connection=connection, delivery_id=delivery_id, topic=topic, body=body, now=timezone.now()
    )
    return JsonResponse({"received": True, "duplicate": stored is None})


def _connection(platform: str, name: str) -> ShopConnection | None:
    """The connection a webhook names: a Shopify shop by its domain, a WooCommerce one by its store."""
    _seen.pop((platform, name), None)
    if not name:
        return None
    named = {"shop_domain": name} if platform == Platform.SHOPIFY else {"store__slug": name}
    return ShopConnection.objects.filter(platform=platform, **named).only("id", "webhook_secret").first()


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> JsonResponse:
    return _receive(
        request,
        Platform.SHOPIFY,
        request.headers.get("X-Shopify-Shop-Domain", "").strip().lower(),
        request.headers.get("X-Shopify-Hmac-Sha256", ""),
        request.headers.get("X-Shopify-Topic", ""),
        request.headers.get("X-Shopify-Webhook-Id", ""),
    )


@csrf_exempt
@require_POST
def woocommerce_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    signature = request.headers.get("X-WC-Webhook-Signature", "")
    if not signature and WOO_PING.match(request.body) and _connection(Platform.WOOCOMMERCE, slug):
        return JsonResponse({"received": True, "ping": True})
    return _receive(
        request,
        Platform.WOOCOMMERCE,
        slug,
        signature,
        request.headers.get("X-WC-Webhook-Topic", ""),
        request.headers.get("X-WC-Webhook-Delivery-ID", ""),
    )
