"""Work the scheduler runs for customers: thin wrappers over the services."""

from __future__ import annotations

from .ingest import store_metrics_recompute
from .models import Store


def metrics_recompute_all() -> int:
    """Nightly: every store's metrics rebuilt from history, so any drift is corrected by morning."""
    return sum(store_metrics_recompute(store=store) for store in Store.objects.order_by("pk"))
