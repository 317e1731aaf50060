from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.sending import messages_send_due

from .tick import parse_now


class Command(BaseCommand):
    help = "One sending pass in this process: reconcile stuck sends, release held texts, send what is due."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="ISO time to act at (default: the current time)")

    def handle(self, *args, now: str | None = None, **options) -> None:
        counts = messages_send_due(now=parse_now(now))
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
