"""Liveness and readiness for a load balancer or a monitor, answered before any other middleware
(no host check, no HTTPS redirect: a probe comes from inside, by address). Anyone may reach them,
so they name no host, sender or error text, only states and counts.

    /healthz   the process answers (no database): 200
    /readyz    the database, the worker's heartbeat and the provider's circuit; 503 when the
               database cannot be reached (the web process cannot serve), 200 otherwise with
               `"status": "degraded"` when the worker is silent or a provider is failing;
               `?strict=1` answers 503 for those too (for a monitor that alerts)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django_q.status import Stat

from campaigns.models import ProviderCircuit
from campaigns.tick import tick_last_heartbeat

# The tick runs every minute (the schedule or cron): three missed in a row is a silent worker.
HEARTBEAT_STALE = timedelta(minutes=3)


def database_check() -> dict[str, object]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"ok": False, "detail": type(error).__name__}
    return {"ok": True, "detail": connection.vendor}


def worker_check(*, now: datetime) -> dict[str, object]:
    last = tick_last_heartbeat()
    clusters = len([stat for stat in Stat.get_all() if stat.status != "Stopped"])
    if last is None:
        return {"ok": False, "detail": "no tick has run yet", "clusters": clusters}
    age = now - last
    return {
        "ok": age <= HEARTBEAT_STALE,
        "detail": f"last tick {int(age.total_seconds())} s ago",
        "last_tick": last.isoformat(),
        "clusters": clusters,
    }


def provider_check(*, now: datetime) -> dict[str, object]:
    """How many senders' circuits are open; which, and the provider's errors, are for the admin."""
    failing = ProviderCircuit.objects.filter(open_until__gt=now).count()
    return {"ok": not failing, "detail": f"circuit open for {failing} sender(s)" if failing else "closed",
            "open": failing}  # fmt: skip


def readiness(*, now: datetime, strict: bool = False) -> tuple[int, dict[str, object]]:
    checks: dict[str, dict[str, object]] = {"database": database_check()}
    if not checks["database"]["ok"]:
        return 503, {"status": "unavailable", "checks": checks}
    checks["worker"] = _guarded(worker_check, now=now)
    checks["provider"] = _guarded(provider_check, now=now)
    if all(check["ok"] for check in checks.values()):
        return 200, {"status": "ready", "checks": checks}
    return (503 if strict else 200), {"status": "degraded", "checks": checks}


def _guarded(check: Callable[..., dict[str, object]], **kwargs) -> dict[str, object]:
    """A check that cannot run (a table missing before `migrate`) is a failed check, not a 500."""
    try:
        return check(**kwargs)
    except Exception as error:
        return {"ok": False, "detail": type(error).__name__}


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return _no_store(JsonResponse({"status": "ok"}))
        if request.path == "/readyz":
            status, body = readiness(now=timezone.now(), strict=request.GET.get("strict") == "1")
            return _no_store(JsonResponse(body, status=status))
        return self.get_response(request)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response
