from __future__ import annotations

import pytest
from django.utils.datastructures import MultiValueDict

from customers.admin.customers import CustomerForm
from customers.models import Category, Customer
from customers.tests.stores import store_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    store = store_make("acme")
    Category.objects.create(store=store, external_id="1", name="Boots")
    Category.objects.create(store=store, external_id="2", name="Tents")
    return Customer.objects.create(
        store=store,
        phone="+13055550123",
        timezone="America/New_York",
        timezone_source=Customer.TimezoneSource.GIVEN,
        favorite_categories=["Hammocks"],
        attributes={"quiz_goal": "trail running", "size": 42},
    )


def posted(customer: Customer, **lists: list[str]) -> MultiValueDict:
    data = {
        "store": [str(customer.store_id)],
        "phone": [customer.phone],
        "timezone": [customer.timezone],
        "language": ["en"],
        "reward_balance": ["0"],
        "reward_points": ["0"],
    }
    data.update(lists)
    return MultiValueDict(data)


def test_topics_and_categories_are_checkboxes_of_the_stores_choices(customer):
    form = CustomerForm(instance=customer)
    html = form.as_p()

    assert [c for c, _ in form.fields["favorite_categories"].choices] == ["Boots", "Tents", "Hammocks"]
    assert 'type="checkbox" name="topics" value="deals"' in html
    assert 'name="attributes_key" value="quiz_goal"' in html and 'value="trail running"' in html


def test_attributes_are_saved_from_name_value_rows_keeping_numbers(customer):
    form = CustomerForm(
        instance=customer,
        data=posted(
            customer,
            topics=["deals", "drops"],
            favorite_categories=["Boots"],
            attributes_key=["quiz_goal", "size", "zip", "vip", ""],
            attributes_value=["hiking", "42", "02134", "true", "ignored"],
        ),
    )

    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.attributes == {"quiz_goal": "hiking", "size": 42, "zip": "02134", "vip": True}
    assert (saved.topics, saved.favorite_categories) == (["deals", "drops"], ["Boots"])


def test_a_topic_that_does_not_exist_is_a_form_error(customer):
    form = CustomerForm(instance=customer, data=posted(customer, topics=["gossip"]))

    assert not form.is_valid()
    assert "topics" in form.errors


def test_the_event_list_uses_readable_names(admin_client, customer):
    from datetime import UTC, datetime

    from customers.models import Event

    at = datetime(2026, 6, 1, tzinfo=UTC)
    Event.objects.create(
        store=customer.store,
        customer=customer,
        type="product_viewed",
        occurred_at=at,
        received_at=at,
        idempotency_key="e1",
    )

    page = admin_client.get("/admin/customers/event/").content.decode()

    assert "Viewed a product" in page
