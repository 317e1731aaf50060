from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from campaigns.flows.io import flow_export
from campaigns.models import Flow


class Command(BaseCommand):
    help = "Writes a flow as JSON (to stdout, or --output FILE), to import into another store."

    def add_arguments(self, parser):
        parser.add_argument("flow", help="Flow slug")
        parser.add_argument("--store", required=True, help="Store slug")
        parser.add_argument("--output", "-o", help="File to write (default: stdout)")

    def handle(self, *args, **options):
        flow = Flow.objects.filter(store__slug=options["store"], slug=options["flow"]).first()
        if flow is None:
            raise CommandError(f"flow: no flow {options['flow']!r} in store {options['store']!r}")
        text = json.dumps(flow_export(flow=flow), indent=2, ensure_ascii=False)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text + "\n")
            self.stderr.write(f"Wrote {flow.slug} to {options['output']}")
        else:
            self.stdout.write(text)
