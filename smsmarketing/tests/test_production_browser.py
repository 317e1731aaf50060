"""`make serve`'s processes with DEBUG off: gunicorn and a worker (`serve --production`), static files
collected and served by whitenoise. Every stylesheet and script of the admin, the segment builder
and the signup page loads, in a real browser."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from smsmarketing.tests.test_production import ROOT, production_env
from smsmarketing.tests.test_serve import free_port, read_lines, wait_for_line

pytestmark = pytest.mark.browser

SETUP = """
from django.contrib.auth import get_user_model
from customers.models import Store
get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pass-123")
Store.objects.create(slug="juniper", brand_name="Juniper Market", site_url="https://shop.example.com")
"""


@pytest.fixture
def served(tmp_path):
    """A migrated SQLite database, collected static files, then `serve --production` on a free port."""
    port = free_port()
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        ALLOWED_HOSTS="127.0.0.1",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        # plain HTTP on this machine, as `make serve` runs: no TLS to redirect to
        SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false",
        Q_SYNC="false", Q_WORKERS="1", PYTHONUNBUFFERED="1", Q_LOG_LEVEL="INFO",  # the worker says it stopped
    )  # fmt: skip
    for args in (["migrate", "-v0"], ["collectstatic", "--noinput", "-v0"], ["shell", "-v0", "-c", SETUP]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=300)
    process = subprocess.Popen(
        [sys.executable, "-u", "manage.py", "serve", "--production", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines, seen = read_lines(process), []
    try:
        wait_for_line(lines, "Listening at: http://127.0.0.1", seen)
        yield f"http://127.0.0.1:{port}"
        process.send_signal(signal.SIGINT)
        wait_for_line(lines, "has stopped", seen)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def assets_of(page, url: str) -> dict[str, int]:
    """Every stylesheet and script the page loaded, with its HTTP status."""
    loaded: dict[str, int] = {}

    def note(response):
        if response.request.resource_type in ("stylesheet", "script"):
            loaded[response.url] = response.status

    page.on("response", note)
    page.goto(url, wait_until="networkidle")
    page.remove_listener("response", note)
    return loaded


def test_admin_builder_and_signup_page_load_every_css_and_js_under_gunicorn(page, served):
    page.goto(f"{served}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{served}/admin/")

    for path, kinds in [
        ("/admin/", {".css"}),
        ("/admin/customers/segment/add/", {".css", ".js"}),
        ("/join/juniper", {".css"}),
    ]:
        loaded = assets_of(page, served + path)
        assert loaded and set(loaded.values()) == {200}, (path, loaded)
        assert kinds <= {u[u.rindex("."):] for u in loaded}, (path, loaded)
        # collected with hashed names, so a browser may keep them for a year
        static = [u for u in loaded if "/static/" in u]
        assert static and all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", u) for u in static), static

    assert page.evaluate("getComputedStyle(document.querySelector('.btn-primary')).backgroundColor") not in (
        "", "rgba(0, 0, 0, 0)"
    )  # fmt: skip
