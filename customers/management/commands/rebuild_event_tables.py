"""Refill the last-event and event-item tables from the events table."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from customers.derived import derived_rebuild, triggers_install


class Command(BaseCommand):
    help = (
        "Rebuild customers_eventlast and customers_eventitem from the stored events (and reinstall the "
        "triggers that keep them): for a database restored without them, or to check nothing drifted."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            triggers_install(connection)
            derived_rebuild(connection)
        self.stdout.write("last-event and event-item tables rebuilt from the events")
