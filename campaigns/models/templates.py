"""What a text says: templates with dynamic fields, and the tracked links they produce."""

from __future__ import annotations

from django.db import models


class MessageTemplate(models.Model):
    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=100)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class Link(models.Model):
    """One short code per message and target; the redirect adds UTM tags and records the click."""

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="links")
    message = models.ForeignKey(
        "campaigns.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="links"
    )
    code = models.CharField(max_length=16, unique=True)
    target_url = models.URLField(max_length=1000)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.code
