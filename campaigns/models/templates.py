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
    code = models.CharField(max_length=16)  # unique by a constraint: see Meta
    target_url = models.URLField(max_length=1000)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    clicks = models.PositiveIntegerField(default=0)
    first_clicked_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The tapped links of a report's texts: a few among many, probed per text or read whole.
            models.Index(
                fields=["message"], include=["clicks"], condition=models.Q(clicks__gt=0), name="link_tapped"
            ),
        ]
        # A constraint rather than `unique=True`, which on PostgreSQL also builds a LIKE index: a
        # code is only ever looked up whole, and a broadcast writes one link per text.
        constraints = [models.UniqueConstraint(fields=["code"], name="link_code_unique")]

    def __str__(self) -> str:
        return self.code


class CreepTerm(models.Model):
    """A store's own addition to the creep-factor word lists (the defaults live in campaigns.creep).

    "flag" adds a phrase to a category; "allow" silences a default phrase for this store, e.g. a
    maternity shop allowing "maternity".
    """

    class Category(models.TextChoices):
        BEHAVIOUR = "behaviour", "Hyper-specific behaviour"
        HEALTH = "health", "Health"
        PREGNANCY = "pregnancy", "Pregnancy and fertility"
        FINANCES = "finances", "Finances and debt"
        RELIGION = "religion", "Religion"
        SEXUALITY = "sexuality", "Sexuality"
        ETHNICITY = "ethnicity", "Ethnicity"
        OTHER = "other", "Other sensitive inference"

    class Action(models.TextChoices):
        FLAG = "flag"
        ALLOW = "allow"

    store = models.ForeignKey("customers.Store", on_delete=models.CASCADE, related_name="creep_terms")
    category = models.CharField(max_length=16, choices=Category)
    phrase = models.CharField(max_length=100, help_text="A word or phrase, matched as whole words")
    action = models.CharField(max_length=8, choices=Action, default=Action.FLAG)
    note = models.CharField(
        max_length=200, blank=True, help_text="Why it is sensitive, shown with the finding"
    )

    class Meta:
        verbose_name = "word to avoid or allow"
        verbose_name_plural = "words to avoid or allow"
        constraints = [
            models.UniqueConstraint(fields=["store", "category", "phrase"], name="creep_term_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.phrase!r} ({self.get_category_display()})"
