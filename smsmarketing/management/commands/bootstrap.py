"""Prepares a development database: demo store when empty, presets, keywords, schedules, admin login."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from campaigns.flows.starters import starter_templates_install
from campaigns.inbound.keywords import store_keywords_install
from campaigns.schedules import schedules_install
from customers.models import Store
from customers.segments.presets import presets_install

PASSWORD_FILE = Path(settings.BASE_DIR) / ".admin-password"


class Command(BaseCommand):
    help = "Load the demo store into an empty database and print the admin login."

    def handle(self, *args, **options):
        if not Store.objects.exists():
            call_command("load_demo", stdout=self.stdout)
        for store in Store.objects.all():
            presets_install(store=store)
            store_keywords_install(store=store)
            starter_templates_install(store=store)
        schedules_install()
        password = admin_password()
        User = get_user_model()
        user = User.objects.filter(username="admin").first() or User(username="admin")
        user.is_staff = user.is_superuser = True
        user.email = user.email or "admin@example.com"
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin: {settings.PUBLIC_BASE_URL}/admin/  user: admin  password: {password}"
            )
        )


def admin_password() -> str:
    if not PASSWORD_FILE.exists():
        PASSWORD_FILE.write_text(secrets.token_urlsafe(12))
    return PASSWORD_FILE.read_text().strip()
