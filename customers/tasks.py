"""Work the scheduler runs for customers: thin wrappers over the services."""

from __future__ import annotations

from django.utils import timezone

from customers.connections.backfill import backfill_page
from customers.connections.process import deliveries_left_process, deliveries_process, delivery_process
from customers.ingest.metrics import store_metrics_recompute
from customers.models import Store
from customers.segments.counts import live_counts_refresh
from customers.segments.membership import segments_refresh


def metrics_recompute_all() -> int:
    """Nightly: every store's metrics rebuilt from history, so any drift is corrected by morning."""
    return sum(store_metrics_recompute(store=store) for store in Store.objects.order_by("pk"))


def segments_refresh_task() -> dict:
    """Every minute: stored segments' rows brought up to date (customers/segments/membership.py), and
    live segments' counts taken again when they are due (customers/segments/counts.py)."""
    now = timezone.now()
    report = segments_refresh(now=now)
    counted = live_counts_refresh(now=now)
    return {
        "refreshed": report.refreshed,
        "rebuilt": report.rebuilt,
        "skipped": report.skipped,
        "failed": report.failed,
        "counted": counted,
    }


def webhook_delivery_process_task(delivery_id: int) -> str:
    """A shop's webhook, stored by the endpoint, becomes the app's own customers and events (tasks
    queued one per delivery before they were gathered)."""
    return delivery_process(delivery_id=delivery_id, now=timezone.now())


def webhook_deliveries_process_task(connection_id: int, delivery_ids: list[int]) -> dict:
    """A connection's webhooks stored within one short window become the app's customers and events."""
    return deliveries_process(delivery_ids=delivery_ids, now=timezone.now())


def webhook_deliveries_sweep_task() -> dict:
    """Every few minutes: deliveries whose queued task was lost are processed all the same."""
    return deliveries_left_process(now=timezone.now())


def backfill_page_task(backfill_id: int) -> bool:
    """One page of a shop's backfill; the next page is queued by the page before it."""
    return backfill_page(backfill_id=backfill_id, now=timezone.now())
