"""CSV import of customers (django-import-export), through the same upsert as the API.

The whole file is checked first: a bad row is reported with its row number and column, and then
nothing from the file is stored.
"""

from __future__ import annotations

import re
from collections import defaultdict

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from import_export import fields, resources
from import_export.forms import ConfirmImportForm, ImportForm
from import_export.results import RowResult

from customers.ingest.customers import customers_upsert
from customers.ingest.schemas import ValidationFailed
from customers.models import Customer, Store

PROFILE_COLUMNS = ("external_id", "phone", "first_name", "last_name", "email", "city", "region", "language",
                   "timezone", "birthday", "loyalty_status", "preferred_store")  # fmt: skip
LIST_COLUMNS = ("topics", "favorite_categories")
CONSENT_COLUMNS = {"consent_status": "status", "consent_source": "source", "consent_wording": "wording",
                   "consent_at": "at", "consent_keyword": "keyword", "consent_ip": "ip_address"}  # fmt: skip
ROW_PATH = re.compile(r"^rows\[(\d+)\]\.?(.*)$")
PREVIEW_ROWS = 100  # what the confirm step of a background import checks and shows


def import_runs_in_background(*, rows: int) -> bool:
    return rows > settings.IMPORT_BACKGROUND_ROWS


class _StoreChoice:
    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"] = forms.ModelChoiceField(
            queryset=stores if stores is not None else Store.objects.all(),
            help_text="The store these customers belong to.",
        )


class CustomerImportForm(_StoreChoice, ImportForm):
    pass


class CustomerConfirmImportForm(_StoreChoice, ConfirmImportForm):
    pass


def row_payload(row: dict) -> dict:
    """One CSV row as the customer object the API takes; empty cells are left out."""
    cells = {str(k).strip().lower(): ("" if v is None else str(v).strip()) for k, v in row.items() if k}
    payload = {name: cells[name] for name in PROFILE_COLUMNS if cells.get(name)}
    for name in LIST_COLUMNS:
        if cells.get(name):
            payload[name] = [part.strip() for part in re.split(r"[;,]", cells[name]) if part.strip()]
    consent = {key: cells[column] for column, key in CONSENT_COLUMNS.items() if cells.get(column)}
    if consent:
        consent.setdefault("source", "csv_import")
        payload["sms_consent"] = consent
    return payload


def written_columns(rows: list[dict]) -> list[str]:
    """The columns the preview shows: the file's known columns, in the order the app reads them."""
    present = {str(k).strip().lower() for row in rows[:1] for k in row if k}
    known = [*PROFILE_COLUMNS, *LIST_COLUMNS, *CONSENT_COLUMNS]
    return [c for c in known if c in present]


def written_value(customer: Customer, row: dict, column: str) -> str:
    """What the import stores for `column`: the normalized value (a phone in E.164, the resulting
    consent status), or the cell itself for consent evidence."""
    if column == "consent_status":
        return customer.get_sms_consent_display()
    if column in CONSENT_COLUMNS:
        cells = {str(k).strip().lower(): v for k, v in row.items() if k}
        return "" if cells.get(column) is None else str(cells[column]).strip()
    value = getattr(customer, column)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _column(field: str) -> str:
    if field.startswith("sms_consent."):
        key = field.split(".", 1)[1]
        return next((c for c, k in CONSENT_COLUMNS.items() if k == key), "consent_status")
    return re.sub(r"\[\d+\]$", "", field) or "row"


def row_errors(errors) -> list[tuple[int, str, str]]:
    """(row, column, reason) for each error of a file's payloads; row 1 is the first after the header."""
    found = []
    for error in errors:
        match = ROW_PATH.match(error.field)
        index = int(match.group(1)) if match else 0
        found.append((index + 1, _column(match.group(2) if match else error.field), error.message))
    return found


class CustomerResource(resources.ModelResource):
    """Columns: phone, external_id, names, email, city, region, timezone, consent_status, ..."""

    class Meta:
        model = Customer
        fields = PROFILE_COLUMNS + LIST_COLUMNS
        import_id_fields = ("phone",)

    def __init__(self, store: Store | None = None, **kwargs):
        super().__init__(**kwargs)
        self.store = store

    def get_user_visible_fields(self):
        # The consent columns are read by row_payload, not by a model field: list them too.
        return [*super().get_user_visible_fields(), *(fields.Field(column_name=c) for c in CONSENT_COLUMNS)]

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):  # fmt: skip
        result = self.get_result_class()()
        headers = list(dataset.headers or [])
        result.diff_headers = headers
        result.add_dataset_headers(headers)
        result.total_rows = len(dataset)
        rows = list(dataset.dict)
        if self.store is None:
            result.append_invalid_row(
                1, rows[0] if rows else {}, ValidationError("Choose the store to import into.")
            )
            return result
        if dry_run and import_runs_in_background(rows=len(rows)):
            # The whole file is checked by the background task; the preview shows its first rows.
            result.background_rows = len(rows)
            rows = rows[:PREVIEW_ROWS]
        payloads = [row_payload(row) for row in rows]
        try:
            with transaction.atomic():
                upserted = customers_upsert(
                    store=self.store, payloads=payloads, now=timezone.now(), root="rows"
                )
                if dry_run:
                    transaction.set_rollback(True)
        except ValidationFailed as exc:
            self._report(result, rows, exc)
            if raise_errors:
                raise
            return result
        self._count(result, upserted.customers, upserted.created_ids, rows)
        return result

    def _report(self, result, rows: list[dict], exc: ValidationFailed) -> None:
        by_row: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for row, column, message in row_errors(exc.errors):
            by_row[row - 1][column].append(message)
        for index in sorted(by_row):
            result.append_invalid_row(index + 1, rows[index], ValidationError(dict(by_row[index])))
            result.totals[RowResult.IMPORT_TYPE_INVALID] += 1

    def _count(self, result, customers: list[Customer], created_ids: set[int], rows: list[dict]) -> None:
        headers = written_columns(rows)
        result.diff_headers = headers
        for customer, row in zip(customers, rows, strict=True):
            row_result = self.get_row_result_class()()
            new = customer.pk in created_ids
            row_result.import_type = RowResult.IMPORT_TYPE_NEW if new else RowResult.IMPORT_TYPE_UPDATE
            row_result.row_values = row
            row_result.diff = [written_value(customer, row, column) for column in headers]
            row_result.instance = customer
            row_result.add_instance_info(customer)
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
