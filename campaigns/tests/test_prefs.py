from __future__ import annotations

from datetime import UTC, datetime

import pytest

from campaigns.models import Message
from campaigns.tests.inbound_helpers import make_customer, make_store, subscribed
from customers.models import Category, ConsentRecord, Customer, Event

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
PHONE = "+14155550101"


@pytest.fixture
def customer(db):
    store = make_store()
    Category.objects.bulk_create(
        [
            Category(store=store, external_id=str(i), name=name)
            for i, name in enumerate(["Boots", "Tents", "Packs"])
        ]
    )
    return subscribed(store, PHONE, NOW, topics=["deals"])


def url(customer: Customer) -> str:
    return f"/prefs/{customer.prefs_token}"


def test_the_page_shows_the_current_choices(client, customer):
    response = client.get(url(customer))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["topics"] == ["deals"]
    assert [c for c, _ in form.fields["categories"].choices] == ["Boots", "Packs", "Tents"]
    assert "Trailhead Supply" in response.content.decode()


def test_saving_topics_categories_and_frequency(client, customer):
    response = client.post(
        url(customer),
        {"topics": ["drops", "restocks"], "categories": ["Tents"], "frequency": "weekly"},
        follow=True,
    )

    assert "Your choices are saved." in response.content.decode()
    customer.refresh_from_db()
    assert (customer.topics, customer.favorite_categories, customer.frequency) == (
        ["drops", "restocks"],
        ["Tents"],
        "weekly",
    )
    assert customer.sms_consent == Customer.Consent.SUBSCRIBED
    event = Event.objects.get(customer=customer)
    assert (event.type, event.properties["source"]) == ("preference_set", "preference_page")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"topics": ["jokes"]}, "topics"),
        ({"categories": ["Kayaks"]}, "categories"),
        ({"frequency": "hourly"}, "frequency"),
    ],
)
def test_a_bad_choice_is_a_form_error_naming_the_field(client, customer, data, field):
    response = client.post(url(customer), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    customer.refresh_from_db()
    assert customer.topics == ["deals"]
    assert not Event.objects.exists()


def test_opting_out_on_the_page(client, customer):
    response = client.post(url(customer), {"opt_out": "on"}, HTTP_USER_AGENT="Safari", follow=True)

    assert "You&#x27;re unsubscribed" in response.content.decode()
    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
    record = customer.consent_records.get()
    assert (record.action, record.source, record.wording, record.user_agent) == (
        ConsentRecord.Action.OPT_OUT,
        "preference_page",
        "Stop all texts from Trailhead Supply",
        "Safari",
    )


def test_an_unsubscribed_customer_is_sent_no_text_from_the_page(client, customer):
    Customer.objects.filter(pk=customer.pk).update(sms_consent=Customer.Consent.UNSUBSCRIBED)

    page = client.get(url(customer))
    assert "opt_out" not in page.context["form"].fields
    client.post(url(customer), {"resubscribe": "on"})

    customer.refresh_from_db()
    assert customer.sms_consent == Customer.Consent.UNSUBSCRIBED
    assert "text START to" in page.content.decode()
    assert not Message.objects.filter(customer=customer).exists()


def test_a_store_without_categories_shows_no_category_field(client, db):
    store = make_store(slug="bare")
    customer = make_customer(store, PHONE)

    response = client.get(url(customer))

    assert "categories" not in response.context["form"].fields


def test_an_unknown_token_is_not_found(client, customer):
    assert client.get("/prefs/not-a-token").status_code == 404
