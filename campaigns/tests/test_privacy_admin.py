"""Privacy requests from the customer page, in a real browser: the JSON download, the erasure behind
a confirmation, both in the privacy log; and the admin's own delete goes through the erasure."""

from __future__ import annotations

import json

import pytest

from campaigns.tests.test_privacy import WORDING, with_history
from customers.models import ConsentRecord, Customer, PrivacyLogEntry
from customers.privacy import phone_hash
from customers.tests.stores import store_make


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_export_then_erase_a_customer_from_the_customer_page(admin_page, now):
    store = store_make("shop")
    ana = with_history(store, now, first_name="Ana", external_id="web-42")
    page, url = admin_page, admin_page.live_server_url

    page.goto(f"{url}/admin/customers/customer/{ana.pk}/change/")
    with page.expect_download() as download:
        page.click("#export-data")
    exported = json.loads(open(download.value.path()).read())
    assert exported["profile"]["first_name"] == "Ana"
    assert [t["body"] for t in exported["texts"]] == ["Hi Ana, tea is back"]

    page.click("#erase-customer")
    page.wait_for_selector("text=keeps its rows as proof of consent")
    page.click("#erase")
    page.wait_for_selector(".messagelist .success")
    assert f"Erased Ana {ana.phone}" in page.inner_text(".messagelist")
    assert not Customer.objects.filter(pk=ana.pk).exists()
    assert ConsentRecord.objects.get(phone_hash=phone_hash(ana.phone)).wording == WORDING

    page.goto(f"{url}/admin/customers/privacylogentry/")
    rows = page.inner_text("#result_list")
    assert "Data exported" in rows and "Erased" in rows and "staff admin" in rows
    logged = PrivacyLogEntry.objects.order_by("pk").values_list("action", flat=True)
    assert list(logged) == ["export", "erase"]


@pytest.mark.django_db
def test_the_admins_delete_erases_and_keeps_the_ledger(admin_client, now):
    store = store_make("shop")
    ana, bo = with_history(store, now), with_history(store, now)

    response = admin_client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": [ana.pk, bo.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not Customer.objects.filter(pk__in=[ana.pk, bo.pk]).exists()
    assert ConsentRecord.objects.filter(customer__isnull=True).count() == 2
    assert PrivacyLogEntry.objects.filter(action="erase", actor="staff admin").count() == 2
