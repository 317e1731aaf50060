from __future__ import annotations

from django.core.management.base import BaseCommand

from campaigns.schedules import SCHEDULES, schedules_install


class Command(BaseCommand):
    help = "Creates the django-q2 schedules for the tick (also done after every migrate); safe to repeat."

    def handle(self, *args, **options):
        created = schedules_install()
        for spec in SCHEDULES:
            state = "created" if spec["name"] in created else "already there"
            self.stdout.write(f"{spec['name']}: {spec['func']} ({state})")
