"""The tick's offers stage: the reserved codes of texts that wait only for them are created in the
shop, in bulk, right before their texts go (so "for 2 hours" starts when the text is sent).

Three steps, and no transaction is open while the shop is called: the codes are claimed
(reserved → creating) and committed; the shop is asked; the answers are written. A code the shop
refuses is marked refused, and its text stays held: it is never sent with another code. A shop
that cannot be reached leaves the codes reserved for the next tick, their texts still waiting
(and dropped when they pass their valid-until time).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from campaigns.models import Message, Offer, OfferCode, Reason
from customers.connections.discounts import CodeSpec, Issued, ShopApiError, codes_check, codes_create

logger = logging.getLogger(__name__)
BATCH = 1000
# A claim whose answer never came back (a worker lost mid-call) is given up after this long.
LOST_AFTER = timedelta(minutes=10)


def _claim(now: datetime) -> list[OfferCode]:
    waiting = Message.objects.filter(
        idempotency_key=OuterRef("message_key"), status=Message.Status.HELD, reason=Reason.OFFER_CODE_PENDING
    )
    with transaction.atomic():
        rows = (
            OfferCode.objects.filter(status=OfferCode.Status.RESERVED).filter(Exists(waiting)).order_by("pk")
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        claimed = list(rows.select_related("offer__store")[:BATCH])
        OfferCode.objects.filter(pk__in=[c.pk for c in claimed]).update(
            status=OfferCode.Status.CREATING, attempted_at=now
        )
    return claimed


def _spec(offer: Offer, now: datetime) -> CodeSpec:
    return CodeSpec(
        title=f"{offer.name} (single-use codes by text)",
        value_type=offer.value_type,
        value=offer.value,
        minimum=offer.minimum_subtotal,
        ends_at=now + timedelta(hours=offer.expires_hours) if offer.expires_hours else None,
    )


def _record(issued: Issued, codes: dict[str, OfferCode], now: datetime, ends_at: datetime | None) -> None:
    with transaction.atomic():
        for code, error in issued.results.items():
            row = codes[code]
            if error:
                OfferCode.objects.filter(pk=row.pk).update(
                    status=OfferCode.Status.REFUSED, error=error[:300], shop_ref=""
                )
        created = [codes[c].pk for c, error in issued.results.items() if not error]
        OfferCode.objects.filter(pk__in=created).update(
            status=OfferCode.Status.ISSUED, issued_at=now, expires_at=ends_at, error="", shop_ref=""
        )
        by_ref: dict[str, list[int]] = defaultdict(list)
        for code, reference in issued.pending.items():
            by_ref[reference].append(codes[code].pk)
        for reference, pks in by_ref.items():
            OfferCode.objects.filter(pk__in=pks).update(shop_ref=reference)


def _release_for_retry(codes: list[OfferCode], error: Exception) -> None:
    OfferCode.objects.filter(pk__in=[c.pk for c in codes], status=OfferCode.Status.CREATING).update(
        status=OfferCode.Status.RESERVED, error=str(error)[:300]
    )


def offer_codes_issue(*, now: datetime) -> int:
    """Create the codes texts wait for, check jobs still running; how many codes were settled."""
    settled = _jobs_check(now)
    claimed = _claim(now)
    groups: dict[int, list[OfferCode]] = defaultdict(list)
    for code in claimed:
        groups[code.offer_id].append(code)
    for codes in groups.values():
        offer = codes[0].offer
        spec = _spec(offer, now)
        try:
            issued = codes_create(store=offer.store, spec=spec, codes=[c.code for c in codes], now=now)
        except ShopApiError as error:
            logger.warning("the shop did not create %s codes of offer %s: %s", len(codes), offer.pk, error)
            _release_for_retry(codes, error)
            continue
        _record(issued, {c.code: c for c in codes}, now, spec.ends_at)
        settled += len(issued.results)
    return settled


def _jobs_check(now: datetime) -> int:
    """Codes whose shop job was still running; a claim whose answer was lost is given up."""
    OfferCode.objects.filter(
        status=OfferCode.Status.CREATING, shop_ref="", attempted_at__lt=now - LOST_AFTER
    ).update(
        status=OfferCode.Status.REFUSED, error="the shop's answer was lost; not sent with an unconfirmed code"
    )
    running = list(
        OfferCode.objects.filter(status=OfferCode.Status.CREATING)
        .exclude(shop_ref="")
        .select_related("offer__store")
    )
    by_offer: dict[int, list[OfferCode]] = defaultdict(list)
    for code in running:
        by_offer[code.offer_id].append(code)
    settled = 0
    for codes in by_offer.values():
        offer = codes[0].offer
        try:
            issued = codes_check(store=offer.store, pending={c.code: c.shop_ref for c in codes})
        except ShopApiError as error:
            logger.warning("the shop's code job for offer %s could not be checked: %s", offer.pk, error)
            continue
        ends_at = (
            codes[0].attempted_at + timedelta(hours=offer.expires_hours) if offer.expires_hours else None
        )
        _record(issued, {c.code: c for c in codes}, now, ends_at)
        settled += len(issued.results)
    return settled
