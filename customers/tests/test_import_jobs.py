"""A large CSV import runs as a django-q2 task; its progress page follows it without a reload."""

from __future__ import annotations

from datetime import timedelta

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from customers.ingest.csv_import import import_job_create, import_job_run, import_jobs_fail_abandoned
from customers.models import ConsentRecord, Customer, ImportJob
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db

HEADER = "phone,external_id,first_name,consent_status,consent_wording"
WORDING = "Yes to texts. Reply STOP to cancel."


def lines(count: int, start: int = 0) -> list[str]:
    return [f"+1305555{n:04d},c-{n},Guest {n},subscribed,{WORDING}" for n in range(start, start + count)]


def job_make(store, rows: list[str]) -> ImportJob:
    dataset = tablib.Dataset().load("\n".join([HEADER, *rows]), format="csv")
    return import_job_create(store=store, user=None, file_name="big.csv", dataset=dataset, now=NOW)


@pytest.fixture(autouse=True)
def small_threshold(settings):
    settings.IMPORT_BACKGROUND_ROWS = 3


@pytest.fixture
def csv_format(admin_client):
    page = admin_client.get("/admin/customers/customer/import/")
    choices = {label.lower(): value for value, label in page.context["form"].fields["format"].choices}
    return str(choices["csv"])


def upload(client, store, rows: list[str], csv_format: str):
    csv = SimpleUploadedFile("big.csv", "\n".join([HEADER, *rows]).encode(), content_type="text/csv")
    return client.post(
        "/admin/customers/customer/import/",
        {"import_file": csv, "format": csv_format, "resource": "0", "store": store.pk},
    )


def confirm(client, preview):
    form = preview.context["confirm_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    return client.post("/admin/customers/customer/process_import/", data)


def progress(client, job: ImportJob) -> dict:
    response = client.get(f"/admin/customers/importjob/{job.pk}/progress.json")
    assert response.status_code == 200
    return response.json()


def test_it_previews_a_large_file_then_runs_it_in_the_background(
    admin_client, csv_format, django_capture_on_commit_callbacks
):
    store = store_make()
    preview = upload(admin_client, store, lines(5), csv_format)
    assert "this file has 5 rows" in preview.content.decode().lower()
    assert not Customer.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):  # sync: the queued task runs here
        queued = confirm(admin_client, preview)

    job = ImportJob.objects.get()
    assert queued["Location"] == f"/admin/customers/importjob/{job.pk}/progress/"
    assert progress(admin_client, job) == {
        "status": "done",
        "status_label": "done",
        "phase": "finished",
        "phase_label": "finished",
        "live": False,
        "rows_total": 5,
        "rows_processed": 5,
        "percent": 100,
        "created": 5,
        "updated": 0,
        "error": "",
    }
    assert sorted(Customer.objects.values_list("external_id", flat=True)) == [f"c-{n}" for n in range(5)]
    assert ConsentRecord.objects.filter(wording=WORDING).count() == 5
    page = admin_client.get(f"/admin/customers/importjob/{job.pk}/progress/").content.decode()
    assert "Customers created" in page and 'id="count-created">5<' in page


def test_a_queued_job_runs_once_from_the_broker(
    admin_client, csv_format, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(Conf, "SYNC", False)  # as in production: the task waits for a worker
    store = store_make()
    preview = upload(admin_client, store, lines(4), csv_format)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(admin_client, preview)
    job = ImportJob.objects.get()
    assert progress(admin_client, job)["status"] == "queued" and progress(admin_client, job)["live"] is True
    assert not Customer.objects.exists()

    broker = get_broker()
    [(ack_id, package)] = broker.dequeue()
    task = SignedPackage.loads(package)  # what a qcluster worker reads from the queue
    import_string(task["func"])(*task["args"], **task["kwargs"])
    import_string(task["func"])(*task["args"], **task["kwargs"])  # a retried task finds the job taken
    broker.acknowledge(ack_id)

    assert (progress(admin_client, job)["status"], progress(admin_client, job)["created"]) == ("done", 4)
    assert Customer.objects.count() == 4


def test_a_bad_row_fails_the_job_naming_row_and_column_and_stores_nothing(admin_client):
    store = store_make()
    rows = lines(3)
    rows.insert(2, "not-a-phone,c-x,Bad,,")
    rows.append("+13055559999,c-y,Quiet,subscribed,")
    job = job_make(store, rows)

    import_job_run(job.pk, now=NOW)

    shown = progress(admin_client, job)
    assert (shown["status"], shown["live"], shown["created"]) == ("failed", False, 0)
    assert "Row 3, column phone: is not a phone number" in shown["error"]
    assert "Row 5, column consent_wording:" in shown["error"]
    assert not Customer.objects.exists() and not ConsentRecord.objects.exists()
    page = admin_client.get(f"/admin/customers/importjob/{job.pk}/progress/").content.decode()
    assert "Nothing was imported" in page and "Row 3, column phone" in page


def test_progress_counts_the_rows_checked_so_far(admin_client):
    job = job_make(store_make(), lines(8))
    assert progress(admin_client, job)["phase_label"] == "waiting for a worker"

    ImportJob.objects.filter(pk=job.pk).update(status="running", phase="validating", rows_processed=2)

    shown = progress(admin_client, job)
    assert (shown["status_label"], shown["phase_label"], shown["percent"], shown["live"]) == (
        "running",
        "checking rows",
        25,
        True,
    )


def test_a_job_whose_worker_died_is_failed_once_no_worker_can_still_run_it(admin_client, settings):
    limit = settings.Q_CLUSTER["timeout"]
    job = job_make(store_make(), lines(8))
    # What a worker killed mid-way leaves: claimed and counting, its writes rolled back.
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", phase="validating", rows_processed=4, started_at=NOW
    )

    assert import_jobs_fail_abandoned(now=NOW + timedelta(seconds=limit)) == 0  # it may still be running
    job.refresh_from_db()
    assert job.status == "running"
    assert import_jobs_fail_abandoned(now=NOW + timedelta(seconds=limit + 61)) == 1
    job.refresh_from_db()
    assert (job.status, job.phase, job.content) == ("failed", "finished", "")
    assert job.error.startswith(
        f"The import stopped before it finished: its worker ended (it ran past the {limit}-second"
    )
    assert not Customer.objects.exists()
    import_job_run(job.pk, now=NOW + timedelta(hours=1))  # a late redelivery of the task changes nothing
    assert ImportJob.objects.get(pk=job.pk).status == "failed" and not Customer.objects.exists()


def test_the_progress_page_shows_a_dead_jobs_failure_instead_of_running_for_ever(admin_client):
    job = job_make(store_make(), lines(8))
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", phase="writing", rows_processed=8, started_at=NOW
    )

    shown = progress(admin_client, job)  # the page reads the request's clock, long after NOW

    assert (shown["status"], shown["live"]) == ("failed", False)
    assert "Nothing was imported" in shown["error"]


def test_a_small_file_still_imports_in_the_request(admin_client, csv_format):
    store = store_make()
    done = confirm(admin_client, upload(admin_client, store, lines(3), csv_format))
    assert done.status_code == 302 and not ImportJob.objects.exists()
    assert Customer.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_progress_page_updates_itself_as_the_job_runs(admin_page, csv_format, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)  # the job waits in the queue until this test runs it
    store = store_make()
    page = admin_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{page.live_server_url}/admin/customers/customer/import/")
    page.select_option("select[name=store]", str(store.pk))
    page.select_option("select[name=format]", csv_format)
    csv = "\n".join([HEADER, *lines(6)]).encode()
    page.set_input_files(
        "input[name=import_file]", files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": csv}]
    )
    page.click("#content form input[type=submit]")
    assert "6 rows" in page.inner_text("#import-background")
    page.click("input[name=confirm]")

    page.wait_for_url("**/progress/")
    assert page.inner_text("#import-status") == "queued"
    page.evaluate("window.notReloaded = true")

    import_job_run(ImportJob.objects.get().pk)

    page.wait_for_function("document.getElementById('import-status').textContent === 'done'")
    assert page.evaluate("window.notReloaded") is True
    assert page.inner_text("#count-created") == "6"
    assert page.inner_text("#import-percent") == "100%"
    assert not page.is_visible("#import-failed")
    assert Customer.objects.filter(store=store).count() == 6
