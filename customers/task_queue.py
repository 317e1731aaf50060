"""Queueing a task from code that runs after a commit, alone or gathered with others of its kind
(campaigns queues its tasks through here too)."""

from __future__ import annotations

import atexit
import contextvars
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django_q.conf import Conf
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


def task_enqueue_on_commit(func: str, *args, gathered: bool = False) -> None:
    """Queue the task once the caller's transaction commits (gathered: see `task_enqueue_gathered`),
    unless the caller does that work itself in this process (`tasks_held`)."""
    if _held.get():
        return
    enqueue = task_enqueue_gathered if gathered else task_enqueue
    transaction.on_commit(lambda: enqueue(func, *args))


@contextmanager
def tasks_held() -> Iterator[None]:
    """Within this block the caller runs the work itself (the demo's past played forward by the
    tick's stages): what news would queue for a worker is left to it."""
    token = _held.set(True)
    try:
        yield
    finally:
        _held.reset(token)


def task_enqueue_gathered(func: str, owner_id: int, ids: list[int]) -> None:
    """Queue `func(owner_id, ids)`, gathering the ids of the calls made within EVENT_TASKS_WINDOW_MS
    in this process into one task per owner (a store, a shop connection). Webhooks that bring one
    event each would otherwise queue (and a worker run) one task per event, and the queue's own
    commit would double each request's. Called after the commit that stored the rows. With a window
    of 0, or tasks run inline, it queues at once."""
    if settings.EVENT_TASKS_WINDOW_MS <= 0 or Conf.SYNC:
        task_enqueue(func, owner_id, ids)
        return
    _gatherer().add(func, owner_id, ids)


class Gatherer:
    """Ids per (task, owner) gathered for a window, then queued by a thread of this process.

    Ids still waiting when a process is killed are not lost for good: the tick's enrol stage checks
    every store's events above its mark, the orders are credited by the reports' schedule, and a
    shop's deliveries left received are queued again by `webhook_deliveries_sweep_task`."""

    def __init__(self, window: float, enqueue=task_enqueue):
        self.window = window
        self.enqueue = enqueue
        self.lock = threading.Condition()
        self.waiting: dict[tuple[str, int], list[int]] = {}
        self.thread: threading.Thread | None = None

    def add(self, func: str, owner_id: int, ids: list[int]) -> None:
        with self.lock:
            self.waiting.setdefault((func, owner_id), []).extend(ids)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="task-gatherer", daemon=True)
                self.thread.start()
            self.lock.notify()

    def flush(self) -> int:
        """Queue what is waiting now; returns the tasks queued."""
        with self.lock:
            waiting, self.waiting = self.waiting, {}
        for (func, owner_id), ids in waiting.items():
            self.enqueue(func, owner_id, ids)
        return len(waiting)

    def _run(self) -> None:
        while True:
            with self.lock:
                while not self.waiting:
                    self.lock.wait()
            time.sleep(self.window)
            try:
                self.flush()
            finally:
                connection.close_if_unusable_or_obsolete()


_gatherers: dict[int, Gatherer] = {}


def _gatherer() -> Gatherer:
    """One per process: a worker forked from a server's master starts its own thread."""
    pid = os.getpid()
    if pid not in _gatherers:
        _gatherers[pid] = Gatherer(settings.EVENT_TASKS_WINDOW_MS / 1000)
        atexit.register(_gatherers[pid].flush)
    return _gatherers[pid]
