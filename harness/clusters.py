"""Real `qcluster` processes and a private `redis-server` for the tests and benchmarks that need them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def database_url(settings_dict: dict) -> str:
    s = settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port, nothing saved to disk; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(port),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)  # waiting for another process to listen
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def qcluster_start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def qcluster_stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)  # one SIGTERM: two can deadlock qcluster's shutdown
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def clusters_running(count: int, *, timeout: float = 30) -> bool:
    """Whether `count` clusters report to the broker within `timeout` seconds (ready to take tasks)."""
    from django_q.brokers import get_broker
    from django_q.status import Stat

    broker = get_broker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Stat.get_all(broker=broker)) >= count:
            return True
        time.sleep(0.2)  # waiting on other processes
    return False
