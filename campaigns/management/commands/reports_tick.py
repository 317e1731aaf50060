from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.management.commands.tick import parse_now
from campaigns.reports.stage import reports_tick


class Command(BaseCommand):
    help = (
        "Credits orders and opt-outs to their texts and decides finished experiments, in this process"
        " (cron: every 5 minutes, beside `tick`; a cluster runs it from its schedule)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Act as if it were this time (ISO 8601), e.g. 2026-11-26T11:05:00Z")

    def handle(self, *args, **options):
        now = parse_now(options["now"])
        report = reports_tick(now=now)
        self.stdout.write(
            f"reports at {now.isoformat()}: {report.orders_credited} orders credited,"
            f" {report.opt_outs_tied} opt-outs tied, {report.decisions} experiments decided,"
            f" {report.days_counted} report days counted"
        )
