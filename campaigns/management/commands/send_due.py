from __future__ import annotations

from datetime import UTC

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.sending import messages_send_due


class Command(BaseCommand):
    help = "One sending pass in the foreground: reconcile stuck sends, release held texts, send what is due."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="ISO time to act at (default: the current time)")

    def handle(self, *args, now: str | None = None, **options) -> None:
        at = parse_datetime(now) if now else timezone.now()
        if at is None:
            raise SystemExit(f"--now: not an ISO date-time: {now!r}")
        if timezone.is_naive(at):
            at = at.replace(tzinfo=UTC)
        counts = messages_send_due(now=at)
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
