"""Report rollups: each store day's catalogue figures for the texts created that day, per the
groups the reports show, with the marks that say a day changed since it was counted.

A day is exact when it has a `ReportDayCounted` row and no `ReportDayMark` falls in it: every
write that can change a figure of a text older than `UNMARKED` (a status move, a tap, a credited
order or opt-out, an erased text) adds a mark for the UTC hour the text was created, committed
with the write. Refreshing a day reads its marks first and deletes only those it read, so a write
that commits meanwhile leaves its mark for the next refresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import models
from django.db.models.functions import TruncHour

from customers.models import Store


class ReportDay(models.Model):
    """The catalogue's counted figures of one store day's texts in one group (people counts are
    not kept: they do not add up across days)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # Kept as plain ids: a deleted step, run or campaign is recognised when the rollup is read.
    step_id = models.BigIntegerField(null=True)
    run_flow_id = models.BigIntegerField(null=True)
    campaign_id = models.BigIntegerField(null=True)
    variant = models.CharField(max_length=20, blank=True)
    kind = models.CharField(max_length=20)
    sent = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    refused = models.BigIntegerField(default=0)
    clicks = models.BigIntegerField(default=0)
    clicked = models.BigIntegerField(default=0)
    segments = models.BigIntegerField(default=0)
    opt_outs = models.BigIntegerField(default=0)
    orders = models.BigIntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["store", "day"])]

    def __str__(self) -> str:
        return f"{self.day}: {self.sent} sent"


class ReportDayCounted(models.Model):
    """A store day whose `ReportDay` rows were counted (and when)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "day"], name="report_day_counted_once")]

    def __str__(self) -> str:
        return f"{self.day} counted at {self.counted_at}"


# Texts younger than this are never marked: a day is counted only once all its texts are older
# (with an hour to spare for a writer's transaction), so the fresh days are always counted live.
UNMARKED = timedelta(hours=24)
CLOSED_AFTER = UNMARKED + timedelta(hours=1)


class ReportDayMarkQuerySet(models.QuerySet):
    def add_for(self, messages: models.QuerySet, *, now: datetime | None = None) -> None:
        """Mark the creation hours of these texts older than `UNMARKED` (all of them without `now`):
        two statements, whatever their number."""
        if now is not None:
            messages = messages.filter(created_at__lt=now - UNMARKED)
        hours = (
            messages.order_by()
            .annotate(hour=TruncHour("created_at", tzinfo=UTC))
            .values_list("store_id", "hour")
            .distinct()
        )
        self.bulk_create([ReportDayMark(store_id=s, hour=h) for s, h in hours])

    def add_created(self, texts: Iterable[tuple[int, datetime]], *, now: datetime) -> None:
        """Mark the creation hours of texts already read, as (store id, created at), older than
        `UNMARKED`: one statement when there are any, none otherwise."""
        hours = {
            (store_id, created_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
            for store_id, created_at in texts
            if created_at < now - UNMARKED
        }
        self.bulk_create([ReportDayMark(store_id=s, hour=h) for s, h in sorted(hours)])

    def add_one(self, *, store_id: int, created_at: datetime, now: datetime) -> None:
        self.add_created([(store_id, created_at)], now=now)


class ReportDayMark(models.Model):
    """Some text created in this UTC hour changed after its day may have been counted. Not unique:
    concurrent writers each add their own row and never wait on one another."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    hour = models.DateTimeField()

    objects = ReportDayMarkQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["store", "hour"])]

    def __str__(self) -> str:
        return f"changed: texts of {self.hour}"


class ReportReach(models.Model):
    """A person's last closed day with a text the provider accepted in one group of texts (`key`,
    see reports/reach.py): the recipients of a period ending now are the people whose last day
    falls in it, counted from an index instead of over every text."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    customer_id = models.BigIntegerField()
    last_day = models.DateField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "key", "last_day"]),
            # A person's rows: recounted together, and probed per live text (index-only).
            models.Index(fields=["store", "customer_id", "key", "last_day"]),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.customer_id} on {self.last_day}"
