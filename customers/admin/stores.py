"""Staff's view of stores; and the read-only mixin of the log-like lists.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.urls import path, reverse
from django.utils.html import format_html

from customers.admin.scoping import StoreScopedAdmin, sees_all_stores
from customers.admin.signup_form import SignupEmbedInline, poster_view
from customers.admin.widgets import WordListWidget
from customers.models import (
    Store,
)
from customers.segments.presets import engagement_presets_rename, presets_install
from customers.signals import store_created

EVENTS_PER_PAGE = 20
CONSENT_SHOWN = 5


class ReadOnlyMixin:
    """Rows written only by the app (ingestion, the consent ledger): staff read them."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- stores -----------------------------------------------------------------------------------


@admin.register(Store)
class StoreAdmin(StoreScopedAdmin):
    store_path = "pk"
    list_display = (
        "brand_name", "slug", "site_url", "default_timezone", "customer_count", "connections", "created_at"
    )
    inlines = [SignupEmbedInline]
    readonly_fields = ("connections",)
    search_fields = ("brand_name", "slug", "site_url")
    filter_horizontal = ("owners",)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "allowed_link_domains":
            kwargs["widget"] = WordListWidget
        return super().formfield_for_dbfield(db_field, request, **kwargs)
    fieldsets = (
        (
            None,
            {"fields": ("brand_name", "slug", "site_url", "allowed_link_domains", "owners", "connections")},
        ),
        ("Locale", {"fields": ("default_timezone", "currency")}),
        (
            "Sending",
            {
                "fields": (
                    "sender_type",
                    "messaging_service_sid",
                    "from_number",
                    "price_per_segment",
                    "send_rate_per_second",
                )
            },
        ),
        (
            "Guardrails",
            {
                "fields": (
                    "send_window_start",
                    "send_window_end",
                    "cap_per_day",
                    "cap_per_week",
                    "cold_cap_per_week",
                    "hot_days",
                    "cold_after_days",
                    "overlap_hours",
                )
            },
        ),
        ("Replies", {"fields": ("help_text", "contact_email", "rewards_url")}),
        ("Privacy", {"fields": ("message_retention_days",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_total=Count("customers", distinct=True))

    @admin.display(description="customers", ordering="customer_total")
    def customer_count(self, store: Store) -> int:
        return store.customer_total

    @admin.display(description="shop connections")
    def connections(self, store: Store) -> str:
        if not store.pk:
            return "—"
        url = reverse("admin:connections_store", args=[store.pk])
        return format_html('<a href="{}">Shopify, WooCommerce…</a>', url)

    def get_urls(self):
        poster = self.admin_site.admin_view(poster_view)
        return [path("<int:store_id>/poster/", poster, name="customers_store_poster"), *super().get_urls()]

    def get_readonly_fields(self, request, obj=None):
        # Owners run their store; who owns it is decided by staff.
        return ("connections",) if sees_all_stores(request.user) else ("connections", "slug", "owners")

    def has_add_permission(self, request) -> bool:
        return sees_all_stores(request.user) and super().has_add_permission(request)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            presets_install(store=obj)
            store_created.send(sender=Store, store=obj)
        elif {"hot_days", "cold_after_days"} & set(form.changed_data):
            engagement_presets_rename(store=obj)
