from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.admin.scoping import STORE_OWNER
from customers.models import ConsentRecord, Customer
from customers.tests.stores import store_make

pytestmark = pytest.mark.django_db

HEADER = (
    "phone,external_id,first_name,last_name,city,timezone,"
    "consent_status,consent_source,consent_wording,consent_at"
)
GOOD = [
    "+13055550123,c-1,Ana,Lopez,Miami,,"
    "subscribed,popup,Yes to texts. Reply STOP to cancel.,2026-11-01T10:00:00Z",
    "(206) 555-0100,c-2,Ben,Kim,Seattle,America/Los_Angeles,,,,",
]


def upload(client, store, lines: list[str], format_index: str = "0"):
    """Step one of the admin import: the file is checked (a dry run) and a confirm form shown."""
    csv = SimpleUploadedFile("customers.csv", "\n".join([HEADER, *lines]).encode(), content_type="text/csv")
    return client.post(
        "/admin/customers/customer/import/",
        {"import_file": csv, "format": format_index, "resource": "0", "store": store.pk},
    )


def confirm(client, response):
    form = response.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    return client.post("/admin/customers/customer/process_import/", data, follow=True)


@pytest.fixture
def csv_format(admin_client):
    """The index of CSV among the admin's import formats."""
    page = admin_client.get("/admin/customers/customer/import/")
    choices = dict((label.lower(), value) for value, label in page.context["form"].fields["format"].choices)
    return str(choices["csv"])


def test_a_good_file_is_previewed_then_imported_with_consent(admin_client, csv_format):
    store = store_make()
    preview = upload(admin_client, store, GOOD, csv_format)
    assert preview.status_code == 200 and not Customer.objects.exists()  # the dry run stores nothing
    done = confirm(admin_client, preview)
    assert "2 new" in done.content.decode()
    ana = Customer.objects.get(external_id="c-1")
    assert (ana.phone, ana.sms_consent, ana.timezone_source) == ("+13055550123", "subscribed", "phone")
    record = ConsentRecord.objects.get()
    assert (record.source, record.wording) == ("popup", "Yes to texts. Reply STOP to cancel.")
    ben = Customer.objects.get(external_id="c-2")
    assert (ben.phone, ben.timezone, ben.timezone_source) == ("+12065550100", "America/Los_Angeles", "given")


def test_reimporting_updates_instead_of_duplicating(admin_client, csv_format):
    store = store_make()
    confirm(admin_client, upload(admin_client, store, GOOD, csv_format))
    changed = [GOOD[0], GOOD[1].replace("Seattle", "Tacoma")]
    done = confirm(admin_client, upload(admin_client, store, changed, csv_format))
    assert "0 new, 2 updated" in done.content.decode()
    assert Customer.objects.count() == 2 and ConsentRecord.objects.count() == 1
    assert Customer.objects.get(external_id="c-2").city == "Tacoma"


def test_a_bad_row_is_reported_with_its_number_and_column_and_nothing_is_imported(admin_client, csv_format):
    store = store_make()
    bad = GOOD + ["+1555,c-3,Cy,Doe,Austin,,,,,", "+15125550100,c-4,Di,Lee,Austin,,subscribed,popup,,"]
    response = upload(admin_client, store, bad, csv_format)
    result = response.context["result"]
    invalid = {row.number: row.field_specific_errors for row in result.invalid_rows}
    assert set(invalid) == {3, 4}
    assert "phone" in invalid[3] and "consent_wording" in invalid[4]
    page = response.content.decode()
    assert '<tr><td>3</td><td><code>phone</code></td><td class="problem">Is not a valid phone number' in page
    assert "<tr><td>4</td><td><code>consent_wording</code></td>" in page
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert not Customer.objects.exists()


def test_a_store_owner_can_only_import_into_their_store(client, csv_format):
    mine, theirs = store_make("mine"), store_make("theirs")
    owner = User.objects.create_user("olga", password="pass-12345", is_staff=True)
    owner.groups.add(Group.objects.get(name=STORE_OWNER))
    mine.owners.add(owner)
    client.force_login(owner)
    response = upload(client, theirs, GOOD, csv_format)
    assert "store" in response.context["form"].errors
    assert not Customer.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_preview_shows_the_values_that_will_be_written_and_the_consent_columns(admin_page, csv_format):
    store = store_make()
    page = admin_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{page.live_server_url}/admin/customers/customer/import/")
    fields_help = page.inner_text("#content")
    assert "consent_wording" in fields_help and "consent_status" in fields_help

    page.select_option("select[name=store]", str(store.pk))
    page.select_option("select[name=format]", csv_format)
    csv = "\n".join([HEADER, *GOOD]).encode()
    page.set_input_files(
        "input[name=import_file]", files=[{"name": "c.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    page.click("#content form input[type=submit]")

    preview = page.inner_text("table.import-preview").lower()
    assert "+12065550100" in preview and "(206) 555-0100" not in preview
    assert "consent_wording" in preview and "yes to texts. reply stop to cancel." in preview
    assert "subscribed" in preview and "no consent" in preview
    assert not Customer.objects.exists()
