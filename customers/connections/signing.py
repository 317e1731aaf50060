"""Webhook signatures: Shopify and WooCommerce both sign the raw body with HMAC-SHA256 and send
it base64-encoded (`X-Shopify-Hmac-Sha256`, `X-WC-Webhook-Signature`)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def body_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_valid(body: bytes, secret: str, given: str) -> bool:
    """Constant-time: how much of a forged signature matched says nothing to its sender."""
    if not secret or not given:
        return False
    return hmac.compare_digest(body_signature(body, secret).encode(), given.strip().encode())
