from __future__ import annotations

import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers.demo import MAX_CUSTOMERS, SLUG, demo_load


class Command(BaseCommand):
    help = "Build the demo store (slug 'demo') with customers, products and 60 days of events."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="delete the demo store first and rebuild it")
        parser.add_argument("--customers", type=int, default=1000, help=f"how many (1..{MAX_CUSTOMERS})")
        parser.add_argument(
            "--seed", type=int, default=2026, help="random seed; the same seed builds the same store"
        )
        parser.add_argument("--now", help="build the history up to this ISO 8601 moment instead of now")

    def handle(self, *args, reset: bool, customers: int, seed: int, now: str | None, **options) -> None:
        moment = timezone.now()
        if now:
            try:
                moment = datetime.fromisoformat(now)
            except ValueError as exc:
                raise CommandError(f"--now must be an ISO 8601 date-time: {exc}") from exc
            if moment.tzinfo is None:
                raise CommandError("--now needs a UTC offset, e.g. 2026-11-26T10:00:00Z")
        if not 1 <= customers <= MAX_CUSTOMERS:
            raise CommandError(f"--customers must be between 1 and {MAX_CUSTOMERS}")
        started = time.monotonic()
        summary = demo_load(now=moment, customers=customers, seed=seed, reset=reset)
        if summary is None:
            self.stdout.write(
                f"The demo store {SLUG!r} already exists; nothing to do (use --reset to rebuild it)."
            )
            return
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Built in {time.monotonic() - started:.1f} s."))
