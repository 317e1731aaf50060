"""How far each store's events and product changes have been checked against the flows they
trigger: the tick and the task queued on ingestion share these records, so nothing enters twice."""

from __future__ import annotations

from django.db import models

from customers.models import Event, ProductChange, Store


class EventCheckMark(models.Model):
    """Every event of the store with an id up to `checked_through` has had its trigger check."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, primary_key=True, related_name="+")
    checked_through = models.BigIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the last check of the store's events failed.")
    error_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.store_id}: events checked through #{self.checked_through}"


class EventCheckedAhead(models.Model):
    """An event above its store's mark that a queued check already took (cluster installs)."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, primary_key=True, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"event #{self.event_id} checked"


class ProductChangeCheckMark(models.Model):
    """Every price and stock change of the store with an id up to `checked_through` has been
    checked against its back-in-stock and price-drop flows."""

    store = models.OneToOneField(Store, on_delete=models.CASCADE, primary_key=True, related_name="+")
    checked_through = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.store_id}: product changes checked through #{self.checked_through}"


class ProductChangeCheckedAhead(models.Model):
    """A change above its store's mark that a queued check already took (cluster installs)."""

    change = models.OneToOneField(ProductChange, on_delete=models.CASCADE, primary_key=True, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"product change #{self.change_id} checked"
