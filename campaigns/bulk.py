"""Plain multi-row inserts for the outbox's large writes (a broadcast stores 100,000 rows at once).

Django's `bulk_create` prepares every value through its field, which costs more than the insert
itself at this size; here rows are tuples of ready values: COPY on PostgreSQL, one prepared
statement run over all rows on SQLite. Duplicates of a unique column can be skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def rows_insert(
    *,
    model: type[models.Model],
    columns: Sequence[str],
    rows: list[tuple],
    skip_duplicates_of: str | None = None,
    returning: Sequence[str] = (),
) -> list[tuple] | None:
    """Insert `rows` (values in `columns` order, by attname); must run inside a transaction.

    With `returning` (and duplicates skipped) PostgreSQL answers with those columns of exactly the
    rows this call inserted, from the same statement; SQLite answers None and the caller looks.
    """
    if not rows:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(
        connection.ops.quote_name(model._meta.get_field(c).column) for c in _fields(model, columns)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            back = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in returning)
            return _copy(
                cursor,
                table,
                names,
                rows,
                skip_duplicates_of and connection.ops.quote_name(skip_duplicates_of),
                back,
            )
        rows = _adapted(model, columns, rows)
        marks = ", ".join(["%s"] * len(columns))
        verb = "INSERT OR IGNORE INTO" if skip_duplicates_of else "INSERT INTO"
        cursor.executemany(f"{verb} {table} ({names}) VALUES ({marks})", rows)
    return None


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return [by_attname[c] for c in columns]


def _copy(
    cursor, table: str, names: str, rows: list[tuple], unique: str | None, returning: str = ""
) -> list[tuple] | None:
    raw = cursor.cursor
    if unique is None:
        with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return None
    # COPY cannot skip duplicates: load a scratch table, then insert what is new.
    raw.execute(f"CREATE TEMP TABLE outbox_load ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")
    with raw.copy(f"COPY outbox_load ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    insert = (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM outbox_load ON CONFLICT ({unique}) DO NOTHING"
    )
    raw.execute(f"{insert} RETURNING {returning}" if returning else insert)
    inserted = raw.fetchall() if returning else None
    raw.execute("DROP TABLE outbox_load")
    return inserted


def _adapted(model: type[models.Model], columns: Sequence[str], rows: list[tuple]) -> list[tuple]:
    """SQLite stores datetimes and UUIDs as Django writes them, so queries compare like with like."""
    adapters = []
    for index, column in enumerate(columns):
        kind = model._meta.get_field(_fields(model, [column])[0]).get_internal_type()
        if kind == "DateTimeField":
            adapters.append((index, _remembered(connection.ops.adapt_datetimefield_value)))
        elif kind == "UUIDField":
            adapters.append((index, lambda value: value.hex))
    if not adapters:
        return rows
    adapted = []
    for row in rows:
        values = list(row)
        for index, adapt in adapters:
            if values[index] is not None:
                values[index] = adapt(values[index])
        adapted.append(tuple(values))
    return adapted


def _remembered(adapt):
    """A batch repeats a handful of times (now, valid until, window openings): adapt each once."""
    seen: dict = {}

    def adapted(value):
        if value not in seen:
            seen[value] = adapt(value)
        return seen[value]

    return adapted
