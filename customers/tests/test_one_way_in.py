"""Customers, events and consent records are written by the customers/ingest/ package alone, so every one of
them updates metrics and reaches flows and segments the same way."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("campaigns", "customers", "smsmarketing")
WRITES = re.compile(
    r"\b(Customer|Event|ConsentRecord)\.objects\.(create|bulk_create|get_or_create|update_or_create)\("
)


def app_modules() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts)
    ]


def test_only_ingest_creates_customers_events_and_consent_records():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in app_modules()
        if (ROOT / "customers" / "ingest") not in path.parents
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if WRITES.search(line)
    ]

    assert offenders == []


def test_the_check_sees_the_app():
    names = {str(path.relative_to(ROOT)) for path in app_modules()}

    assert {"campaigns/content/links.py", "campaigns/inbound/keywords.py"} <= names
    assert "customers/ingest/events.py" in names
    assert WRITES.search("        event = Event.objects.create(")
