"""API keys, the privacy log and CSV import jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from customers.models.stores import Store


class ApiKey(models.Model):
    """A store's API key; only its SHA-256 is kept."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# Tables derived from the events, kept by database triggers (customers/derived.py) so that every
# write path keeps them, and read by the segment compiler instead of scanning or unnesting events.


class PrivacyLogEntry(models.Model):
    """One export or erasure of a customer's data: who asked, when, and whose (by id and hash)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=8, choices=[("export", "Data exported"), ("erase", "Erased")])
    actor = models.CharField(max_length=150, help_text="Who: a staff user, an API key, a webhook")
    customer_id = models.BigIntegerField(help_text="The customer's id (gone after an erasure)")
    phone_hash = models.CharField(max_length=64, help_text="One-way hash of the number")
    occurred_at = models.DateTimeField()
    details = models.JSONField(default=dict, blank=True, help_text="What was exported or erased, counted")

    class Meta:
        verbose_name_plural = "privacy log"
        indexes = [models.Index(fields=["store", "-occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: customer {self.customer_id} by {self.actor}"


class ImportJob(models.Model):
    """A large CSV import that runs in the background: the file, where it is and how it ended."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    class Phase(models.TextChoices):
        WAITING = "waiting", "waiting for a worker"
        VALIDATING = "validating", "checking rows"
        WRITING = "writing", "writing customers"
        FINISHED = "finished", "finished"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="import_jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    file_name = models.CharField(max_length=255)
    content = models.TextField(help_text="The uploaded CSV, kept until the import has run.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.WAITING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why it failed: row, column and reason.")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["store", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
