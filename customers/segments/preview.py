"""What the builder shows beside a tree as it is edited: the count, its change against the saved
rules, some members. Exact while that is quick; in a large store, where a count may read millions
of events, the count is exact if it finishes within a budget and else, like the change, estimated
from a random sample of the store's customers evaluated alone (`Only`), and said to be an estimate.
Unchanged rules change nothing: their diff is zero without evaluating them twice.
"""

from __future__ import annotations

import math
import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q

from customers.models import Customer, Segment, Store
from customers.segments import REACHABLE, InvalidRules, rules_count
from customers.segments.compiler import Only, compile_rules

# a store up to this size is counted exactly, over every customer, on each change of the tree
EXACT_UP_TO = 50_000
# customers evaluated for an estimate, and how long an exact count may take before one is made
SAMPLE_SIZE = 10_000
EXACT_BUDGET_MS = 300
# who among more members than this can be texted is estimated from the sample at once: counting it
# joins every one of them to their customer row, which does not fit the budget in a large store
REACH_EXACT_UP_TO = 200_000
NEWEST = 2_000
SHOWN = 10


@dataclass(frozen=True)
class Estimate:
    sampled: int
    of: int
    margin: int  # half the width of a 95 % interval, in customers

    def as_dict(self) -> dict:
        return {"sampled": self.sampled, "of": self.of, "margin": self.margin}


@dataclass(frozen=True)
class Preview:
    count: int
    reachable: int | None
    estimate: Estimate | None
    diff: dict | None
    sample: list[Customer]
    reachable_estimated: bool = False  # from the sample, while the count itself is exact


def preview_counts(*, store: Store, rules: dict, segment: Segment | None, now: datetime) -> Preview:
    """Count, change and examples of `rules` (already validated) against the saved `segment`."""
    seen = (segment.pk,) if segment else ()
    everyone = Customer.objects.filter(store=store)
    size = everyone.count()
    new = compile_rules(rules, store=store, now=now, seen=seen, size=size)
    old = _saved(segment, store, now, size)
    if size <= EXACT_UP_TO:
        totals = {"count": Count("pk", filter=new), "reachable": Count("pk", filter=new & REACHABLE)}
        if old is not None:
            totals |= {"added": Count("pk", filter=new & ~old), "removed": Count("pk", filter=old & ~new)}
        counted = everyone.aggregate(**totals)
        diff = {"added": counted["added"], "removed": counted["removed"]} if "added" in counted else None
        examples = list(everyone.filter(new).order_by("-pk")[:SHOWN])
        return Preview(counted["count"], counted["reachable"], None, diff, examples)
    with _lean():
        return _large(store, rules, segment, now, seen, size, new, old)


def _large(
    store: Store,
    rules: dict,
    segment: Segment | None,
    now: datetime,
    seen: tuple[int, ...],
    size: int,
    new: Q,
    old: Q | None,
) -> Preview:
    """A store over EXACT_UP_TO: exact what fits the budget, the rest from the sample."""
    everyone = Customer.objects.filter(store=store)
    exact = _within_budget(lambda: rules_count(store, rules, now=now, seen=seen, size=size))
    reachable = None
    if exact is not None and exact <= REACH_EXACT_UP_TO:
        reachable = _within_budget(lambda: everyone.filter(new & REACHABLE).count())
    estimate, diff, hits, reach_estimated = None, None, set(), False
    unchanged = segment is not None and rules == segment.rules
    if unchanged:
        diff = {"added": 0, "removed": 0}
    newest = list(everyone.order_by("-pk").values_list("pk", flat=True)[:NEWEST])
    if exact is None or reachable is None or (old is not None and not unchanged):
        sample = sample_ids(store, SAMPLE_SIZE, total=size)
        # the sample and the newest customers evaluated together: one read of the tree's events
        found = _members(store, rules, sorted({*sample, *newest}), now, seen, size)
        hits, newest_hits = found.intersection(sample), found.intersection(newest)
        if exact is None:
            exact, estimate = _scaled(len(hits), len(sample), size)
        if reachable is None:
            texted = Customer.objects.filter(REACHABLE, pk__in=hits).count() if hits else 0
            reachable = round(exact * texted / len(hits)) if hits else 0
            reach_estimated = estimate is None
        if old is not None and not unchanged:
            before = _members(store, segment.rules, sample, now, seen, size)
            scale = size / max(1, len(sample))
            diff = {
                "added": round(len(hits - before) * scale),
                "removed": round(len(before - hits) * scale),
                "estimated": True,
            }
    else:
        newest_hits = _members(store, rules, newest, now, seen, size)
    return Preview(exact, reachable, estimate, diff, _examples(newest_hits, hits), reach_estimated)


def _saved(segment: Segment | None, store: Store, now: datetime, size: int) -> Q | None:
    if segment is None:
        return None
    try:
        return compile_rules(segment.rules, store=store, now=now, seen=(segment.pk,), size=size)
    except (InvalidRules, KeyError, TypeError):
        return None  # the saved tree no longer compiles (e.g. a referenced segment was deleted)


def _members(
    store: Store, rules: dict, ids: list[int], now: datetime, seen: tuple[int, ...], size: int
) -> set[int]:
    only = Only(ids=tuple(ids))
    q = compile_rules(rules, store=store, now=now, seen=seen, only=only, size=size)
    return set(Customer.objects.filter(q, store=store).values_list("pk", flat=True))


def _scaled(hits: int, sampled: int, size: int) -> tuple[int, Estimate]:
    share = hits / max(1, sampled)
    margin = 1.96 * math.sqrt(share * (1 - share) / max(1, sampled)) * size
    return round(share * size), Estimate(sampled=sampled, of=size, margin=round(margin))


def _examples(newest_hits: set[int], hits: set[int]) -> list[Customer]:
    """The newest members among the store's newest customers, then members of the sample."""
    found = sorted(newest_hits, reverse=True)[:SHOWN]
    if len(found) < SHOWN:
        found += sorted(hits - set(found), reverse=True)[: SHOWN - len(found)]
    return list(Customer.objects.filter(pk__in=found).order_by("-pk"))


@contextmanager
def _lean():
    """On PostgreSQL, the queries inside in one transaction without JIT compilation: a count the
    planner expects to read millions of rows is otherwise compiled first, for longer than the
    preview's whole budget, though the indexes answer it in a fraction of that."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield
        cursor.execute("SET LOCAL jit TO DEFAULT")  # kept by a transaction this one is nested in


def _within_budget(count):
    """The count if PostgreSQL finishes it within the budget, else None (SQLite: always counted)."""
    if connection.vendor != "postgresql":
        return count()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {EXACT_BUDGET_MS}")
            counted = count()
            # a savepoint released keeps the limit for the rest of the enclosing transaction
            cursor.execute("SET LOCAL statement_timeout TO DEFAULT")
            return counted
    except DatabaseError:
        return None


def sample_ids(store: Store, size: int, *, total: int | None = None) -> list[int]:
    """About `size` customer ids of the store, drawn at random but the same from one call to the next
    (the builder's previews of one tree agree): in a large store on PostgreSQL, the customers on
    random pages of the table; else drawn from all the store's ids."""
    total = Customer.objects.filter(store=store).count() if total is None else total
    if total <= size:
        return list(Customer.objects.filter(store=store).values_list("pk", flat=True))
    if connection.vendor == "postgresql" and total > 20 * size:
        with connection.cursor() as cursor:
            # pages of the whole table, as many as hold about `size` of this store's customers
            percent = min(100.0, 100.0 * size / total)
            cursor.execute(
                f"SELECT id FROM {Customer._meta.db_table} TABLESAMPLE SYSTEM (%s) REPEATABLE (7) "
                "WHERE store_id = %s",
                [percent, store.pk],
            )
            return [row[0] for row in cursor.fetchall()]
    ids = list(Customer.objects.filter(store=store).values_list("pk", flat=True))
    return random.Random(7).sample(ids, size)
