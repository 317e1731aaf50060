"""The admin in a browser: a store's Connections page connects Shopify in a form against a
Shopify-speaking server and shows its webhooks and backfill; the store page's signup form preview
follows the fields as they are typed; the poster has its QR code."""

from __future__ import annotations

import pytest

from customers.connections.models import Backfill, ShopConnection
from customers.tests.shop_servers import SHOPIFY_TOKEN
from customers.tests.stores import NOW, store_make
from harness.shop_payloads import SHOP, SHOPIFY_SECRET, shopify_customer, sms_consent

pytestmark = pytest.mark.browser


@pytest.fixture
def server(shopify_server):
    return shopify_server


@pytest.fixture
def store(transactional_db):
    return store_make("juniper", brand_name="Juniper Market", from_number="+18445550100")


def test_the_connections_page_connects_shopify_and_shows_the_backfill(admin_page, server, store):
    server.lists["customers"] = [
        shopify_customer(1, "+12125550101", NOW, consent=sms_consent("subscribed", NOW), first_name="Ann")
    ]
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/store/{store.pk}/change/")
    page.get_by_role("link", name="Shopify, WooCommerce…").click()

    form = page.locator("#connect-shopify")
    form.get_by_label("Shop", exact=True).fill(SHOP)
    form.get_by_label("Admin API access token").fill("shpat_wrong")
    form.get_by_label("Webhook signing key").fill(SHOPIFY_SECRET)
    form.get_by_label("API address").fill(server.url)
    form.get_by_role("button", name="Connect Shopify").click()
    assert "The shop refused the connection" in page.locator("#connect-shopify").inner_text()
    assert not ShopConnection.objects.exists()

    form = page.locator("#connect-shopify")
    form.get_by_label("Admin API access token").fill(SHOPIFY_TOKEN)
    form.get_by_label("Webhook signing key").fill(SHOPIFY_SECRET)
    form.get_by_role("button", name="Connect Shopify").click()

    page.get_by_text(f"Connected Shopify {SHOP}").wait_for()
    assert "https://sms.example.com/webhooks/shopify/" in page.content()
    backfill = Backfill.objects.get()
    assert backfill.status == Backfill.Status.DONE
    assert page.locator(f"#backfill-{backfill.pk} [data-k=status]").inner_text() == "done"
    assert page.locator(f"#backfill-{backfill.pk} [data-k=customers]").inner_text() == "1"


def test_the_signup_form_preview_follows_the_fields(admin_page, store):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/store/{store.pk}/change/")

    preview = page.locator("#embed-preview")
    assert preview.locator("h2").inner_text() == "Get 10% off your first order"
    page.fill("#id_signup_embed-0-headline", "Join the Juniper list")
    page.select_option("#id_signup_embed-0-question", "topics")
    page.locator("#id_signup_embed-0-button_colour").evaluate(
        "el => { el.value = '#1a7f37'; el.dispatchEvent(new Event('input')); }"
    )

    assert preview.locator("h2").inner_text() == "Join the Juniper list"
    assert preview.locator("select option").count() == 4
    assert (
        preview.locator("button").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(26, 127, 55)"
    )
    assert 'data-store="juniper"' in page.content()
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was changed successfully").wait_for()
    assert store.signup_embed.headline == "Join the Juniper list"


def test_the_poster_shows_the_keyword_and_a_qr_code(admin_page, store):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/customers/store/{store.pk}/poster/")

    assert "Text JOIN to +18445550100" in page.inner_text("body")
    assert page.locator(".qr svg").count() == 1
