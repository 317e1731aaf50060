"""Admin scoping by store: owners see and edit only their stores' rows; staff see everything.

Reusable by any app's admin: subclass `StoreScopedAdmin` (or `StoreScopedInline`) and set
`store_path` to the lookup from the model to its Store (default "store", e.g. "product__store").
Rows, form choices, autocomplete answers and list filters all follow the user's stores. A model
whose rows without a store apply to every store sets `shared_rows`: everyone sees those rows,
only superusers change them.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from customers.models import Store

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


def _scope(queryset: QuerySet, request: HttpRequest, site: admin.AdminSite) -> QuerySet:
    """Limit a related-model queryset (form choices) to the user's stores, where it has one."""
    if sees_all_stores(request.user):
        return queryset
    model = queryset.model
    if model is Store:
        return queryset.filter(pk__in=stores_for(request.user))
    registered = site._registry.get(model)
    if isinstance(registered, _ScopedFields):
        return registered.scope_queryset(queryset, request)
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
    shared_rows = False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = _scope(formfield.queryset, request, self.admin_site)
        if self.shared_rows and db_field.name == self.store_path and not request.user.is_superuser:
            formfield.required = True  # a row for every store is the superuser's to add
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = _scope(formfield.queryset, request, self.admin_site)
        return formfield

    def scope_queryset(self, queryset: QuerySet, request: HttpRequest) -> QuerySet:
        if sees_all_stores(request.user):
            return queryset
        mine = Q(**{f"{self.store_path}__in": stores_for(request.user)})
        if self.shared_rows:
            mine |= Q(**{f"{self.store_path}__isnull": True})
        return queryset.filter(mine)

    def is_shared(self, obj) -> bool:
        return self.shared_rows and getattr(obj, f"{self.store_path}_id", None) is None

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and self.is_shared(obj) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and self.is_shared(obj) and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)


class StoreScopedAdmin(_ScopedFields, admin.ModelAdmin):
    """A ModelAdmin whose rows, form choices and store filter follow the user's stores."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self.scope_queryset(super().get_queryset(request), request)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # A list is titled by what it lists ("Customers"), not Django's "Select customer to change".
        title = {"title": str(self.model._meta.verbose_name_plural).capitalize()}
        return super().changelist_view(request, {**title, **(extra_context or {})})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        """A datetime typed in is read in the store's timezone (see store_time.py): say which."""
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and formfield is not None:
            zone = timezone.get_current_timezone()
            note = f"In store time: {getattr(zone, 'key', zone)} ({timezone.localtime().tzname()})."
            formfield.help_text = f"{formfield.help_text} {note}".strip()
        return formfield

    def get_list_filter(self, request):
        # The stock related filter would list every row of the related model, whatever its store:
        # the store filter lists the user's stores, other related filters what the user's rows use.
        path = self.store_path
        scoped = type("ScopedStoreFilter", (StoreListFilter,), {"store_path": f"{path}__pk"})
        filters = super().get_list_filter(request)
        return [scoped if item == path else self._scoped_filter(item) for item in filters]

    def _scoped_filter(self, item):
        name, kind = item if isinstance(item, (tuple, list)) else (item, None)
        if not isinstance(name, str):
            return item
        if kind is not None and not issubclass(kind, admin.RelatedFieldListFilter):
            return item
        if not get_fields_from_path(self.model, name)[-1].is_relation:
            return item
        return (name, admin.RelatedOnlyFieldListFilter)


class StoreScopedInline(_ScopedFields):
    """Mix into a TabularInline / StackedInline so its choices follow the user's stores."""
