from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from campaigns.flows.io import FlowImportError, flow_import
from customers.models import Store


class Command(BaseCommand):
    help = "Creates a flow from an export_flow JSON file in a store, as a draft."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON file written by export_flow")
        parser.add_argument("--store", required=True, help="Store slug")

    def handle(self, *args, **options):
        store = Store.objects.filter(slug=options["store"]).first()
        if store is None:
            raise CommandError(f"--store: no store with slug {options['store']!r}")
        try:
            with open(options["file"], encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as error:
            raise CommandError(f"file: {error}") from error
        try:
            flow = flow_import(store=store, data=data)
        except FlowImportError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Imported “{flow.name}” as {flow.slug} (draft) into {store.slug}, id {flow.id}")
