"""Queueing a task from code that runs after a commit."""

from __future__ import annotations

from django.db import transaction
from django_q.tasks import async_task


def task_enqueue(func: str, *args) -> None:
    """`async_task` on the caller's open connection.

    Outside a transaction django-q2's ORM broker first closes connections older than
    CONN_MAX_AGE (all of them with 0), so each ingested batch or broadcast batch queued after its
    commit would open a new connection; inside a block it writes on the one it has.
    """
    with transaction.atomic():
        async_task(func, *args)
