"""Queueing a task from code that runs after a commit."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django_q.tasks import async_task

_held = contextvars.ContextVar("tasks_held", default=False)


def task_enqueue(func: str, *args) -> None:
    """`async_task` on the caller's open connection.

    Outside a transaction django-q2's ORM broker first closes connections older than
    CONN_MAX_AGE (all of them with 0), so each ingested batch or broadcast batch queued after its
    commit would open a new connection; inside a block it writes on the one it has.
    """
    with transaction.atomic():
        async_task(func, *args)


def task_enqueue_on_commit(func: str, *args) -> None:
    """Queue the task once the caller's transaction commits, unless the caller does that work
    itself in this process (`tasks_held`)."""
    if not _held.get():
        transaction.on_commit(lambda: task_enqueue(func, *args))


@contextmanager
def tasks_held() -> Iterator[None]:
    """Within this block the caller runs the tick's stages itself (the demo's past played
    forward): what news would queue for a worker is left to those stages."""
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)
