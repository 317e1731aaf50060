from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.tick import STAGES, tick, tick_heartbeat


def parse_now(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--now: not an ISO 8601 time: {value!r} (e.g. 2026-11-26T11:05:00Z)")
    return (
        parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.get_current_timezone())
    )


class Command(BaseCommand):
    help = (
        "Runs one tick in this process, no cluster needed (cron: every minute): "
        + ", ".join(s.name for s in STAGES)
        + ". Texts that are due are sent here, through the configured gateway."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Act as if it were this time (ISO 8601), e.g. 2026-11-26T11:05:00Z")

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        if not options["now"]:  # cron's tick, at the real time: the worker's heartbeat
            tick_heartbeat(at=now)
        report = tick(now=now)
        self.stdout.write(f"tick at {now.isoformat()}: {report}")
