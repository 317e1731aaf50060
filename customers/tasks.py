"""Work the scheduler runs for customers: thin wrappers over the services."""

from __future__ import annotations

from django.utils import timezone

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
