"""The circuit breaker per sender: stop calling a provider that is down, probe it, resume.

Shared by every worker through one `ProviderCircuit` row per sender. Each change is a conditional
UPDATE, so two workers never both take the half-open probe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from campaigns.models import ProviderCircuit

CLOSED, PROBE, OPEN = "closed", "probe", "open"


@dataclass(frozen=True)
class Admission:
    state: str
    open_until: datetime | None = None
    unavailable_since: datetime | None = None


def _max_open() -> timedelta:
    return timedelta(seconds=settings.SMS_CIRCUIT_MAX_OPEN_SECONDS)


def circuit_admit(*, sender: str, now: datetime) -> Admission:
    """May texts go to this sender's provider now: all (closed), one probe, or none (open)."""
    circuit = ProviderCircuit.objects.filter(sender=sender).first()
    if circuit is None or circuit.open_until is None:
        return Admission(CLOSED)
    # A breaker opened by a run acting at a later `--now` is not this moment's: it cannot be open
    # longer than the longest pause from here.
    if now < circuit.open_until <= now + _max_open():
        return Admission(OPEN, circuit.open_until, circuit.unavailable_since)
    lease = now + timedelta(seconds=2 * settings.SMS_PROVIDER_TIMEOUT + 30)
    took = ProviderCircuit.objects.filter(pk=circuit.pk, open_until=circuit.open_until).update(
        open_until=lease
    )
    if took:
        return Admission(PROBE, lease, circuit.unavailable_since)
    return Admission(OPEN, lease, circuit.unavailable_since)


def circuit_failure(*, sender: str, error: str, now: datetime, probe: bool = False) -> datetime | None:
    """Count a "try later" answer; returns until when the breaker is open, if it is now open."""
    ProviderCircuit.objects.get_or_create(sender=sender)
    ProviderCircuit.objects.filter(sender=sender).update(failures=F("failures") + 1, last_error=error[:300])
    ProviderCircuit.objects.filter(sender=sender, unavailable_since__isnull=True).update(
        unavailable_since=now
    )
    circuit = ProviderCircuit.objects.get(sender=sender)
    threshold = settings.SMS_CIRCUIT_THRESHOLD
    if not probe and circuit.failures < threshold:
        return None
    step = settings.SMS_CIRCUIT_OPEN_SECONDS * 2 ** max(0, circuit.failures - threshold)
    open_until = now + min(timedelta(seconds=step), _max_open())
    ProviderCircuit.objects.filter(pk=circuit.pk).update(open_until=open_until)
    return open_until


def circuit_success(*, sender: str) -> None:
    """The provider answered: close the breaker (one UPDATE, and only if it was not closed)."""
    ProviderCircuit.objects.filter(sender=sender).filter(
        Q(failures__gt=0) | Q(open_until__isnull=False)
    ).update(failures=0, unavailable_since=None, open_until=None, last_error="")


def unavailable_since(*, senders: list[str]) -> datetime | None:
    """Since when the provider of any of these senders has been failing, if it is."""
    return (
        ProviderCircuit.objects.filter(sender__in=senders, open_until__isnull=False)
        .order_by("unavailable_since")
        .values_list("unavailable_since", flat=True)
        .first()
    )
