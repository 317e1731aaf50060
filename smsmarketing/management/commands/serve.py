"""Runs the web server and a django-q2 worker together in the foreground; Ctrl-C stops both.

`serve` is for development (`runserver`, `make run`); `serve --production` runs gunicorn instead,
as the Procfile does (`make serve`).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from smsmarketing.management.commands.bootstrap import login_line

# How long to wait for the web server to answer before printing where to log in anyway.
READY_WAIT_SECONDS = 20


class Command(BaseCommand):
    help = "Serve the app on ADDRPORT and run one qcluster worker beside it."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--production", action="store_true", help="gunicorn (gunicorn.conf.py) instead of runserver"
        )

    def handle(self, *args, addrport: str, production: bool, **options):
        manage = [sys.executable, "manage.py"]
        web = [*manage, "runserver", addrport, "--noreload"]
        if production:
            web = [sys.executable, "-m", "gunicorn", "smsmarketing.wsgi:application", "--bind", addrport]
        # Each child gets its own process group, so a Ctrl-C reaches only this process, which then
        # sends each child exactly one SIGTERM: two signals can deadlock qcluster on shutdown.
        children = [
            subprocess.Popen([*manage, "qcluster"], start_new_session=True),
            subprocess.Popen(web, start_new_session=True),
        ]
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            if stopping:
                return
            stopping = True
            self.stdout.write("Stopping the web server and the worker...")
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        announce_by = None if production else time.monotonic() + READY_WAIT_SECONDS
        while not stopping and all(child.poll() is None for child in children):
            if announce_by is not None and (_answers(addrport) or time.monotonic() > announce_by):
                self._announce()
                announce_by = None
            time.sleep(0.5)
        stop(None, None)
        for child in children:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        return None

    def _announce(self) -> None:
        """The login, once the web server answers: the last line, below the servers' own."""
        self.stdout.write(
            "\nRunning: the web server and one worker (its own lines show with Q_LOG_LEVEL=INFO). "
            "Ctrl-C stops both."
        )
        self.stdout.write(self.style.SUCCESS(login_line()))


def _answers(addrport: str) -> bool:
    host, _, port = addrport.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.3).close()
    except (OSError, ValueError):
        return False
    return True
