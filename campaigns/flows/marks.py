"""Who checks which stored row against the flows it triggers — events, product changes — when the
tick and a queued task both may: one record per store, shared by both.

Each store has a mark: every row with an id up to it has been checked. The tick checks what lies
above the mark and moves it; the task queued when rows are stored checks its own rows at once and
notes them as "checked ahead", so the tick skips them. Both take the store's mark row lock first,
so a row is checked once, whichever path comes first.

Ids are handed out when a row is inserted but become visible when its transaction commits, so a
lower id can appear after a higher one. The tick leaves rows younger than a minute (by the time
they were stored) for the next tick, and the mark never passes one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models, transaction
from django.db.models import Exists, OuterRef

BATCH = 2000
SETTLE = timedelta(minutes=1)


@dataclass(frozen=True)
class Checked:
    """What is checked: the mark and "checked ahead" tables, and how to read and check the rows."""

    mark: type[models.Model]  # store (primary key), checked_through
    ahead: type[models.Model]  # <row> (primary key, `ahead_field`), store
    ahead_field: str  # e.g. "event_id"
    stored: Callable[[int, int], models.QuerySet]  # (store id, above id) → (id, stored at) by id
    check: Callable[..., int]  # (store_id=, ids=, now=) → runs created

    def locked(self, store_id: int) -> models.Model:
        mark = self.mark.objects.select_for_update().filter(store_id=store_id).first()
        if mark is None:  # the store's first check
            self.mark.objects.get_or_create(store_id=store_id)
            mark = self.mark.objects.select_for_update().get(store_id=store_id)
        return mark


def check_queued(checked: Checked, *, store_id: int, ids: list[int], now: datetime) -> int:
    """The queued task's share: those of its rows the tick has not checked yet."""
    with transaction.atomic():
        mark = checked.locked(store_id)
        ahead = checked.ahead.objects.filter(**{f"{checked.ahead_field}__in": ids})
        taken = set(ahead.values_list(checked.ahead_field, flat=True))
        todo = sorted({i for i in ids if i > mark.checked_through and i not in taken})
        if not todo:
            return 0
        checked.ahead.objects.bulk_create(
            checked.ahead(**{checked.ahead_field: i, "store_id": store_id}) for i in todo
        )
        return checked.check(store_id=store_id, ids=todo, now=now)


def check_pending(
    checked: Checked,
    *,
    store_id: int,
    cutoff: datetime,
    now: datetime,
    checks: bool,
    check: Callable[..., int] | None = None,
) -> int:
    """The tick's share for one store: its rows above the mark stored before `cutoff`, in batches.
    Without `checks` (no flow to check them against) the mark just moves on. `check`, when given,
    checks the rows in place of `checked.check` (the same, with what the tick has read already)."""
    check = check or checked.check
    created = 0
    while True:
        with transaction.atomic():
            mark = checked.locked(store_id)
            # Each row read with whether the queued task checked it ahead: one query for both.
            ahead = checked.ahead.objects.filter(store_id=store_id)
            rows = checked.stored(store_id, mark.checked_through).annotate(
                taken=Exists(ahead.filter(**{checked.ahead_field: OuterRef("id")}))
            )
            ids, todo = [], []
            for row_id, stored_at, taken in rows[:BATCH]:
                if stored_at > cutoff:
                    break
                ids.append(row_id)
                if not taken:
                    todo.append(row_id)
            if not ids:
                return created
            if checks and todo:
                created += check(store_id=store_id, ids=todo, now=now)
            if len(todo) < len(ids):
                ahead.filter(**{f"{checked.ahead_field}__lte": ids[-1]}).delete()
            checked.mark.objects.filter(store_id=store_id).update(checked_through=ids[-1])
        if len(ids) < BATCH:
            return created
