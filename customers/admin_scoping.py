"""Admin scoping by store: owners see and edit only their stores' rows; staff see everything.

Reusable by any app's admin: subclass `StoreScopedAdmin` (or `StoreScopedInline`) and set
`store_path` to the lookup from the model to its Store (default "store", e.g. "product__store").
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Store

STORE_OWNER = "Store owner"
MARKETING_STAFF = "Marketing staff"


def sees_all_stores(user) -> bool:
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    cache = "_sees_all_stores"
    if not hasattr(user, cache):
        setattr(user, cache, user.groups.filter(name=MARKETING_STAFF).exists())
    return getattr(user, cache)


def stores_for(user) -> QuerySet[Store]:
    """The stores this user may see in the admin."""
    if sees_all_stores(user):
        return Store.objects.all()
    if not user.is_active:
        return Store.objects.none()
    return Store.objects.filter(owners=user)


def _scope(queryset: QuerySet, request: HttpRequest) -> QuerySet:
    """Limit a related-model queryset (form choices) to the user's stores, where it has one."""
    if sees_all_stores(request.user):
        return queryset
    model = queryset.model
    if model is Store:
        return queryset.filter(pk__in=stores_for(request.user))
    if any(f.name == "store" and f.is_relation for f in model._meta.get_fields()):
        return queryset.filter(store__in=stores_for(request.user))
    return queryset


class StoreListFilter(admin.SimpleListFilter):
    """Store filter listing only the stores the user may see."""

    title = "store"
    parameter_name = "store"
    store_path = "store__pk"

    def lookups(self, request, model_admin):
        return [(str(s.pk), str(s)) for s in stores_for(request.user).order_by("brand_name")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.store_path: self.value()})
        return queryset


class _ScopedFields:
    store_path = "store"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = _scope(formfield.queryset, request)
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = _scope(formfield.queryset, request)
        return formfield

    def scope_queryset(self, queryset: QuerySet, request: HttpRequest) -> QuerySet:
        if sees_all_stores(request.user):
            return queryset
        return queryset.filter(**{f"{self.store_path}__in": stores_for(request.user)})


class StoreScopedAdmin(_ScopedFields, admin.ModelAdmin):
    """A ModelAdmin whose rows, form choices and store filter follow the user's stores."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope_queryset(super().get_queryset(request), request)

    def get_list_filter(self, request):
        # The stock related filter would list every store's name; this one lists the user's.
        path = self.store_path
        scoped = type("ScopedStoreFilter", (StoreListFilter,), {"store_path": f"{path}__pk"})
        return [scoped if item == path else item for item in super().get_list_filter(request)]


class StoreScopedInline(_ScopedFields):
    """Mix into a TabularInline / StackedInline so its choices follow the user's stores."""
