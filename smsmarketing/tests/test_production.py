"""The production set-up as documented: settings that pass `check --deploy`, the Procfile and the
compose file agreeing, and the health and readiness answers a load balancer reads."""

from __future__ import annotations

import gc
import os
import re
import runpy
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from campaigns.models import ProviderCircuit
from campaigns.tick import tick_heartbeat
from smsmarketing.health import readiness

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(48),
    "ALLOWED_HOSTS": "sms.example.com",
    "PUBLIC_BASE_URL": "https://sms.example.com",
}


def production_env(**env: str) -> dict[str, str]:
    # conftest.py lets Playwright's event loop share the test thread: a deployment never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**inherited, **PRODUCTION, **env}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=production_env(**env),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_it_passes_the_deploy_check_with_no_warning_when_debug_is_off():
    done = manage("check", "--deploy", "--fail-level", "WARNING")

    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_https_settings_follow_debug_and_the_environment():
    names = ("SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
             "CSRF_TRUSTED_ORIGINS")  # fmt: skip
    printed = ", ".join(f"s.{name}" for name in names) + ", s.STORAGES['staticfiles']['BACKEND']"
    shown = manage("shell", "-v", "0", "-c", f"from django.conf import settings as s; print({printed})")
    assert shown.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',", "'https')", "True", "True", "True", "['https://sms.example.com']",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
    ]  # fmt: skip


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def compose_command(service: str) -> str:
    """The `command:` of a service in docker-compose.yml (the file keeps each on one line)."""
    text = (ROOT / "docker-compose.yml").read_text()
    block = re.search(rf"^  {service}:\n((?:    .*\n|\n)*)", text, re.MULTILINE)
    assert block, f"no service {service} in docker-compose.yml"
    return re.search(r"^    command: (.*)$", block.group(1), re.MULTILINE).group(1).strip()


def test_the_compose_file_runs_what_the_procfile_runs():
    processes = procfile()

    assert set(processes) == {"release", "web", "worker"}
    assert processes["web"] == "gunicorn smsmarketing.wsgi:application"
    for process, command in processes.items():
        assert compose_command(process) == command
    for service in ("postgres", "redis"):
        assert re.search(rf"^  {service}:$", (ROOT / "docker-compose.yml").read_text(), re.MULTILINE)


def test_a_web_worker_keeps_the_loaded_app_out_of_full_garbage_collections():
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        hooks["post_worker_init"](None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_docs_give_a_unit_for_each_long_running_process():
    page = (ROOT / "docs" / "operations-and-scale-out.md").read_text()
    for unit in ("smsmarketing-web.service", "smsmarketing-worker.service"):
        assert f"# /etc/systemd/system/{unit}" in page
    assert "ExecStart=/srv/smsmarketing/.venv/bin/gunicorn smsmarketing.wsgi:application" in page
    assert "KillSignal=SIGTERM" in page


# --- health and readiness ----------------------------------------------------------------------


@pytest.mark.django_db
def test_liveness_answers_any_host_without_the_database(client, settings):
    settings.ALLOWED_HOSTS = ["sms.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/healthz", HTTP_HOST="10.0.0.7")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_it_is_ready_when_the_database_answers_the_tick_ran_and_no_circuit_is_open(now):
    tick_heartbeat(at=now - timedelta(seconds=50))

    status, body = readiness(now=now)

    assert (status, body["status"]) == (200, "ready")
    assert body["checks"]["worker"]["detail"] == "last tick 50 s ago"
    assert body["checks"]["provider"] == {"ok": True, "detail": "closed", "open": 0}


@pytest.mark.django_db
def test_a_silent_worker_or_an_open_circuit_is_degraded_and_strict_makes_it_503(now):
    tick_heartbeat(at=now - timedelta(minutes=4))
    ProviderCircuit.objects.create(sender="MG1", failures=5, open_until=now + timedelta(seconds=30),
                                   unavailable_since=now, last_error="503 from the provider")

    status, body = readiness(now=now)
    strict, _ = readiness(now=now, strict=True)

    assert (status, body["status"], strict) == (200, "degraded", 503)
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["provider"] == {"ok": False, "detail": "circuit open for 1 sender(s)", "open": 1}
    assert "503 from the provider" not in str(body) and "MG1" not in str(body)  # the admin shows those


@pytest.mark.django_db
def test_the_readiness_url_answers_in_json_at_the_frozen_moment(client, frozen_now):
    tick_heartbeat(at=frozen_now)

    response = client.get("/readyz?strict=1", HTTP_HOST="10.0.0.7")

    assert response.status_code == 200
    assert response.json()["checks"]["worker"]["detail"] == "last tick 0 s ago"


def test_an_unreachable_database_is_503():
    probe = ("from django.test import Client; r = Client().get('/readyz'); "
             "print(r.status_code, r.json()['status'], r.json()['checks']['database']['ok'])")
    done = manage("shell", "-v", "0", "-c", probe, DATABASE_URL="postgres://nobody:x@127.0.0.1:9/none?connect_timeout=2")

    assert done.stdout.split() == ["503", "unavailable", "False"], done.stderr
