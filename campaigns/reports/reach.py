"""Recipients, the catalogue's count of people, for report periods that end now, without a pass
over every text: each person's last closed day per group of texts (`ReportReach`, kept with the
daily rollup), plus the people of the live stretches who are not among them.

A group is a `key`: a family's prefix and the ids the report groups by, computed from the text's
columns when its day is counted (a deleted step, run or campaign marks its texts' days, so their
keys are computed again). The rows hold the texts up to the store's last counted day; for a period
whose closed days run to that day, the recipients of group k are the people whose last day in k is
on or after the period's first closed day, plus the people with an accepted text of k in the live
stretches whose last day in k is earlier or who have none.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from campaigns.bulk import select_insert
from campaigns.models import Message, ReportReach
from customers.models import Store

MARKETING = Q(kind=Message.Kind.MARKETING)
STEPPED = MARKETING & Q(flow_step__isnull=False)
UNSTEPPED = MARKETING & Q(flow_step__isnull=True, flow_run__isnull=False)
CAMPAIGNED = MARKETING & Q(campaign__isnull=False)


def _text(field: str) -> Coalesce:
    return Coalesce(Cast(field, CharField()), Value(""))


def _key(*parts) -> Concat:
    return Concat(*[Value(p) if isinstance(p, str) else p for p in parts], output_field=CharField())


# family: (the texts it holds, their key). Each family's keys start with its own letter.
FAMILIES = {
    "all": (Q(), Value("A", output_field=CharField())),
    "source": (
        Q(),
        Case(
            When(~MARKETING, then=Value("Sr")),
            When(flow_step__isnull=True, campaign__isnull=True, then=Value("Sd")),
            default=_key("Sf", _text("flow_step__flow_id"), "|", _text("campaign_id")),
            output_field=CharField(),
        ),
    ),
    "step": (STEPPED, _key("T", _text("flow_step_id"))),
    "no_step": (UNSTEPPED, _key("N", _text("flow_run__flow_id"))),
    # A flow's texts as its report counts them: its steps', and those of its runs whose step is gone.
    "flow": (STEPPED | UNSTEPPED, _key("F", _text(Coalesce("flow_step__flow_id", "flow_run__flow_id")))),
    "step_variant": (STEPPED, _key("W", _text("flow_step_id"), "|", F("variant"))),
    "campaign": (CAMPAIGNED, _key("C", _text("campaign_id"))),
    "campaign_variant": (CAMPAIGNED, _key("K", _text("campaign_id"), "|", F("variant"))),
}
ALL, REPLIES, DELETED = "A", "Sr", "Sd"
FAMILY_OF = {"A": "all", "S": "source", "T": "step", "N": "no_step", "F": "flow", "W": "step_variant",
             "C": "campaign", "K": "campaign_variant"}  # fmt: skip


def _id(pk: int | None) -> str:
    return "" if pk is None else str(pk)


def source_key(flow_id: int | None, campaign_id: int | None) -> str:
    return f"Sf{_id(flow_id)}|{_id(campaign_id)}"


def step_key(step_id: int) -> str:
    return f"T{step_id}"


def no_step_key(flow_id: int) -> str:
    return f"N{flow_id}"


def flow_key(flow_id: int) -> str:
    return f"F{flow_id}"


def step_variant_key(step_id: int, variant: str) -> str:
    return f"W{step_id}|{variant}"


def campaign_key(campaign_id: int) -> str:
    return f"C{campaign_id}"


def campaign_variant_key(campaign_id: int, variant: str) -> str:
    return f"K{campaign_id}|{variant}"


def _accepted(texts: QuerySet[Message], family: str) -> QuerySet[Message]:
    held, key = FAMILIES[family]
    return texts.filter(held, status__in=Message.ACCEPTED).annotate(reach_key=key)


def reach_recount(*, store: Store, texts: Q, before: datetime, stale: list[date], tz: tzinfo) -> None:
    """Compute again the last days of the people with texts in `texts` (the stale days) and of those
    whose last day is a stale one, from all their texts created before `before` (the closed days)."""
    last_there = ReportReach.objects.filter(store=store, last_day__in=stale)
    left = list(last_there.values_list("customer_id", flat=True).distinct())
    texted = Message.objects.filter(texts, store=store).values("customer_id")
    people = Q(customer_id__in=texted) | Q(customer_id__in=left)
    ReportReach.objects.filter(store=store).filter(people).delete()
    mine = Message.objects.filter(people, store=store, created_at__lt=before).order_by()
    for family in FAMILIES:
        rows = (
            _accepted(mine, family)
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values("store_id", "reach_key", "customer_id")
            .annotate(last=Max("day"))
            .values_list("store_id", "reach_key", "customer_id", "last")
        )
        select_insert(model=ReportReach, columns=["store", "key", "customer_id", "last_day"], queryset=rows)


def recipients_now(
    *, store: Store, keys: list[str], first_day: date, live: list[tuple[datetime, datetime]]
) -> dict[str, int]:
    """Recipients of each of `keys` in a period whose closed days run from `first_day` to the last
    closed day, with `live` the stretches around them: one query, and one per family for the live."""
    kept = ReportReach.objects.filter(store=store, key__in=keys, last_day__gte=first_day).order_by()
    counts = dict(kept.values("key").annotate(n=Count("*")).values_list("key", "n"))
    stretches = Q(pk__in=[])
    for start, end in live:
        stretches |= Q(created_at__gte=start, created_at__lt=end)
    known = ReportReach.objects.filter(
        store=store, key=OuterRef("reach_key"), customer_id=OuterRef("customer_id"), last_day__gte=first_day
    )
    for family in sorted({FAMILY_OF[key[0]] for key in keys}) if live else ():
        fresh = (
            _accepted(Message.objects.filter(stretches, store=store), family)
            .filter(reach_key__in=keys)
            .exclude(Exists(known))
            .order_by()
            .values("reach_key")
            .annotate(n=Count("customer_id", distinct=True))
        )
        for row in fresh:
            counts[row["reach_key"]] = counts.get(row["reach_key"], 0) + row["n"]
    return counts

