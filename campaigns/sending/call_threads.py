"""Threads for a worker's provider calls: each call's answer comes back on its caller's queue.

A worker keeps up to SMS_SEND_CONCURRENCY calls in flight. The threads live as long as the worker
process and take calls off one queue; an answer is put on the queue the caller passed with the
call, tagged with the caller's own key. Plain `SimpleQueue`s hand calls over and back for a
fraction of what a future and a wait on it cost, which matters when the provider answers within a
millisecond. The calls touch no database: each thread keeps only its own connection to the provider.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from typing import Any

Answers = queue.SimpleQueue  # of (key, result, error): error is what the call raised, else None


class InCaller:
    """One call at a time, in the caller's own thread (a concurrency of 1)."""

    def submit(self, call: Callable[..., Any], key: object, answers: Answers, /, **kwargs: Any) -> None:
        _answer(call, key, answers, kwargs)


class CallThreads:
    def __init__(self, size: int) -> None:
        self.pid, self.size = os.getpid(), size
        self.calls: queue.SimpleQueue = queue.SimpleQueue()
        self.threads = [
            threading.Thread(target=self._serve, name=f"sms-send-{n}", daemon=True) for n in range(size)
        ]
        for thread in self.threads:
            thread.start()

    def submit(self, call: Callable[..., Any], key: object, answers: Answers, /, **kwargs: Any) -> None:
        self.calls.put((call, key, answers, kwargs))

    def stop(self) -> None:
        for _ in range(self.size):
            self.calls.put(None)

    def _serve(self) -> None:
        while (job := self.calls.get()) is not None:
            call, key, answers, kwargs = job
            _answer(call, key, answers, kwargs)


def _answer(call: Callable[..., Any], key: object, answers: Answers, kwargs: dict[str, Any]) -> None:
    try:
        answers.put((key, call(**kwargs), None))
    except BaseException as error:  # a dying worker included: it surfaces where the answer is read
        answers.put((key, None, error))


_threads: CallThreads | None = None
_lock = threading.Lock()


def call_threads(size: int) -> InCaller | CallThreads:
    """`size` threads for this process (a forked worker starts its own); a size of 1 calls in place."""
    global _threads
    if size == 1:
        return InCaller()
    with _lock:
        if _threads is None or (_threads.pid, _threads.size) != (os.getpid(), size):
            if _threads is not None and _threads.pid == os.getpid():
                _threads.stop()
            _threads = CallThreads(size)
        return _threads
