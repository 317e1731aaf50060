"""Long admin lists (events, texts, customers) that open fast whatever their size: counts estimated
by the database's planner beyond what is quick to count (the page says "about"), and filters whose
choices are found without reading every row.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

from customers.admin.scoping import sees_all_stores, stores_for
from customers.models import Event

# rows counted exactly; past this the planner's estimate is shown, as "about N"
EXACT_COUNT_UP_TO = 10_000


class EstimatedCountPaginator(Paginator):
    """Counts up to EXACT_COUNT_UP_TO rows exactly; beyond, PostgreSQL's estimate of the filtered
    list (EXPLAIN, no rows read), flagged `estimated`. Counting a 10M-row list exactly reads all of
    it, which no one waiting for the first page needs."""

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if connection.vendor != "postgresql" or not isinstance(queryset, QuerySet):
            return super().count
        bounded = queryset.order_by().values("pk")[: EXACT_COUNT_UP_TO + 1].count()
        if bounded <= EXACT_COUNT_UP_TO:
            return bounded
        self.estimated = True
        return max(EXACT_COUNT_UP_TO + 1, planned_rows(queryset))


def planned_rows(queryset: QuerySet) -> int:
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class FastListMixin:
    """An admin list whose count may be estimated and whose columns do not re-sort millions of rows."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    sortable_by = ()

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        changelist.count_estimated = getattr(changelist.paginator, "estimated", False)
        return changelist


class EventTypeFilter(admin.SimpleListFilter):
    """The event types of the user's stores, found by skipping from one type to the next along the
    (store, type, …) index: one lookup per type, not a scan of the events."""

    title = "event"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        stores = list(stores_for(request.user).values_list("pk", flat=True))
        found: set[str] = set()
        with connection.cursor() as cursor:
            for store_id in stores:
                cursor.execute(DISTINCT_TYPES, [store_id, store_id])
                found.update(row[0] for row in cursor.fetchall())
        return [(kind, kind.replace("_", " ")) for kind in sorted(found)]

    def queryset(self, request, queryset):
        return queryset.filter(type=self.value()) if self.value() else queryset


DISTINCT_TYPES = f"""
WITH RECURSIVE t(type) AS (
    SELECT (SELECT type FROM {Event._meta.db_table} WHERE store_id = %s ORDER BY type LIMIT 1)
    UNION ALL
    SELECT (SELECT e.type FROM {Event._meta.db_table} e WHERE e.store_id = %s AND e.type > t.type
            ORDER BY e.type LIMIT 1)
    FROM t WHERE t.type IS NOT NULL
)
SELECT type FROM t WHERE type IS NOT NULL
"""


def sampled_values_filter(
    field: str, title: str, *, sample_rows: int = 20_000
) -> type[admin.SimpleListFilter]:
    """A filter listing the values of `field` found in a random sample of the table's pages (every
    value on a small table): the common values, without reading a million rows to list them. A
    value chosen stays listed."""

    def lookups(self, request, model_admin):
        queryset = model_admin.get_queryset(request)
        mine = stores_for(request.user).values_list("pk", flat=True)
        stores = None if sees_all_stores(request.user) else list(mine)
        values = set(_sampled(queryset, field, sample_rows, stores))
        if self.value():
            values.add(self.value())
        values.discard("")
        values.discard(None)
        return [(v, v) for v in sorted(values)]

    def queryset(self, request, queryset):
        return queryset.filter(**{field: self.value()}) if self.value() else queryset

    return type(
        f"Sampled{field.title()}Filter",
        (admin.SimpleListFilter,),
        {"title": title, "parameter_name": field, "lookups": lookups, "queryset": queryset},
    )


def _sampled(queryset: QuerySet, field: str, sample_rows: int, stores: list[int] | None) -> list:
    table = queryset.model._meta.db_table
    if connection.vendor != "postgresql":
        return list(queryset.order_by().values_list(field, flat=True).distinct()[:200])
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        rows = max(1, int(cursor.fetchone()[0]))
    if rows <= sample_rows:
        return list(queryset.order_by().values_list(field, flat=True).distinct()[:200])
    percent = 100.0 * sample_rows / rows
    column = queryset.model._meta.get_field(field).column
    mine, params = ("s.store_id = ANY(%s)", [stores]) if stores is not None else ("true", [])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT s.{column} FROM {table} s TABLESAMPLE SYSTEM (%s) REPEATABLE (1) "
            f"WHERE {mine} LIMIT 200",
            [percent, *params],
        )
        return [row[0] for row in cursor.fetchall()]
