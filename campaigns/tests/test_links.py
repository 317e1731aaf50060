from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.exceptions import ValidationError

from campaigns.content.checks import text_clean
from campaigns.content.links import with_utm
from campaigns.models import Link, MessageTemplate
from campaigns.tests.fields_support import make_customer, make_store
from customers.links import check_link_domain, link_domain_error
from customers.models import Customer, Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return make_store()


@pytest.fixture
def link(store):
    customer = make_customer(store)
    return Link.objects.create(store=store, customer=customer, code="Ab3dE6gH9k",
                               target_url="https://shop.example.com/p/linen?color=blue&utm_source=old#fit",
                               utm_campaign="cart-recovery", utm_content="step-2")


def test_it_appends_utm_tags_and_keeps_the_targets_own_query_and_fragment():
    url = with_utm("https://shop.example.com/p/linen?color=blue&size=&utm_source=old#fit",
                   campaign="cart-recovery", content="step-2")
    parts = urlsplit(url)
    assert (parts.netloc, parts.path, parts.fragment) == ("shop.example.com", "/p/linen", "fit")
    assert parse_qsl(parts.query, keep_blank_values=True) == [
        ("color", "blue"), ("size", ""), ("utm_source", "sms"), ("utm_medium", "sms"),
        ("utm_campaign", "cart-recovery"), ("utm_content", "step-2")]


def test_the_redirect_lands_on_the_target_with_utm_tags(client, link):
    response = client.get("/l/Ab3dE6gH9k")
    assert response.status_code == 302
    assert response["Location"] == ("https://shop.example.com/p/linen?color=blue&utm_source=sms&utm_medium=sms"
                                    "&utm_campaign=cart-recovery&utm_content=step-2#fit")
    assert response["Cache-Control"] == "no-store"


def test_each_click_is_recorded_once_as_an_sms_clicked_event(client, link):
    client.get("/l/Ab3dE6gH9k")
    client.get("/l/Ab3dE6gH9k")
    events = Event.objects.filter(customer=link.customer, type="sms_clicked")
    assert events.count() == 2
    assert len({e.idempotency_key for e in events}) == 2
    first = events.first()
    assert first.properties["link_code"] == "Ab3dE6gH9k"
    assert first.properties["utm_campaign"] == "cart-recovery"
    link.refresh_from_db()
    assert link.clicks == 2
    customer = Customer.objects.get(pk=link.customer_id)
    assert customer.last_sms_click_at == link.last_clicked_at


def test_a_click_is_announced_to_listeners_after_commit(client, link, django_capture_on_commit_callbacks):
    from customers.signals import events_recorded

    seen = []

    def listener(sender, **kwargs):
        seen.append(kwargs["event_ids"])

    events_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.get("/l/Ab3dE6gH9k")
    finally:
        events_recorded.disconnect(listener)
    assert seen == [[Event.objects.get(type="sms_clicked").pk]]


def test_link_previews_and_head_requests_are_not_clicks(client, link):
    assert client.head("/l/Ab3dE6gH9k").status_code == 302
    client.get("/l/Ab3dE6gH9k", HTTP_USER_AGENT="facebookexternalhit/1.1 Facebot Twitterbot/1.0")
    assert not Event.objects.filter(type="sms_clicked").exists()


def test_an_unknown_code_gets_a_404_page(client, link):
    response = client.get("/l/nope123456")
    assert response.status_code == 404
    assert b"This link doesn't work" in response.content
    assert not Event.objects.exists()


def test_a_target_no_longer_on_the_allowed_domains_is_never_followed(client, link, store):
    store.allowed_link_domains = []
    store.site_url = "https://new-shop.example.org"
    store.save()
    assert client.get("/l/Ab3dE6gH9k").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/p/1",
        "https://shop.example.com.evil.net/",
        "https://shop.example.com@evil.net/",
        "javascript:alert(1)",
        "//evil.net/x",
        "https://evil.net\\@shop.example.com/",
        "ftp://shop.example.com/file",
    ],
)
def test_foreign_and_tricky_targets_are_refused(store, url):
    assert link_domain_error(store, url)
    with pytest.raises(ValidationError):
        check_link_domain(store, url)


@pytest.mark.parametrize(
    "url", ["https://shop.example.com/p/1?x=1", "http://SHOP.example.com", "https://deals.juniper.example/a",
            "https://juniper.example/"],
)
def test_the_stores_own_hosts_are_allowed(store, url):
    assert link_domain_error(store, url) is None


def test_a_template_with_a_foreign_link_is_refused_on_save(store):
    template = MessageTemplate(store=store, name="Sale", body="Big sale: https://evil.example.net/sale")
    with pytest.raises(ValidationError) as error:
        text_clean(template)
    assert "evil.example.net is not one of the store's allowed link domains" in str(error.value)
    template.body = "Big sale: https://shop.example.com/sale"
    text_clean(template)


def test_a_foreign_link_fallback_is_refused_on_save(store):
    template = MessageTemplate(store=store, name="Cart",
                               body='Checkout: {{ cart_link|default:"https://evil.example.net" }}')
    with pytest.raises(ValidationError, match="evil.example.net"):
        text_clean(template)
