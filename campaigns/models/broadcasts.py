"""One-off sends of a template to a segment."""

from __future__ import annotations

from django.db import models


class Campaign(models.Model):
    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    template = models.ForeignKey("campaigns.MessageTemplate", on_delete=models.PROTECT)
    segment = models.ForeignKey("customers.Segment", on_delete=models.PROTECT)
    send_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="campaign_slug_per_store")]

    def __str__(self) -> str:
        return self.name
