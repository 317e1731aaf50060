"""Tracked short links: codes, UTM tags, the allowed-domain check, and recording a click."""

from __future__ import annotations

import os
import re
import string
import threading
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F

from campaigns.models import Link, Message, ReportDayMark
from customers.ingest.events import customer_event_record
from customers.links import check_link_domain, link_domain_error
from customers.models import Event, Store

__all__ = ["check_link_domain", "link_domain_error", "link_click", "new_code", "short_url", "with_utm"]

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 10  # 62**10 ≈ 8e17: not guessable by walking codes
URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
TRAILING_PUNCTUATION = ".,!?;:)]}'\""
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")
# Link previews fetch the URL without anyone tapping it; those fetches are not clicks.
PREVIEW_AGENTS = re.compile(r"facebookexternalhit|twitterbot|slackbot|whatsapp|telegrambot|discordbot|"
                            r"linkedinbot|skypeuripreview|googlebot|bingbot", re.IGNORECASE)


# Two characters per step: 62**2 pairs, so a code is five divisions instead of ten.
_PAIRS = [a + b for b in CODE_ALPHABET for a in CODE_ALPHABET]
_random = threading.local()
RANDOM_BATCH = 512  # codes' worth of random bytes read at once: a broadcast makes one per text


def new_code() -> str:
    number = _random_bits()  # 62**10 ≈ 2**59.5: the code keeps about 59 random bits
    pairs = []
    for _ in range(CODE_LENGTH // 2):
        number, pair = divmod(number, 3844)
        pairs.append(_PAIRS[pair])
    return "".join(pairs)


def _random_bits() -> int:
    """60 bits from the system's random source, read a few kilobytes at a time per thread and
    process (a process forked from this one reads its own: no two processes share bytes)."""
    pool = getattr(_random, "bits", None)
    if not pool or _random.pid != os.getpid():
        data = os.urandom(8 * RANDOM_BATCH)
        pool = _random.bits = [int.from_bytes(data[i : i + 8], "big") >> 4 for i in range(0, len(data), 8)]
        _random.pid = os.getpid()
    return pool.pop()


def short_url(code: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/l/{code}"


def public_host() -> str:
    return (urlsplit(settings.PUBLIC_BASE_URL).hostname or "").lower()


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Literal URLs in text as (start, end, url), without the sentence's trailing punctuation."""
    found = []
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING_PUNCTUATION)
        found.append((match.start(), match.start() + len(url), url))
    return found


def with_utm(target: str, *, campaign: str, content: str) -> str:
    """The target with the SMS UTM tags, keeping its own query (its own utm_* are replaced)."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in UTM_KEYS]
    tags = {"utm_source": "sms", "utm_medium": "sms", "utm_campaign": campaign, "utm_content": content}
    query += [(k, v) for k, v in tags.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


def target_error(store: Store, url: str) -> str | None:
    """Why the redirect must refuse this target; the app's own pages (prefs) are always allowed."""
    return link_domain_error(store, url, extra_hosts={public_host()})


def is_preview_fetch(user_agent: str) -> bool:
    return bool(PREVIEW_AGENTS.search(user_agent or ""))


def link_click(*, link: Link, now: datetime, user_agent: str = "") -> Event:
    """Record one tap on a short link: an `sms_clicked` event (ingestion moves the customer's last
    click time) and the link's counters. Every tap is its own click: no key ties it to the link."""
    with transaction.atomic():
        event = customer_event_record(
            customer=link.customer,
            type="sms_clicked",
            now=now,
            properties={
                "link_code": link.code,
                "url": link.target_url,
                "message_id": link.message_id,
                "utm_campaign": link.utm_campaign,
                "utm_content": link.utm_content,
                "user_agent": user_agent[:300],
            },
        )
        Link.objects.filter(pk=link.pk).update(
            clicks=F("clicks") + 1, last_clicked_at=now,
        )
        Link.objects.filter(pk=link.pk, first_clicked_at__isnull=True).update(first_clicked_at=now)
        ReportDayMark.objects.add_for(Message.objects.filter(pk=link.message_id), now=now)
    return event


@dataclass
class PendingLink:
    code: str
    target_url: str
    utm_campaign: str = ""
    utm_content: str = ""
