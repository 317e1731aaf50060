"""Rebuild every customer's event-derived metrics from their whole history."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from customers.ingest.metrics import store_metrics_recompute
from customers.management.stores import stores_chosen


class Command(BaseCommand):
    help = (
        "Recompute order, click, reward and preference metrics from the stored events for one store "
        "(--store SLUG) or every store: the reference that ingestion's incremental updates must match."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", help="the store's slug; every store when left out")

    def handle(self, *args, store: str | None = None, **options):
        for each in stores_chosen(store):
            count = store_metrics_recompute(store=each)
            self.stdout.write(f"{each.slug}: metrics of {count} customer(s) recomputed")
