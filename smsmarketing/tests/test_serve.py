"""`manage.py serve` (what `make run` ends with): web and worker up together, one Ctrl-C stops both."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_lines(process: subprocess.Popen) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return lines


def wait_for_line(lines: queue.Queue[str], text: str, seen: list[str]) -> None:
    while not any(text in line for line in seen):
        seen.append(lines.get(timeout=60))


@pytest.fixture
def migrated_database(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}", "Q_SYNC": "false"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def test_it_serves_the_admin_and_runs_the_worker_until_one_ctrl_c(migrated_database):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "serve", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**migrated_database, "PYTHONUNBUFFERED": "1", "Q_LOG_LEVEL": "INFO"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines, seen = read_lines(process), []
    try:
        wait_for_line(lines, "Starting development server", seen)
        wait_for_line(lines, "] running.", seen)
        wait_for_line(lines, "Log in: ", seen)
        login = next(i for i, line in enumerate(seen) if "Log in: " in line)
        started = next(i for i, line in enumerate(seen) if "Starting development server" in line)
        assert login > started and "/admin/  user: admin" in seen[login]  # below the server's lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        wait_for_line(lines, "has stopped", seen)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
