from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection

from campaigns.bulk import copy_rows

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="COPY is PostgreSQL's"),
]

AT = datetime(2026, 5, 4, 16, 0, 0, 123456, tzinfo=UTC)


def loaded(sql_columns: str, columns: list[str], rows: list[tuple]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE copied ({sql_columns})")
        copy_rows(cursor.cursor, "copied", columns, rows)
        cursor.execute(f"SELECT {', '.join(columns)} FROM copied ORDER BY 1")
        return cursor.fetchall()


def test_plain_columns_go_in_binary_and_come_back_as_written():
    token = uuid.uuid4()
    rows = [
        (1, 2, "Hi Zoë 👋, new drops", "", True, AT, token, None),
        (2, 30000, "x" * 300, "marketing", False, None, None, 5),
    ]
    columns = ["id", "small", "body", "kind", "flag", "at", "token", "missing"]
    sql = (
        "id bigint, small smallint, body text, kind varchar(16), flag boolean, at timestamptz, "
        "token uuid, missing integer"
    )

    assert loaded(sql, columns, rows) == rows


def test_a_column_of_another_type_takes_the_text_form():
    rows = [(1, '{"a": [1, 2]}'), (2, "[]")]

    # Stored as the JSON the text says (the backend reads jsonb back as text), not a JSON string of it.
    assert loaded("id bigint, doc jsonb", ["id", "doc"], rows) == rows
