"""Privacy requests in the admin: a customer's data as a JSON download and their erasure (buttons on
the customer page), deletion of customers routed through the erasure, and the log of both."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from customers.admin.scoping import StoreScopedAdmin
from customers.admin.stores import ReadOnlyMixin
from customers.models import Customer, PrivacyLogEntry, Store
from customers.privacy import customer_data_export, customers_erase


def staff_actor(request: HttpRequest) -> str:
    return f"staff {request.user.get_username()}"


class CustomerPrivacyMixin:
    """For the customer admin: export and erase views, and deletion that erases (the ledger stays)."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/export/", wrap(self.export_view), name="customers_customer_export"),
            path("<int:pk>/erase/", wrap(self.erase_view), name="customers_customer_erase"),
            *super().get_urls(),
        ]

    def _customer(self, request: HttpRequest, pk: int) -> Customer:
        customer = self.get_queryset(request).select_related("store").filter(pk=pk).first()
        if customer is None:
            raise Http404("No such customer in your stores.")
        return customer

    def export_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self._customer(request, pk)
        if not self.has_view_permission(request, customer):
            raise PermissionDenied
        data = customer_data_export(customer=customer, actor=staff_actor(request), now=timezone.now())
        response = HttpResponse(
            json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    def erase_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self._customer(request, pk)
        if not self.has_delete_permission(request, customer):
            raise PermissionDenied
        if request.method == "POST":
            counts = _erase(request, customer.store, [customer.pk])
            self.message_user(request, f"Erased {customer}: {_counted(counts)}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:customers_customer_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Erase {customer}?",
            "customer": customer,
        }
        return TemplateResponse(request, "admin/customers/customer/erase.html", context)

    def delete_view(self, request: HttpRequest, object_id, extra_context=None) -> HttpResponse:
        # One customer's delete is their erasure, with its own confirmation page.
        if not str(object_id).isascii() or not str(object_id).isdigit():
            raise Http404("No such customer.")
        customer = self._customer(request, int(object_id))
        if not self.has_delete_permission(request, customer):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:customers_customer_erase", args=[customer.pk]))

    def get_deleted_objects(self, objs, request: HttpRequest):
        # The erasure deletes rows staff never delete one by one (events, the texts) and keeps the
        # ledger's: the customer's delete permission is the one that counts.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: Customer) -> None:
        _erase(request, obj.store, [obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        by_store: dict[int, list[int]] = {}
        for store_id, customer_id in queryset.values_list("store_id", "pk"):
            by_store.setdefault(store_id, []).append(customer_id)
        stores = Store.objects.in_bulk(list(by_store))
        for store_id, ids in by_store.items():
            _erase(request, stores[store_id], ids)


def _erase(request: HttpRequest, store: Store, ids: list[int]) -> dict[str, int]:
    return customers_erase(store=store, customer_ids=ids, actor=staff_actor(request), now=timezone.now())


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if name != "customers")


@admin.register(PrivacyLogEntry)
class PrivacyLogEntryAdmin(ReadOnlyMixin, StoreScopedAdmin):
    """Who exported or erased whose data, and when; written only by the privacy services."""

    list_display = ("occurred_at", "action", "actor", "customer_id", "phone_hash", "store")
    list_filter = ("store", "action")
    search_fields = ("actor", "phone_hash", "=customer_id")
    date_hierarchy = "occurred_at"
    fields = ("occurred_at", "action", "actor", "customer_id", "phone_hash", "store", "details")
    readonly_fields = fields
