"""Bulk writes: plain multi-row inserts for the outbox's large writes, and INSERT ... SELECT.

Django's `bulk_create` prepares every value through its field, which costs more than the insert
itself at this size; here rows are tuples of ready values: COPY on PostgreSQL, one prepared
statement run over all rows on SQLite. Duplicates of a unique column can be skipped.
INSERT ... SELECT writes rows computed by the database from a queryset, none in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models, transaction
from django.db.models import F, Lookup, Q, QuerySet


def among(field: str, ids: list[int]) -> Q:
    """A range for a dense run of ids (a broadcast's recipients), else a list; callers drop extras."""
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return Q(**{f"{field}__gte": low, f"{field}__lte": high})
    return Q(any_of(field, ids))


class _AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*params, *values]


def any_of(field: str, values: Sequence[object]) -> _AnyOf:
    """`field` is one of `values`, as a filter: on PostgreSQL one array parameter (`= ANY(%s)`),
    where `__in` builds and the driver parses one placeholder per value; thousands of values
    a batch cost more to write into the query than to look up. Values as stored (no field prep)."""
    return _AnyOf(F(field), values)


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
    fields = [model._meta.get_field(name) for name in _fields(model, columns)]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if skip_duplicates_of is None:
                copy_rows(cursor.cursor, model._meta.db_table, [f.column for f in fields], rows)
                return None
            back = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) for c in returning)
            unique = connection.ops.quote_name(skip_duplicates_of)
            return _staged(cursor.cursor, table, fields, rows, unique, back)
        rows = _adapted(model, columns, rows)
        marks = ", ".join(["%s"] * len(columns))
        verb = "INSERT OR IGNORE INTO" if skip_duplicates_of else "INSERT INTO"
        cursor.executemany(f"{verb} {table} ({names}) VALUES ({marks})", rows)
    return None


def rows_insert_numbered(
    *, model: type[models.Model], columns: Sequence[str], rows: list[tuple]
) -> list[int] | None:
    """Insert rows that should all be new, with their ids drawn from the table's sequence first (one
    query), by one COPY of the rows with their ids: PostgreSQL only, inside a transaction. None, with
    nothing inserted, when a row clashes with a stored one on a unique column (a key stored
    meanwhile): the caller then inserts with `rows_insert(skip_duplicates_of=...)`.

    COPY straight into the table costs the server less than loading a scratch table and inserting
    from it with a conflict check per row, and the ids come back before the rows are written."""
    if not rows:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    names = [model._meta.get_field(name).column for name in [model._meta.pk.name, *_fields(model, columns)]]
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk, len(rows)],
        )
        ids = [row[0] for row in raw.fetchall()]
        try:
            with transaction.atomic():
                copy_rows(
                    raw, table, names, ((pk_value, *row) for pk_value, row in zip(ids, rows, strict=True))
                )
        except connection.Database.errors.UniqueViolation:
            return None
    return ids


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
    return [by_attname[c] for c in columns]


def copy_rows(raw, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY `rows` into `table` (`columns` are column names, unquoted) on a raw psycopg cursor.

    In binary when every column is of a plain type: the text format costs the client about ten
    times the CPU per row (every date and number written out as text), more than the server's
    work at a broadcast's size, and it runs in the same process as the rendering and deciding."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    types = _column_types(raw, table, columns)
    binary = all(t in PLAIN_TYPES for t in types)
    with raw.copy(
        f"COPY {quote(table)} ({names}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
    ) as copy:
        if binary:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# Built-in types (fixed oids) whose binary form psycopg writes from the Python values the outbox
# builds: int2, int4, int8, bool, text, varchar, timestamptz, uuid.
PLAIN_TYPES = frozenset({21, 23, 20, 16, 25, 1043, 1184, 2950})
_types: dict[tuple, list[int]] = {}


def _column_types(raw, table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of the table's columns (looked up once per database, table and columns)."""
    key = (connection.settings_dict["NAME"], table, tuple(columns))
    if key not in _types:
        raw.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [connection.ops.quote_name(table)],
        )
        by_name = dict(raw.fetchall())
        _types[key] = [by_name[c] for c in columns]
    return _types[key]


def _staged(
    raw, table: str, fields: list[models.Field], rows: list[tuple], unique: str, returning: str
) -> list[tuple] | None:
    """COPY cannot skip duplicates: load a scratch table, then insert what is new.

    Only the columns whose values differ between rows go through the scratch table; a column with
    one value for the whole batch (its time, its campaign, empty provider fields) is a parameter
    of the INSERT, so COPY carries a few columns instead of all.
    """
    quote = connection.ops.quote_name
    columns = list(zip(*rows, strict=True))
    first = rows[0]
    varying = [
        i
        for i, f in enumerate(fields)
        if quote(f.column) == unique or columns[i].count(first[i]) != len(rows)
    ]
    loaded = ", ".join(quote(fields[i].column) for i in varying)
    selected, params = [], []
    for i, f in enumerate(fields):
        if i in varying:
            selected.append(quote(f.column))
        else:
            selected.append(f"%s::{f.db_type(connection)}")
            params.append(first[i])
    names = ", ".join(quote(f.column) for f in fields)
    raw.execute(f"CREATE TEMP TABLE outbox_load ON COMMIT DROP AS SELECT {loaded} FROM {table} WITH NO DATA")
    copy_rows(
        raw,
        "outbox_load",
        [fields[i].column for i in varying],
        zip(*(columns[i] for i in varying), strict=True),
    )
    insert = (
        f"INSERT INTO {table} ({names}) SELECT {', '.join(selected)} FROM outbox_load "
        f"ON CONFLICT ({unique}) DO NOTHING"
    )
    raw.execute(f"{insert} RETURNING {returning}" if returning else insert, params)
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
