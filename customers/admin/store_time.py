"""Store time on every staff page: the admin reads and shows times in the store's timezone.

For a signed-in staff user the middleware activates the timezone of the first store they see
(their store, for a store owner): every time Django renders is then in it, with its abbreviation
(the formats in `smsmarketing/formats`), and every datetime typed into a form is read in it. A
recipient's local time is labelled as such where it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from customers.admin.scoping import stores_for
from customers.models import Store


def store_zone(store: Store) -> ZoneInfo:
    try:
        return ZoneInfo(store.default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_label(zone: ZoneInfo, *, at: datetime | None = None) -> str:
    """e.g. "America/New_York (EST)": the name, and the abbreviation in force at `at` (or now)."""
    moment = (at or timezone.now()).astimezone(zone)
    return f"{zone.key} ({moment.tzname()})"


def store_time(moment: datetime | None, store: Store) -> str:
    """One way to write a time in text built by code: "Nov 26, 2026, 12:00 EST"."""
    if moment is None:
        return "—"
    local = moment.astimezone(store_zone(store))
    return f"{local:%b} {local.day}, {local:%Y, %H:%M} {local.tzname()}"


def staff_zone(request: HttpRequest) -> ZoneInfo | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return None
    store = stores_for(user).order_by("pk").first()
    return store_zone(store) if store else None


class StoreTimezoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = staff_zone(request) if request.path.startswith("/admin/") else None
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
