"""One flow's or campaign's failure stops only itself: it is paused with its error, shown in the admin.

The tick's stages and the event-trigger check both pause here, so a failing flow is treated the
same whichever path found the fault. A store whose events cannot be checked at all is not paused
(the tick tries again each minute, and its other stores go on): its error is kept and shown
beside the paused flows until a check succeeds.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db.models import F, Q

from campaigns.models import Campaign, EventCheckMark, Flow

logger = logging.getLogger(__name__)

ERROR_LENGTH = 2000


def _error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]


def flow_pause_on_error(*, flow_id: int, error: BaseException, now: datetime) -> None:
    logger.exception("Flow %s paused after an error", flow_id, exc_info=error)
    Flow.objects.filter(pk=flow_id, status=Flow.Status.LIVE).update(
        status=Flow.Status.PAUSED, error=_error_text(error), error_at=now
    )


def campaign_pause_on_error(*, campaign_id: int, error: BaseException, now: datetime) -> None:
    logger.exception("Campaign %s paused after an error", campaign_id, exc_info=error)
    Campaign.objects.filter(pk=campaign_id).move(
        source=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING],
        target=Campaign.Status.PAUSED,
        paused_from=F("status"),
        error=_error_text(error),
        error_at=now,
        preparing_until=None,
    )


def store_checks_failed(*, store_id: int, error: BaseException, now: datetime) -> None:
    logger.exception("Event trigger check failed for store %s", store_id, exc_info=error)
    EventCheckMark.objects.update_or_create(
        store_id=store_id, defaults={"error": _error_text(error), "error_at": now}
    )


def store_checks_recovered(*, store_id: int) -> None:
    EventCheckMark.objects.filter(store_id=store_id).exclude(error="").update(error="", error_at=None)


def tick_failures(*, flows: Q | None = None, campaigns: Q | None = None) -> list[dict[str, object]]:
    """Flows and campaigns paused after an error, and stores whose events cannot be checked, newest
    first (for the admin home). `campaigns` scopes the stores too: both filter on `store`."""
    found = [
        {"kind": "flow", "object": f, "error": f.error, "at": f.error_at}
        for f in Flow.objects.filter(flows or Q(), status=Flow.Status.PAUSED).exclude(error="")
    ] + [
        {"kind": "campaign", "object": c, "error": c.error, "at": c.error_at}
        for c in Campaign.objects.filter(campaigns or Q(), status=Campaign.Status.PAUSED).exclude(error="")
    ] + [
        {"kind": "store", "object": mark.store, "error": mark.error, "at": mark.error_at}
        for mark in EventCheckMark.objects.filter(campaigns or Q()).exclude(error="").select_related("store")
    ]
    return sorted(found, key=lambda item: item["at"], reverse=True)
