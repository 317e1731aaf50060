from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from campaigns.flows.backtest import flow_backtest
from campaigns.management.commands.tick import parse_now
from campaigns.models import Flow


class Command(BaseCommand):
    help = "Replays the last N days of stored events through a flow and reports what it would have sent."

    def add_arguments(self, parser):
        parser.add_argument("flow", help="Flow slug")
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--now", help="End of the replayed period (ISO 8601; default: now)")

    def handle(self, *args, **options):
        flow = Flow.objects.filter(store__slug=options["store"], slug=options["flow"]).first()
        if flow is None:
            raise CommandError(f"flow: no flow {options['flow']!r} in store {options['store']!r}")
        report = flow_backtest(flow=flow, now=parse_now(options["now"]), days=options["days"])
        out = self.stdout.write
        out(
            f"{flow.name}: if it had been live from {report.start:%Y-%m-%d %H:%M} "
            f"to {report.end:%Y-%m-%d %H:%M}"
        )
        out(
            f"  runs: {report.runs}, messages: {report.messages}, customers texted: {report.customers_texted}"
        )
        out(f"  would be sent: {report.delivered}, suppressed: {report.suppressed or 0}")
        for s in report.steps:
            out(
                f"  step {s.step.position} {s.step.kind:<5} reached {s.reached:>6}  "
                f"messages {s.messages:>6}  sent {s.sent}  held {s.held}  "
                f"suppressed {s.suppressed_by_reason or 0}  yes/no {s.yes}/{s.no}  exited here {s.exited}"
            )
        out(f"  ended: {dict(report.exits)}; still waiting: {report.still_waiting}")
        out(f"  texted the same day by another live flow: {report.overlap_customers} customers")
