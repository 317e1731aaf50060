"""Staff's view of the catalogue (categories, products, their changes), events and API keys.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from customers.admin.lists import EventTypeFilter, FastListMixin
from customers.admin.profile import event_name
from customers.admin.scoping import StoreScopedAdmin, StoreScopedInline, stores_for
from customers.admin.stores import ReadOnlyMixin
from customers.api.auth import api_key_secret_fill
from customers.ingest.products import product_save
from customers.models import (
    ApiKey,
    Category,
    Customer,
    Event,
    Product,
    ProductChange,
)
from customers.search import customer_search

# --- catalogue --------------------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(StoreScopedAdmin):
    list_display = ("name", "external_id", "store", "product_count")
    list_filter = ("store",)
    search_fields = ("name", "external_id")
    list_select_related = ("store",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(product_total=Count("products"))

    @admin.display(description="products", ordering="product_total")
    def product_count(self, category: Category) -> int:
        return category.product_total


class ProductChangeInline(StoreScopedInline, ReadOnlyMixin, admin.TabularInline):
    model = ProductChange
    fields = ("changed_at", "field", "old_value", "new_value")
    readonly_fields = fields
    ordering = ("-changed_at", "-pk")
    extra = 0
    store_path = "product__store"


@admin.register(Product)
class ProductAdmin(StoreScopedAdmin):
    list_display = (
        "name",
        "external_id",
        "category",
        "price",
        "stock",
        "consumable",
        "reorder_window_days",
        "margin_class",
        "store",
    )
    list_filter = ("store", "category", "consumable", "margin_class")
    search_fields = ("name", "external_id")
    list_select_related = ("store", "category")
    inlines = [ProductChangeInline]

    def save_model(self, request, obj: Product, form, change) -> None:
        product_save(product=obj, now=timezone.now())


@admin.register(ProductChange)
class ProductChangeAdmin(ReadOnlyMixin, StoreScopedAdmin):
    store_path = "product__store"
    list_display = ("changed_at", "product", "field", "old_value", "new_value")
    list_filter = ("field",)
    search_fields = ("product__name", "product__external_id")
    list_select_related = ("product",)
    date_hierarchy = "changed_at"


# --- events -----------------------------------------------------------------------------------


@admin.register(Event)
class EventAdmin(FastListMixin, ReadOnlyMixin, StoreScopedAdmin):
    """Newest received first (the primary key's order: no index to keep up per sort order on the
    largest table); filters by store, type and when it happened; search by customer or event id."""

    list_display = ("received_at", "occurred_at", "what", "customer", "product", "store")
    list_filter = ("store", EventTypeFilter, ("occurred_at", admin.DateFieldListFilter))
    search_fields = ("customer__phone", "customer__first_name", "customer__last_name", "idempotency_key")
    search_help_text = "A customer's phone, name, external id or email, or an event's id."
    list_select_related = ("customer", "product", "store")
    ordering = ("-pk",)

    @admin.display(description="event")
    def what(self, event: Event) -> str:
        return event_name(event.type)

    def get_search_results(self, request, queryset, search_term):
        """Customers found by their own search (its indexes), then their events; or the event with
        that id in one of the user's stores."""
        term = search_term.strip()
        if not term:
            return queryset, False
        stores = list(stores_for(request.user).values_list("pk", flat=True))
        found = customer_search(Customer.objects.filter(store_id__in=stores), term).values("pk")
        by_customer = queryset.filter(customer_id__in=found).order_by().values("pk")
        by_key = queryset.filter(store_id__in=stores, idempotency_key=term).order_by().values("pk")
        return queryset.filter(pk__in=by_customer.union(by_key, all=True)), False


# --- API keys ---------------------------------------------------------------------------------


@admin.register(ApiKey)
class ApiKeyAdmin(StoreScopedAdmin):
    list_display = ("name", "store", "prefix", "created_at", "last_used_at", "revoked")
    list_filter = ("store", "revoked")
    search_fields = ("name", "prefix")
    list_select_related = ("store",)
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("store", "name")
        return ("store", "name", "prefix", "created_at", "last_used_at", "revoked")

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("store",) if obj else ())

    def save_model(self, request: HttpRequest, obj: ApiKey, form, change) -> None:
        raw = None if change else api_key_secret_fill(obj)
        super().save_model(request, obj, form, change)
        if raw:
            messages.warning(
                request,
                format_html(
                    "The new API key is <code>{}</code>. Copy it now: only its hash is kept, "
                    "it cannot be shown again.",
                    raw,
                ),
            )
