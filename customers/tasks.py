"""Work the scheduler runs for customers: thin wrappers over the services."""

from __future__ import annotations

from django.utils import timezone

from customers.connections.backfill import backfill_page
from customers.connections.process import delivery_process
from customers.ingest.metrics import store_metrics_recompute
from customers.models import Store
from customers.segments.membership import segments_refresh


def metrics_recompute_all() -> int:
    """Nightly: every store's metrics rebuilt from history, so any drift is corrected by morning."""
    return sum(store_metrics_recompute(store=store) for store in Store.objects.order_by("pk"))


def segments_refresh_task() -> dict:
    """Every few minutes: each stored segment's membership rows rebuilt (customers/segments/membership.py)."""
    report = segments_refresh(now=timezone.now())
    return {"refreshed": report.refreshed, "skipped": report.skipped, "failed": report.failed}


def webhook_delivery_process_task(delivery_id: int) -> str:
    """A shop's webhook, stored by the endpoint, becomes the app's own customers and events."""
    return delivery_process(delivery_id=delivery_id, now=timezone.now())


def backfill_page_task(backfill_id: int) -> bool:
    """One page of a shop's backfill; the next page is queued by the page before it."""
    return backfill_page(backfill_id=backfill_id, now=timezone.now())
