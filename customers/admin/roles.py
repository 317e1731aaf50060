"""The two staff roles: "Store owner" (their stores only) and "Marketing staff" (every store)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission

from customers.admin.scoping import MARKETING_STAFF, STORE_OWNER

APPS = ("customers", "connections", "campaigns")
# The consent ledger is append-only for everyone; events come only through ingestion.
NOBODY = {"change_consentrecord", "delete_consentrecord", "add_event", "change_event", "add_productchange",
          "change_productchange", "delete_productchange"}  # fmt: skip
OWNER_MAY_NOT = NOBODY | {"add_store", "delete_store", "delete_event"}


def roles_setup() -> None:
    """Create both groups and grant their permissions; adds only, so local grants survive."""
    for label in APPS:
        if label in {a.label for a in apps.get_app_configs()}:
            create_permissions(apps.get_app_config(label), verbosity=0)
    permissions = list(Permission.objects.filter(content_type__app_label__in=APPS))
    staff, _ = Group.objects.get_or_create(name=MARKETING_STAFF)
    staff.permissions.add(*[p for p in permissions if p.codename not in NOBODY])
    staff.permissions.add(
        *Permission.objects.filter(content_type__app_label="django_q", codename__startswith="view_")
    )
    owner, _ = Group.objects.get_or_create(name=STORE_OWNER)
    owner.permissions.add(*[p for p in permissions if p.codename not in OWNER_MAY_NOT])


def roles_after_migrate(sender, **kwargs) -> None:
    if sender.label == "customers":
        roles_setup()
