"""Large CSV imports run as a django-q2 task, through the same upsert as the admin's small imports.

All or nothing: every row is checked first (progress is saved after each batch, outside the data
transaction, so the progress page sees it), then all rows are written in one transaction. So a job
whose worker ended mid-way (killed at the task time limit, or the machine stopped) has written
nothing, and once it has run longer than any task may, it is marked failed and says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import tablib
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from customers.ingest.csv_rows import row_errors, row_payload
from customers.ingest.customers import customer_clean, customers_upsert
from customers.ingest.schemas import Errors, ValidationFailed, join
from customers.models import ImportJob, Store

BATCH = 500
ERRORS_SHOWN = 20
ABANDONED = (
    "The import stopped before it finished: its worker ended (it ran past the {limit}-second task"
    " limit, or the worker was stopped). Nothing was imported; upload the file again, or split it."
)


def import_job_create(
    *, store: Store, user, file_name: str, dataset: tablib.Dataset, now: datetime
) -> ImportJob:
    """Keep the file in the database and queue its import once the row is committed."""
    job = ImportJob.objects.create(
        store=store,
        user=user,
        file_name=file_name[:255],
        content=dataset.export("csv"),
        rows_total=len(dataset),
        created_at=now,
    )
    transaction.on_commit(lambda: async_task("customers.ingest.csv_import.import_job_run", job.pk))
    return job


def import_job_run(job_id: int, now: datetime | None = None) -> None:
    """The task: claim the queued job, check every row in batches, then write them all or none."""
    now = now or timezone.now()
    jobs = ImportJob.objects.filter(pk=job_id)
    claimed = jobs.filter(status=ImportJob.Status.QUEUED).update(
        status=ImportJob.Status.RUNNING, phase=ImportJob.Phase.VALIDATING, rows_processed=0, started_at=now
    )
    if not claimed:
        return  # another worker has it, or it has already run
    job = jobs.select_related("store").get()
    try:
        payloads = [row_payload(row) for row in tablib.Dataset().load(job.content, format="csv").dict]
        errors = Errors()
        for start in range(0, len(payloads), BATCH):
            batch = payloads[start : start + BATCH]
            for index, payload in enumerate(batch, start):
                customer_clean(payload, join("rows", index), errors, now=now)
            jobs.update(rows_processed=start + len(batch))
        if errors:
            raise ValidationFailed(errors)
        jobs.update(phase=ImportJob.Phase.WRITING)
        upserted = customers_upsert(store=job.store, payloads=payloads, now=now, root="rows")
    except ValidationFailed as exc:
        _fail(jobs, _describe(exc.errors), now=timezone.now())
        return
    except Exception as exc:
        _fail(jobs, f"The import stopped unexpectedly ({type(exc).__name__}); nothing was imported.", now=now)
        raise
    jobs.update(
        status=ImportJob.Status.DONE,
        phase=ImportJob.Phase.FINISHED,
        created_count=upserted.created,
        updated_count=upserted.updated,
        content="",
        finished_at=timezone.now(),
    )


def import_jobs_fail_abandoned(*, now: datetime) -> int:
    """Fail the running jobs no worker can still be running: django-q stops a task at its time
    limit, so a job started longer ago than that has lost its worker. How many were failed."""
    limit = settings.Q_CLUSTER["timeout"]
    abandoned = ImportJob.objects.filter(
        status=ImportJob.Status.RUNNING, started_at__lt=now - timedelta(seconds=limit + 60)
    )
    return _fail(abandoned, ABANDONED.format(limit=limit), now=now)


def _describe(errors) -> str:
    found = row_errors(errors)
    lines = [f"Row {row}, column {column}: {message}" for row, column, message in found[:ERRORS_SHOWN]]
    if len(found) > ERRORS_SHOWN:
        lines.append(f"… and {len(found) - ERRORS_SHOWN} more.")
    return "\n".join(lines)


def _fail(jobs, error: str, *, now: datetime) -> int:
    failed, finished = ImportJob.Status.FAILED, ImportJob.Phase.FINISHED
    return jobs.update(status=failed, phase=finished, error=error, content="", finished_at=now)


def import_job_progress(job: ImportJob) -> dict[str, object]:
    """What the progress page shows and polls."""
    total = job.rows_total
    percent = job.rows_processed * 100 // total if total else 0
    if job.status == ImportJob.Status.DONE:
        percent = 100
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "phase": job.phase,
        "phase_label": job.get_phase_display(),
        "live": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        "rows_total": total,
        "rows_processed": job.rows_processed,
        "percent": percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "error": job.error,
    }
