"""What customers text back: store-defined keywords and the staff inbox."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Keyword(models.Model):
    """A word a store defines (SIZE, SHIPPING, VIP): an auto-reply, or a way to join the list."""

    class Action(models.TextChoices):
        REPLY = "reply", "Auto-reply, then land in the inbox"
        JOIN = "join", "Join the list (double opt-in)"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="keywords")
    word = models.CharField(max_length=30, help_text="Matched ignoring case, spaces and punctuation.")
    action = models.CharField(max_length=8, choices=Action, default=Action.REPLY)
    reply = models.CharField(max_length=480, blank=True, help_text="Sent back when the word arrives.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["store", "word"]
        constraints = [models.UniqueConstraint(fields=["store", "word"], name="keyword_word_per_store")]

    def __str__(self) -> str:
        return self.word

    def clean(self) -> None:
        if self.action == self.Action.REPLY and not self.reply.strip():
            raise ValidationError({"reply": "An auto-reply keyword needs the reply text."})


class InboundMessage(models.Model):
    """Every text a customer sends: what it matched, what the app did, and the staff's follow-up."""

    class Outcome(models.TextChoices):
        OPTED_OUT = "opted_out", "Opted out"
        OPTED_IN = "opted_in", "Opted back in"
        CONFIRMED = "confirmed", "Confirmed the sign-up"
        JOIN_REQUESTED = "join_requested", "Asked to join (confirmation requested)"
        HELP = "help", "Help sent"
        PREFERENCE = "preference", "Preference set"
        KEYWORD = "keyword", "Store keyword"
        MESSAGE = "message", "Message for the staff"
        # No single store uses the number (or several share it): the store is left empty.
        UNKNOWN_STORE = "unknown_store", "No single store matched"

    store = models.ForeignKey(
        "customers.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_messages"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_messages"
    )
    provider_sid = models.CharField(max_length=64, blank=True)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32, blank=True)
    messaging_service_sid = models.CharField(max_length=34, blank=True)
    body = models.TextField(blank=True)
    keyword = models.CharField(max_length=30, blank=True, help_text="The keyword it matched, if any.")
    opt_out_type = models.CharField(max_length=8, blank=True, help_text="Twilio's OptOutType, if sent.")
    outcome = models.CharField(max_length=16, choices=Outcome)
    reply = models.TextField(blank=True, help_text="What the app replied (empty: no reply).")
    handled = models.BooleanField(default=False)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            # Twilio retries a webhook on connection failure: the same SID must not be stored twice.
            models.UniqueConstraint(
                fields=["provider_sid"], condition=~Q(provider_sid=""), name="inbound_sid_once"
            )
        ]
        indexes = [
            models.Index(fields=["store", "handled", "received_at"]),
            # a number's texts: replays without a MessageSid, a conversation
            models.Index(fields=["from_number", "received_at"], name="inbound_from_time"),
        ]

    def __str__(self) -> str:
        return f"{self.from_number}: {self.body[:40]}"
