"""Fixtures shared by customers' tests."""

from customers.tests.shop_fixtures import inline, shopify_server, woo_server  # noqa: F401
