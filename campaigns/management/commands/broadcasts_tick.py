from __future__ import annotations

from django.core.management.base import BaseCommand
from django.utils import timezone

from campaigns.broadcasts import broadcasts_tick


class Command(BaseCommand):
    help = "Prepare the broadcast campaigns that are due and close the finished ones (run every minute)."

    def handle(self, *args, **options) -> None:
        queued = broadcasts_tick(now=timezone.now())
        self.stdout.write(f"{len(queued)} campaign(s) queued for preparing.")
