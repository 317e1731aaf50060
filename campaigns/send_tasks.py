"""django-q2 tasks for sending: thin, safe to run twice (every step is a conditional UPDATE)."""

from __future__ import annotations

from django.utils import timezone

from .sending import messages_send, sends_fan_out


def send_batch(message_ids: list[int]) -> int:
    return messages_send(message_ids=message_ids, now=timezone.now())


def send_fan_out(message_ids: list[int]) -> int:
    return sends_fan_out(message_ids=message_ids)
