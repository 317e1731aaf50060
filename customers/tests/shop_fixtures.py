"""Fixtures for the shop connection tests: the loopback shops, and running a step the way
production does (its queued tasks run once its transaction commits). Imported by the conftest of
customers' tests and by campaigns' tests that drive a shop."""

from __future__ import annotations

import pytest

from customers.tests.shop_servers import ShopifyServer, WooServer


def _started(settings, server_class):
    settings.PUBLIC_BASE_URL = "https://sms.example.com"
    settings.SHOP_API_TIMEOUT = 5
    return server_class().start()


@pytest.fixture
def shopify_server(settings):
    running = _started(settings, ShopifyServer)
    yield running
    running.stop()


@pytest.fixture
def woo_server(settings):
    running = _started(settings, WooServer)
    yield running
    running.stop()


@pytest.fixture
def inline(django_capture_on_commit_callbacks):
    """`inline(action, *args, **kwargs)`: call it, then run what it queued after commit."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run
