from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.management.commands.tick import parse_now
from campaigns.tick import SENDING, tick


class Command(BaseCommand):
    help = (
        "The sending stages of the tick in this process (" + ", ".join(SENDING) + "): release held "
        "texts, send what is due, reconcile stuck sends."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="ISO time to act at (default: the current time)")

    def handle(self, *args, now: str | None = None, **options) -> None:
        report = tick(now=parse_now(now), stages=SENDING)
        counts = {"released": report.messages_released, "sent": report.messages_sent, **report.reconciled}
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
