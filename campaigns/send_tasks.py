"""django-q2 tasks for sending: thin, safe to run twice (every step is a conditional UPDATE)."""

from __future__ import annotations

from django.utils import timezone

from .sending import messages_reconcile, messages_release_due, messages_send, sends_fan_out


def send_batch(message_ids: list[int]) -> int:
    return messages_send(message_ids=message_ids, now=timezone.now())


def send_fan_out(message_ids: list[int]) -> int:
    return sends_fan_out(message_ids=message_ids)


def release_due() -> int:
    """Run by the per-minute tick: held messages whose window opened, retries that are due."""
    return len(messages_release_due(now=timezone.now()))


def reconcile() -> dict[str, int]:
    return messages_reconcile(now=timezone.now())
