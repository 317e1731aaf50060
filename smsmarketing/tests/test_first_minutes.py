"""The first minutes after `make run`: the front door leads to the admin login, `bootstrap` run again
keeps the staff logged in, VIEW SITE is the store's site, and the docs' HELP example reaches the
demo store, which answers once with its own text."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from twilio.request_validator import RequestValidator

from customers.demo import SENDER as DEMO_NUMBER
from customers.demo import demo_store_create
from smsmarketing.management.commands import bootstrap

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def password_file(tmp_path, monkeypatch):
    path = tmp_path / ".admin-password"
    monkeypatch.setattr(bootstrap, "PASSWORD_FILE", path)
    return path


@pytest.mark.django_db
def test_the_front_door_leads_to_the_admin_login(client):
    response = client.get("/", follow=True)

    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert response.status_code == 200


@pytest.mark.django_db
def test_bootstrap_twice_keeps_the_staff_logged_in(client, password_file):
    demo_store_create()
    first = StringIO()
    call_command("bootstrap", stdout=first)
    password = password_file.read_text().strip()
    assert f"user: admin  password: {password}" in first.getvalue().splitlines()[-1]
    assert client.login(username="admin", password=password)
    assert client.get("/admin/").status_code == 200

    again = StringIO()
    call_command("bootstrap", stdout=again)

    assert client.get("/admin/").status_code == 200  # the session survived
    assert "manage.py changepassword admin" in again.getvalue().splitlines()[-1]


@pytest.mark.django_db
def test_view_site_is_the_stores_own_site(admin_client):
    demo_store_create()

    page = admin_client.get("/admin/").content.decode()

    assert 'href="https://shop.example.com"' in page and "View site" in page


@pytest.mark.django_db
def test_the_docs_help_example_gets_the_demo_stores_text_once(client, settings):
    settings.TWILIO_AUTH_TOKEN = "test-token"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    demo_store_create()
    doc = (ROOT / "docs" / "inbox-and-consent.md").read_text()
    assert f"To=%2B{DEMO_NUMBER[1:]}" in doc
    answer = re.search(r"<Message>(.*?)</Message>", doc).group(1).replace("&amp;", "&")
    params = {"From": "+14155550100", "To": DEMO_NUMBER, "Body": "HELP", "MessageSid": "SM1"}
    url = "http://127.0.0.1:8000/webhooks/twilio/inbound"
    signature = RequestValidator("test-token").compute_signature(url, params)

    response = client.post("/webhooks/twilio/inbound", params, HTTP_X_TWILIO_SIGNATURE=signature)

    reply = re.search(r"<Message>(.*?)</Message>", response.content.decode()).group(1).replace("&amp;", "&")
    assert reply == answer
    assert reply.count("STOP") == 1 and reply.count("hello@shop.example.com") == 1
