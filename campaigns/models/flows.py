"""When a text goes out: flows (recipes), their steps, and each customer's run through one."""

from __future__ import annotations

from django.db import models


class Flow(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        LIVE = "live"
        PAUSED = "paused"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "slug"], name="flow_slug_per_store")]

    def __str__(self) -> str:
        return self.name


class FlowStep(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["flow", "position"]


class FlowRun(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active"
        DONE = "done"
        EXITED = "exited"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="runs")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="flow_runs")
    state = models.CharField(max_length=8, choices=State, default=State.ACTIVE)
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["state", "next_due_at"])]
