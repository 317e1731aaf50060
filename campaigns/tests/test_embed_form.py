"""The signup form a store embeds on its own site: one script tag on a page of another origin, a
number typed in, "Reply Y" texted, Y answered, subscribed. CORS is open to the store's domains only."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from campaigns.models import Message
from campaigns.tests.inbound_helpers import AUTH_TOKEN, make_customer, make_store, text_in
from customers.connections.models import SignupEmbed
from customers.models import ConsentRecord, Customer

pytestmark = pytest.mark.browser
PHONE = "+14155550123"


class ShopPage:
    """The store's own site: a page with the pasted tag, served from its own host and port."""

    def __init__(self, host: str, tag: str) -> None:
        body = f"<!doctype html><html><body><h1>Juniper Market</h1><p>New arrivals.</p>{tag}</body></html>"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                raw = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://{host}:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def store(transactional_db, settings, live_server):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = "http://testserver"
    cache.clear()
    store = make_store(
        "juniper",
        brand_name="Juniper Market",
        site_url="http://localhost",
        allowed_link_domains=["localhost"],
    )
    SignupEmbed.objects.create(
        store=store,
        display=SignupEmbed.Display.INLINE,
        question=SignupEmbed.Question.TOPICS,
        headline="Texts for insiders",
        button_colour="#1a7f37",
    )
    return store


@pytest.fixture
def shop_page(live_server, store):
    tag = f'<script src="{live_server.url}/static/js/signup-embed.js" data-store="juniper" async></script>'
    pages = []

    def serve(host: str) -> ShopPage:
        pages.append(ShopPage(host, tag))
        return pages[-1]

    yield serve
    for page in pages:
        page.stop()


def test_a_visitor_of_the_stores_site_signs_up_and_is_subscribed_after_y(page, shop_page, store, client):
    site = shop_page("localhost")

    page.goto(site.url)
    form = page.locator("[data-sms-signup]")
    form.locator("input[name=phone]").fill("(415) 555-0123")
    form.locator("select[name=answer]").select_option("restocks")
    form.locator("input[name=consent]").check()
    form.locator("button[type=submit]").click()
    page.locator("[data-sms-signup-done]").wait_for()

    customer = Customer.objects.get(store=store, phone=PHONE)
    assert (customer.sms_consent, customer.topics) == (Customer.Consent.PENDING, ["restocks"])
    requested = customer.consent_records.get()
    assert (requested.action, requested.source) == (ConsentRecord.Action.REQUESTED, "embed_form")
    assert "Reply Y" in Message.objects.get(customer=customer).body

    text_in(client, "Y", PHONE)

    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED


def test_a_site_that_is_not_the_stores_gets_no_form(page, shop_page, store):
    site = shop_page("127.0.0.1")  # the app's host, another port: not one of the store's domains
    refused = []
    page.on("console", lambda message: refused.append(message.text))

    page.goto(site.url)
    page.wait_for_load_state("networkidle")

    assert page.locator("[data-sms-signup]").count() == 0


@pytest.mark.django_db
def test_a_post_from_another_site_or_to_an_opted_out_number_texts_nothing(client, store):
    make_customer(store, PHONE, sms_consent=Customer.Consent.UNSUBSCRIBED)
    body = json.dumps({"phone": "(415) 555-0123", "consent": True})

    other = client.post(
        "/embed/juniper/signup",
        body,
        content_type="application/json",
        headers={"Origin": "https://evil.example"},
    )
    opted_out = client.post(
        "/embed/juniper/signup",
        body,
        content_type="application/json",
        headers={"Origin": "http://localhost:8080"},
    )
    no_consent = client.post(
        "/embed/juniper/signup",
        json.dumps({"phone": "4155550124"}),
        content_type="application/json",
        headers={"Origin": "http://localhost:8080"},
    )

    assert other.status_code == 403
    assert opted_out.status_code == 200  # the answer does not tell who opted out
    assert no_consent.json()["errors"][0]["field"] == "consent"
    assert not Message.objects.exists()
    assert list(ConsentRecord.objects.values_list("action", "source")) == [("refused", "embed_form")]


@pytest.mark.django_db
def test_cors_answers_the_stores_domains_only(client, store):
    allowed = client.options(
        "/embed/juniper/signup",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    other = client.options(
        "/embed/juniper/signup",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    elsewhere = client.get("/join/juniper", headers={"Origin": "http://localhost:3000"})

    assert allowed["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "Access-Control-Allow-Origin" not in other
    assert "Access-Control-Allow-Origin" not in elsewhere
