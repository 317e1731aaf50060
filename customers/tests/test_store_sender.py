"""A sender belongs to one store: no two stores share a number or a Messaging Service."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from customers.admin.scoping import STORE_OWNER
from customers.models import Store
from customers.tests.stores import store_make

NUMBER = "+18445550100"
SERVICE = "MG" + "a" * 32


def store_form(store: Store, **changes) -> dict:
    fields = {
        "brand_name": store.brand_name,
        "slug": store.slug,
        "site_url": store.site_url,
        "allowed_link_domains": "[]",
        "default_timezone": store.default_timezone,
        "currency": store.currency,
        "sender_type": store.sender_type,
        "messaging_service_sid": store.messaging_service_sid,
        "from_number": store.from_number,
        "price_per_segment": store.price_per_segment,
        "send_rate_per_second": "",
        "send_window_start": "08:00",
        "send_window_end": "21:00",
        "cap_per_day": 1,
        "cap_per_week": 3,
        "cold_cap_per_week": 1,
        "cold_after_days": 60,
        "hot_days": 14,
        "overlap_hours": 12,
        "help_text": "",
        "contact_email": "",
        "rewards_url": "",
        # the signup form's inline, left empty
        "signup_embed-TOTAL_FORMS": "0",
        "signup_embed-INITIAL_FORMS": "0",
    }
    return {**fields, **changes}


@pytest.fixture
def stores(db):
    return store_make("alpha", from_number=NUMBER, messaging_service_sid=SERVICE), store_make("bravo")


@pytest.fixture
def bravo_owner(client, django_user_model, stores):
    user = django_user_model.objects.create_user("bravo-owner", password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name=STORE_OWNER))
    stores[1].owners.add(user)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "field,value,what",
    [
        ("from_number", NUMBER, "number"),
        ("from_number", "+1 844-555-0100", "number"),
        ("messaging_service_sid", f" {SERVICE} ", "Messaging Service"),
    ],
)
def test_an_owner_cannot_take_another_stores_sender(bravo_owner, stores, field, value, what):
    alpha, bravo = stores

    response = bravo_owner.post(
        f"/admin/customers/store/{bravo.pk}/change/", store_form(bravo, **{field: value})
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [
        f"“Alpha” already sends from this {what}: a sender belongs to one store."
    ]
    bravo.refresh_from_db()
    assert getattr(bravo, field) == ""


def test_a_store_keeps_its_own_sender_when_saved_again(client, django_user_model, stores):
    alpha, _ = stores
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-123456789"))

    response = client.post(
        f"/admin/customers/store/{alpha.pk}/change/", store_form(alpha, brand_name="Alpha 2")
    )

    assert response.status_code == 302
    alpha.refresh_from_db()
    assert (alpha.brand_name, alpha.from_number, alpha.messaging_service_sid) == ("Alpha 2", NUMBER, SERVICE)


def test_a_number_is_saved_in_its_plain_form(bravo_owner, stores):
    _, bravo = stores

    bravo_owner.post(
        f"/admin/customers/store/{bravo.pk}/change/", store_form(bravo, from_number="+1 844 555-0199")
    )

    bravo.refresh_from_db()
    assert bravo.from_number == "+18445550199"


def test_the_database_refuses_a_shared_sender_whatever_the_path(stores):
    for field, value in (("from_number", NUMBER), ("messaging_service_sid", SERVICE)):
        with pytest.raises(IntegrityError), transaction.atomic():
            Store.objects.filter(pk=stores[1].pk).update(**{field: value})


def test_stores_without_a_sender_of_a_kind_are_many(stores):
    store_make("charlie")

    assert Store.objects.filter(from_number="").count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_the_stores_that_share_a_sender():
    before, after = ("customers", "0001_initial"), ("customers", "0002_store_sender_unique")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("customers", "Store")
    shared = dict(site_url="https://x.example.com", from_number=NUMBER)
    old.objects.create(slug="one", brand_name="One", **shared)
    second = old.objects.create(slug="two", brand_name="Two", **shared)
    try:
        with pytest.raises(RuntimeError, match=r"from_number \+18445550100 is used by One \(id \d+\), Two"):
            MigrationExecutor(connection).migrate([after])
        old.objects.filter(pk=second.pk).update(from_number="+18445550199")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert Store.objects.get(slug="two").from_number == "+18445550199"
