"""INSERT ... SELECT from a queryset: rows computed and written by the database, none in Python."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models
from django.db.models import QuerySet


def select_insert(
    *, model: type[models.Model], columns: Sequence[str], queryset: QuerySet, skip_duplicates_of: str = ""
) -> int:
    """Insert the rows of `queryset` (a values_list in `columns` order); returns how many were added.

    With `skip_duplicates_of` a row clashing on that unique column is left out (ON CONFLICT DO
    NOTHING, which both SQLite and PostgreSQL read), so running the same insert twice adds nothing.
    """
    sql, params = queryset.query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    table = quote(model._meta.db_table)
    conflict = ""
    if skip_duplicates_of:
        conflict = f" ON CONFLICT ({quote(model._meta.get_field(skip_duplicates_of).column)}) DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}{conflict}", params)
        return cursor.rowcount
