"""`{{ offer_code }}` as each recipient's own single-use code.

When a text is drafted, its recipient is given a code: for an offer of the shop's, a new code is
reserved here (its text waits, held, until the shop has created it: `offer_issue.py`); for a pool,
the next unused code of the pool is taken. A text keeps its code however often it is drafted (the
code is keyed by the text's idempotency key). A recipient the pool has no code left for gets no
code and their text is held, never sent with a wrong one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from campaigns.models import Offer, OfferCode

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_CHARS = 8
PENDING, READY, REFUSED = "pending", "ready", "refused"
STATE_OF = {
    OfferCode.Status.RESERVED: PENDING,
    OfferCode.Status.CREATING: PENDING,
    OfferCode.Status.ISSUED: READY,
    OfferCode.Status.REFUSED: REFUSED,
}


@dataclass(frozen=True)
class Given:
    code: str
    state: str  # PENDING (not in the shop yet), READY or REFUSED


def code_new(prefix: str) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return f"{prefix.upper()}-{body}" if prefix else body


def offer_codes_give(*, offer: Offer, recipients: list[tuple[str, int]], now: datetime) -> dict[str, Given]:
    """A code for each (text's idempotency key, customer id), in the caller's transaction."""
    keys = [key for key, _ in recipients]
    given = _given(keys)
    missing = [(key, customer) for key, customer in recipients if key not in given]
    if missing and offer.source == Offer.Source.POOL:
        _pool_take(offer, missing, now)
    elif missing:
        _reserve(offer, missing, now)
    given = _given(keys)
    return {key: given.get(key, Given("", REFUSED)) for key in keys}


def _given(keys: list[str]) -> dict[str, Given]:
    rows = OfferCode.objects.filter(message_key__in=keys).values_list("message_key", "code", "status")
    return {key: Given(code, STATE_OF[status]) for key, code, status in rows}


def _reserve(offer: Offer, missing: list[tuple[str, int]], now: datetime) -> None:
    """New codes for these texts; a code that happens to exist already is drawn again."""
    for _ in range(5):
        OfferCode.objects.bulk_create(
            [
                OfferCode(
                    offer=offer,
                    store_id=offer.store_id,
                    code=code_new(offer.code_prefix),
                    status=OfferCode.Status.RESERVED,
                    customer_id=customer,
                    message_key=key,
                    given_at=now,
                )
                for key, customer in missing
            ],
            ignore_conflicts=True,
        )
        have = set(
            OfferCode.objects.filter(message_key__in=[k for k, _ in missing]).values_list(
                "message_key", flat=True
            )
        )
        missing = [(key, customer) for key, customer in missing if key not in have]
        if not missing:
            return


def _pool_take(offer: Offer, missing: list[tuple[str, int]], now: datetime) -> None:
    """The pool's next unused codes, one per text; rows another worker holds are skipped."""
    free = OfferCode.objects.filter(offer=offer, status=OfferCode.Status.AVAILABLE).order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        free = free.select_for_update(skip_locked=True)
    rows = list(free[: len(missing)])
    for row, (key, customer) in zip(rows, missing, strict=False):
        row.status, row.message_key, row.customer_id = OfferCode.Status.ISSUED, key, customer
        row.given_at = row.issued_at = now
    OfferCode.objects.bulk_update(rows, ["status", "message_key", "customer_id", "given_at", "issued_at"])


def offer_states(keys: list[str]) -> dict[str, str]:
    """The code state of each of these texts that carries a unique code."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 5000):
        rows = OfferCode.objects.filter(message_key__in=keys[start : start + 5000])
        found.update({key: STATE_OF[status] for key, status in rows.values_list("message_key", "status")})
    return found


def offer_pool_add(*, offer: Offer, codes: list[str]) -> int:
    """Add uploaded codes to a pool; a code the store already has is left out. How many were added."""
    cleaned = list(dict.fromkeys(c.strip() for c in codes if c.strip() and len(c.strip()) <= 50))
    existing = set(
        OfferCode.objects.filter(store_id=offer.store_id, code__in=cleaned).values_list("code", flat=True)
    )
    created = OfferCode.objects.bulk_create(
        [
            OfferCode(offer=offer, store_id=offer.store_id, code=c, status=OfferCode.Status.AVAILABLE)
            for c in cleaned
            if c not in existing
        ],
        ignore_conflicts=True,
    )
    return len(created)
