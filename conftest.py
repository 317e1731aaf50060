"""Test set-up shared by every app: django-q2 runs tasks inline, browsers are Debian's chromium, and
the moment a test acts at comes from the `now` fixture, never the wall clock."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django_q.conf import Conf

# Tasks run inline in the test process, so a test sees the whole path from request to row; a test
# that lets tasks queue for a cluster sees each queued at its commit, not gathered over a window.
Conf.SYNC = True
settings.EVENT_TASKS_WINDOW_MS = 0
# Playwright's sync API runs an event loop in the test thread; Django's ORM is used beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# A Tuesday, 11:00 in New York: inside the default sending window (08:00–21:00) and every state rule.
NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """The moment the test acts at: decisions take it as an argument."""
    return NOW


@pytest.fixture
def frozen_now(now):
    """This process's clock stopped at `now`, for a view or a command that reads the clock itself."""
    with time_machine.travel(now, tick=False):
        yield now


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests skipped: no chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    opened.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def admin_page(page, live_server, django_user_model):
    """A browser page logged in to the admin as a superuser."""
    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.live_server_url = live_server.url
    return page
