"""A conversation with one customer: who on the staff answers it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Conversation(models.Model):
    """Assignment of a customer's thread; open / handled comes from the thread's inbound texts."""

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="conversations")
    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, related_name="conversation"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Conversation with {self.customer}"
