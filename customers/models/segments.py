"""Segments and the stored membership of those kept as tables."""

from __future__ import annotations

from django.db import models

from customers.models.people import Customer
from customers.models.stores import Store


class Segment(models.Model):
    """A set of customers, described by a rule tree that compiles to one SQL query."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    rules = models.JSONField(default=dict)
    preset = models.CharField(max_length=50, blank=True, help_text="Preset this segment was copied from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Counts and member pages of a stored segment are read from its membership rows, refreshed on a
    # schedule; sends always evaluate the rules live.
    stored = models.BooleanField(
        "Served from a membership table",
        default=False,
        help_text="Counts and member lists read rows refreshed every few minutes, for rules too heavy "
        "to count live; sends always use the live rules.",
    )
    refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # how many rows the refresh wrote, taken in its transaction so it always agrees with them
    refreshed_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    refresh_error = models.TextField(blank=True, editable=False)
    refresh_failed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the lists and the API show: the last count taken (a stored segment's at each refresh of its
    # rows, a live one's every few minutes), when, and of which rules (`customers.segments.counts`).
    counted_members = models.PositiveIntegerField(null=True, blank=True, editable=False)
    counted_reachable = models.PositiveIntegerField(null=True, blank=True, editable=False)
    counted_at = models.DateTimeField(null=True, blank=True, editable=False)
    counted_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="segment_slug_per_store")]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """One customer of a stored segment as of the segment's `refreshed_at`."""

    # the unique (segment, customer) index serves reads by segment
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_once")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class SegmentTouch(models.Model):
    """A customer whose stored segments may have changed since the last refresh: written by database
    triggers when their events or profile change (`customers/segments/touches.py`), taken by the next
    refresh. No customer: the store's catalogue changed, which may move anyone."""

    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer_id = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["store", "id"], name="segment_touch_store")]

    def __str__(self) -> str:
        return f"{self.customer_id or 'catalogue'} touched in store {self.store_id}"


class ListHealth(models.Model):
    """The dashboard's list health for one store as last counted: customers and reachable by SMS
    for everyone, each engagement tier and each churn band, with when they were counted."""

    store = models.OneToOneField(Store, primary_key=True, on_delete=models.CASCADE, related_name="+")
    # {"all": [customers, reachable], "hot": [...], ..., "churn:high": [...]}
    counts = models.JSONField(default=dict)
    taken_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"list health of store {self.store_id} at {self.taken_at:%Y-%m-%d %H:%M}"
