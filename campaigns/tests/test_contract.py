"""The requests the app sends, checked against Twilio's published OpenAPI description.

prism (`@stoplight/prism-cli`) serves a mock of the Messages resource and answers 422 to a
request that breaks the description. It is installed into `.prism/` on first use.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from campaigns.sending.deliver import messages_send
from campaigns.sending.gateways import GatewayError, TwilioGateway
from campaigns.sending.outbox import MessageDraft, messages_create
from campaigns.tests.conftest import ACCOUNT_SID, AUTH_TOKEN

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / ".prism" / "node_modules" / ".bin" / "prism"
DESCRIPTION = "twilio_api_v2010_messages.json"


def _description() -> Path | None:
    candidates = [
        os.environ.get("TWILIO_OAI_DIR", ""),
        ROOT / ".." / "shared" / "twilio",
        ROOT / ".." / ".." / "shared" / "twilio",
        Path("/work/shared/twilio"),
    ]
    for folder in candidates:
        if folder and (Path(folder) / DESCRIPTION).exists():
            return (Path(folder) / DESCRIPTION).resolve()
    return None


def _install_prism() -> None:
    if PRISM.exists():
        return
    if shutil.which("npm") is None:
        pytest.skip("contract check skipped: npm is not installed, so prism cannot be installed into .prism/")
    done = subprocess.run(
        ["npm", "install", "--prefix", str(ROOT / ".prism"), "@stoplight/prism-cli"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not PRISM.exists():
        pytest.skip(f"contract check skipped: npm could not install prism: {done.stderr[-300:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def prism_url():
    description = _description()
    if description is None:
        pytest.skip(f"contract check skipped: {DESCRIPTION} is not in ../shared/twilio/ (or TWILIO_OAI_DIR)")
    _install_prism()
    port = _free_port()
    process = subprocess.Popen(
        [str(PRISM), "mock", str(description), "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.terminate()
        pytest.skip("contract check skipped: prism did not start within 30 s")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def gateway(prism_url):
    return TwilioGateway(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        base_url=prism_url,
        public_base_url="https://sms.example.com",
        timeout=10,
    )


def test_a_send_through_the_messaging_service_meets_the_description(gateway, shop):
    accepted = gateway.send(to="+12125550100", body="Your cart is waiting", store=shop)
    assert accepted.sid.startswith("SM")


def test_a_send_from_a_number_meets_the_description(gateway, shop):
    shop.messaging_service_sid, shop.from_number = "", "+18005550199"
    assert gateway.send(to="+12125550100", body="Hi", store=shop).sid.startswith("SM")


def test_the_reconcilers_list_and_fetch_meet_the_description(gateway):
    gateway.find(to="+12125550100", body="Hi", since=datetime(2026, 5, 4, tzinfo=UTC))
    assert gateway.fetch(sid="SM" + "0" * 32).sid.startswith("SM")


def test_prism_rejects_what_the_description_forbids(prism_url, gateway, shop):
    shop.messaging_service_sid = "not-a-service-sid"
    with pytest.raises(GatewayError) as raised:
        TwilioGateway(
            account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, base_url=prism_url, public_base_url="not a url"
        ).send(to="+12125550100", body="Hi", store=shop)
    assert raised.value.http_status == 422


def test_the_outbox_sends_through_the_described_api(settings, prism_url, make_subscriber):
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = ACCOUNT_SID, AUTH_TOKEN
    settings.TWILIO_API_BASE_URL, settings.PUBLIC_BASE_URL = prism_url, "https://sms.example.com"
    now = datetime(2026, 5, 4, 16, tzinfo=UTC)
    [message] = messages_create(
        drafts=[MessageDraft(customer=make_subscriber(), body="New drops", idempotency_key="k")], now=now
    )

    assert messages_send(message_ids=[message.pk], now=now + timedelta(seconds=1)) == 1
