"""Prepares a development database: demo store when empty, presets, keywords, schedules, admin login.

Safe to run on every start: an admin user that exists is left as it is (setting its password again
would end every session), and the login is printed last.
"""

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
USERNAME = "admin"


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
        created = admin_user_ensure()
        self.stdout.write(self.style.SUCCESS(login_line(created=created)))


def admin_user_ensure() -> bool:
    """Create the admin user with the saved password unless it exists; True when created."""
    User = get_user_model()
    if User.objects.filter(username=USERNAME).exists():
        return False
    User.objects.create_superuser(USERNAME, "admin@example.com", admin_password())
    return True


def login_line(*, created: bool = False) -> str:
    line = f"Log in: {settings.PUBLIC_BASE_URL}/admin/  user: {USERNAME}  password: "
    if created:
        return line + admin_password()
    saved = admin_password() if PASSWORD_FILE.exists() else "(unchanged)"
    return line + f"{saved}  (left as it was; a new one: python manage.py changepassword {USERNAME})"


def admin_password() -> str:
    if not PASSWORD_FILE.exists():
        PASSWORD_FILE.write_text(secrets.token_urlsafe(12))
    return PASSWORD_FILE.read_text().strip()
