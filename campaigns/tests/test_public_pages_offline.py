from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.tests.inbound_helpers import make_store, subscribed

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
BOOTSTRAP_PRIMARY = "rgb(13, 110, 253)"


@pytest.fixture
def offline(browser, live_server, request):
    """A phone-sized page that can reach the app and nothing else; records every request."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.outside = []

    def only_the_app(route):
        if route.request.url.startswith(live_server.url):
            return route.continue_()
        page.outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_the_app)
    page.live_server_url = live_server.url
    yield page
    from conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def demo(transactional_db):
    store = make_store("demo", brand_name="Demo Store")
    return store, subscribed(store, "+14155550101", NOW, topics=["deals"])


def test_subscriber_pages_load_nothing_from_outside_the_app(offline, demo):
    _, customer = demo
    base = offline.live_server_url

    for path in ["/join/demo", "/join/demo/sent", f"/prefs/{customer.prefs_token}", "/admin/login/"]:
        offline.goto(base + path)
        offline.wait_for_load_state("networkidle")

    assert offline.outside == []


def test_the_join_page_is_styled_with_the_network_unplugged(offline, demo):
    offline.goto(f"{offline.live_server_url}/join/demo")

    button = offline.locator("form [type=submit]").first
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == BOOTSTRAP_PRIMARY
    assert button.bounding_box()["width"] > 300  # full width on a phone
    assert offline.outside == []


def test_a_bad_preference_token_is_a_plain_404(offline, demo):
    response = offline.goto(f"{offline.live_server_url}/prefs/not-a-token")

    assert response.status == 404
    assert "This page doesn't exist" in offline.inner_text("body")
    assert "Traceback" not in offline.content() and "URLconf" not in offline.content()
    assert offline.outside == []
