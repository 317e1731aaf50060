"""Admin for the sending rules a store edits, and the guardrails' record."""

from __future__ import annotations

from django.contrib import admin

from campaigns.models import GuardrailDecision, QuietHoursRule, UndeliverableNumber
from customers.admin.scoping import StoreScopedAdmin


@admin.register(QuietHoursRule)
class QuietHoursRuleAdmin(StoreScopedAdmin):
    """A rule without a store is the state's rule for every store: owners read it, add their own."""

    shared_rows = True
    list_display = ["region", "store", "window_start", "window_end", "max_per_24h", "note"]
    list_filter = ["store", "region"]
    list_select_related = ["store"]
    ordering = ["store", "region"]


@admin.register(GuardrailDecision)
class GuardrailDecisionAdmin(StoreScopedAdmin):
    store_path = "message__store"
    list_display = ["decided_at", "message", "stage", "outcome", "reason", "held_until", "detail"]
    list_filter = ["stage", "outcome", "reason"]
    list_select_related = ["message"]
    search_fields = ["message__to", "message__idempotency_key"]
    date_hierarchy = "decided_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record of why a text went (or did not): it goes only with its message


@admin.register(UndeliverableNumber)
class UndeliverableNumberAdmin(StoreScopedAdmin):
    """Deleting a row lets texts go to the number again (e.g. after the customer fixed it)."""

    list_display = ["phone", "store", "error_code", "recorded_at"]
    list_filter = ["store", "error_code"]
    search_fields = ["phone"]
    readonly_fields = ["store", "phone", "error_code", "recorded_at"]

    def has_add_permission(self, request) -> bool:
        return False
