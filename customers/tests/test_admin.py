from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User

from customers.admin.scoping import MARKETING_STAFF, STORE_OWNER
from customers.api.auth import key_hash
from customers.ingest.customers import customers_upsert
from customers.ingest.events import events_ingest
from customers.ingest.products import products_upsert
from customers.models import ApiKey, ConsentRecord, Customer, Product, ProductChange
from customers.tests.stores import NOW, order, store_make

pytestmark = pytest.mark.django_db

MIAMI = "+13055550123"
SEATTLE = "+12065550100"
WORDING = "Yes, text me offers. Reply STOP to cancel."


@pytest.fixture
def stores():
    mine, theirs = store_make("mine"), store_make("theirs")
    customers_upsert(
        store=mine,
        payloads=[
            {
                "phone": MIAMI,
                "first_name": "Mina",
                "sms_consent": {"status": "subscribed", "wording": WORDING},
            }
        ],
        now=NOW,
    )
    customers_upsert(store=theirs, payloads=[{"phone": SEATTLE, "first_name": "Theo"}], now=NOW)
    for store in (mine, theirs):
        products_upsert(
            store=store,
            payloads=[
                {
                    "id": f"{store.slug}-tea",
                    "name": f"{store.slug} tea",
                    "url": "https://x.example.com/t",
                    "category": f"{store.slug} drinks",
                }
            ],
            now=NOW,
        )
    return mine, theirs


def staff_user(username: str, group: str) -> User:
    user = User.objects.create_user(username, password="pass-12345", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def owner_client(client, stores):
    owner = staff_user("olga", STORE_OWNER)
    stores[0].owners.add(owner)
    client.force_login(owner)
    return client


def test_both_roles_exist_after_migrate():
    owner = Group.objects.get(name=STORE_OWNER)
    staff = Group.objects.get(name=MARKETING_STAFF)
    assert owner.permissions.filter(codename="change_customer").exists()
    assert not owner.permissions.filter(codename="add_store").exists()
    assert not staff.permissions.filter(codename="delete_consentrecord").exists()


@pytest.mark.parametrize(
    ("url", "mine", "theirs"),
    [
        ("/admin/customers/customer/", "Mina", "Theo"),
        ("/admin/customers/product/", "mine tea", "theirs tea"),
        ("/admin/customers/category/", "mine drinks", "theirs drinks"),
        ("/admin/customers/store/", "Mine", "Theirs"),
        ("/admin/customers/consentrecord/", "Mina", "Theo"),
    ],
)
def test_a_store_owner_sees_only_their_stores_rows(owner_client, url, mine, theirs):
    page = owner_client.get(url).content.decode()
    assert mine in page
    assert theirs not in page


def test_a_store_owner_cannot_open_another_stores_customer(owner_client, stores):
    other = Customer.objects.get(store=stores[1])
    response = owner_client.get(f"/admin/customers/customer/{other.pk}/change/")
    assert response.status_code == 302  # the admin answers "does not exist" and goes back to the list
    assert (
        owner_client.get(
            f"/admin/customers/customer/{Customer.objects.get(store=stores[0]).pk}/change/"
        ).status_code
        == 200
    )


def test_a_store_owner_can_only_choose_their_stores_in_forms(owner_client, stores):
    page = owner_client.get("/admin/customers/apikey/add/").content.decode()
    assert ">Mine<" in page and ">Theirs<" not in page
    response = owner_client.post("/admin/customers/apikey/add/", {"store": stores[1].pk, "name": "sneaky"})
    assert response.status_code == 200 and not ApiKey.objects.exists()


def test_marketing_staff_see_every_store(client, stores):
    client.force_login(staff_user("sam", MARKETING_STAFF))
    page = client.get("/admin/customers/customer/").content.decode()
    assert "Mina" in page and "Theo" in page


def test_the_customer_page_shows_the_timeline_latest_first_and_consent_history(admin_client, stores):
    events_ingest(
        store=stores[0],
        payloads=[
            order("o1", MIAMI, 20, "2026-11-01T10:00:00Z"),
            order("o2", MIAMI, 30, "2026-11-20T10:00:00Z"),
        ],
        now=NOW,
    )
    customer = Customer.objects.get(phone=MIAMI)
    page = admin_client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    assert page.index("order_id: o2") < page.index("order_id: o1")
    assert "consent history" in page.lower() and WORDING in page
    assert "50.00" in page  # total spent


def test_the_customer_search_finds_a_number_however_it_is_typed(admin_client, stores):
    page = admin_client.get("/admin/customers/customer/", {"q": "(305) 555-0123"}).content.decode()
    assert "Mina" in page and "Theo" not in page


def test_a_new_api_key_is_shown_once_and_only_its_hash_kept(admin_client, stores):
    response = admin_client.post(
        "/admin/customers/apikey/add/", {"store": stores[0].pk, "name": "Shopify"}, follow=True
    )
    raw = re.search(r"<code>(sk_[\w-]+)</code>", response.content.decode()).group(1)
    api_key = ApiKey.objects.get()
    assert api_key.key_hash == key_hash(raw)
    page = admin_client.get(f"/admin/customers/apikey/{api_key.pk}/change/").content.decode()
    assert raw not in page


def test_editing_stock_in_the_admin_records_the_change(admin_client, stores):
    product = Product.objects.get(store=stores[0])
    response = admin_client.post(
        f"/admin/customers/product/{product.pk}/change/",
        {
            "store": stores[0].pk,
            "external_id": product.external_id,
            "name": product.name,
            "url": product.url,
            "price": "5.00",
            "stock": "7",
            "category": product.category_id,
            "margin_class": "medium",
            "changes-TOTAL_FORMS": "0",
            "changes-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    assert sorted(ProductChange.objects.values_list("field", flat=True)) == ["price", "stock"]


def test_consent_records_cannot_be_edited_or_deleted(admin_client, stores):
    record = ConsentRecord.objects.get()
    admin_client.post(f"/admin/customers/consentrecord/{record.pk}/change/", {"source": "forged"})
    admin_client.post(f"/admin/customers/consentrecord/{record.pk}/delete/", {"post": "yes"})
    record.refresh_from_db()
    assert record.source == "api"


def test_a_consent_record_added_in_the_admin_moves_the_status(admin_client, stores):
    customer = Customer.objects.get(phone=SEATTLE)
    response = admin_client.post(
        "/admin/customers/consentrecord/add/",
        {
            "customer": customer.pk,
            "action": "opt_in",
            "source": "in_store_form",
            "wording": WORDING,
            "keyword": "",
            "occurred_at_0": "2026-11-20",
            "occurred_at_1": "10:00:00",
        },
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.sms_consent == "subscribed"


@pytest.mark.parametrize(
    "url",
    [
        "/admin/customers/event/",
        "/admin/customers/productchange/",
        "/admin/customers/apikey/",
        "/admin/customers/consentrecord/add/",
        "/admin/customers/customer/add/",
        "/admin/customers/product/add/",
    ],
)
def test_every_admin_page_renders(admin_client, stores, url):
    assert admin_client.get(url).status_code == 200


def test_a_store_owner_sees_only_their_stores_events_and_product_changes(owner_client, stores):
    for store, phone in zip(stores, (MIAMI, SEATTLE), strict=True):
        events_ingest(
            store=store, payloads=[order(f"{store.slug}-order", phone, 10, "2026-11-20T10:00:00Z")], now=NOW
        )
        products_upsert(store=store, payloads=[{"id": f"{store.slug}-tea", "stock": 9}], now=NOW)
    events = owner_client.get("/admin/customers/event/").content.decode()
    changes = owner_client.get("/admin/customers/productchange/").content.decode()
    assert "Mina" in events and "Theo" not in events
    assert "mine tea" in changes and "theirs tea" not in changes
