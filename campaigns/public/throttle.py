"""Rate limits for the public pages, counted in the shared cache (the database cache by default).

Fixed windows: a key may be hit `limit` times per window of `seconds`. The counters live in the
cache every web process shares, so a limit holds however many processes serve the pages.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int


def rate_hit(*, scope: str, key: str, rate: Rate, now: datetime) -> int | None:
    """Count one hit; the seconds until the window ends when it is over the limit, else None."""
    if rate.limit <= 0:
        return None  # 0 turns the limit off
    stamp = int(now.timestamp())
    window = stamp // rate.seconds
    left = (window + 1) * rate.seconds - stamp
    digest = hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:32]  # no numbers in the cache table
    base = f"rate:{digest}:{window}"
    cache = caches[settings.RATE_LIMIT_CACHE]
    # The database cache's incr() reads then writes, so parallel requests could all pass; add() is
    # atomic in every shared cache (a unique key in the table, SET NX in Redis). Each hit claims the
    # next free numbered slot; the count kept beside them only says where to start looking.
    slot = cache.get(f"{base}:n", 0)
    while slot < rate.limit:
        if cache.add(f"{base}:{slot}", 1, timeout=left):
            cache.set(f"{base}:n", slot + 1, timeout=left)
            return None
        slot += 1
    return left


def client_ip(request: HttpRequest) -> str:
    """The client's address; an IPv6 client counts as its /64, which one subscriber usually holds."""
    address = request.META.get("REMOTE_ADDR", "")
    header = settings.RATE_LIMIT_IP_HEADER
    if header:
        forwarded = request.headers.get(header, "")
        # The last entry is the one the trusted proxy added; earlier ones are the client's claim.
        address = forwarded.split(",")[-1].strip() or address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = max(1, -(-retry_after // 60))
    body = render_to_string("campaigns/rate_limited.html", {"minutes": minutes}, request=request)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(retry_after)
    return response
