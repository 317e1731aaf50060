from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.management.commands.tick import parse_now
from campaigns.tick import TickReport, stage_prepare


class Command(BaseCommand):
    help = "The tick's prepare stage alone: due broadcast campaigns become texts, finished ones close."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", help="ISO time to act at (default: the current time)")

    def handle(self, *args, now: str | None = None, **options) -> None:
        report = TickReport()
        stage_prepare(now=parse_now(now), report=report, in_process=True)
        self.stdout.write(f"{report.campaigns_started} campaign(s) prepared, {report.messages_created} texts")
