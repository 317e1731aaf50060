"""A store's Connections page: connect Shopify or WooCommerce in a form, see the webhooks that came
in and follow the backfill; and the read-only lists of connections and deliveries."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from customers.admin.scoping import StoreListFilter, StoreScopedAdmin, stores_for
from customers.admin.stores import ReadOnlyMixin
from customers.connections.backfill import backfill_resume
from customers.connections.connect import ConnectError, shopify_connect, webhook_address, woocommerce_connect
from customers.connections.models import Backfill, ShopConnection, WebhookDelivery

SECRET = forms.PasswordInput(render_value=False)


class ShopifyConnectForm(forms.Form):
    shop = forms.CharField(label="Shop", help_text="NAME.myshopify.com")
    token = forms.CharField(
        label="Admin API access token",
        required=False,
        widget=SECRET,
        help_text="Settings → Apps → Develop apps → your app → API credentials (shpat_…)",
    )
    secret = forms.CharField(
        label="Webhook signing key",
        widget=SECRET,
        help_text="The app's API secret key; for webhooks made by hand, the key shown under "
        "Notifications → Webhooks",
    )
    webhooks_only = forms.BooleanField(
        label="Webhooks only (made by hand in Shopify's admin; no token, no backfill)", required=False
    )
    api_base = forms.URLField(
        label="API address",
        required=False,
        assume_scheme="https",
        help_text="Only to reach the shop elsewhere",
    )


class WooConnectForm(forms.Form):
    url = forms.URLField(label="Site", assume_scheme="https", help_text="e.g. https://shop.example.com")
    key = forms.CharField(label="Consumer key", required=False, widget=SECRET, help_text="ck_… (Read/Write)")
    secret = forms.CharField(label="Consumer secret", required=False, widget=SECRET, help_text="cs_…")
    webhook_secret = forms.CharField(
        label="Webhook secret", required=False, widget=SECRET, help_text="Only for webhooks made by hand"
    )
    webhooks_only = forms.BooleanField(
        label="Webhooks only (made by hand; no keys, no backfill)", required=False
    )


def backfill_progress(backfill: Backfill) -> dict:
    return {
        "status": backfill.status,
        "phase": backfill.get_phase_display(),
        "customers": backfill.customers,
        "products": backfill.products,
        "orders": backfill.orders,
        "pages": backfill.pages,
        "error": backfill.error,
        "live": backfill.status == Backfill.Status.RUNNING,
    }


@admin.register(ShopConnection)
class ShopConnectionAdmin(ReadOnlyMixin, StoreScopedAdmin):
    list_display = ("shop_domain", "platform", "store", "mode", "connected_at", "page")
    list_filter = (StoreListFilter, "platform")
    list_select_related = ("store",)
    exclude = ("access_token", "api_secret", "webhook_secret")

    @admin.display(description="mode")
    def mode(self, connection: ShopConnection) -> str:
        return "webhooks only" if connection.webhooks_only else "API and webhooks"

    @admin.display(description="")
    def page(self, connection: ShopConnection) -> str:
        url = reverse("admin:connections_store", args=[connection.store_id])
        return format_html('<a href="{}">Connections page</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("store/<int:store_id>/", view(self.store_view), name="connections_store"),
            path("backfill/<int:pk>.json", view(self.backfill_json), name="connections_backfill_json"),
            path(
                "backfill/<int:pk>/resume/",
                view(require_POST(self.backfill_resume_view)),
                name="connections_backfill_resume",
            ),
            path(
                "<int:pk>/disconnect/",
                view(require_POST(self.disconnect_view)),
                name="connections_disconnect",
            ),
            *super().get_urls(),
        ]

    def store_view(self, request: HttpRequest, store_id: int) -> HttpResponse:
        store = get_object_or_404(stores_for(request.user), pk=store_id)
        posted = request.POST.get("platform")
        shopify = ShopifyConnectForm(request.POST if posted == "shopify" else None, prefix="shopify")
        woo = WooConnectForm(request.POST if posted == "woocommerce" else None, prefix="woo")
        if request.method == "POST" and self._connect(request, store, shopify, woo):
            return redirect("admin:connections_store", store_id=store.pk)
        connections = list(ShopConnection.objects.filter(store=store).order_by("platform"))
        for connection in connections:
            connection.address = webhook_address(connection)
            connection.recent = list(connection.deliveries.order_by("-received_at")[:10])
            connection.backfill = connection.backfills.first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Connections: {store}",
            "store": store,
            "connections": connections,
            "shopify_form": shopify,
            "woo_form": woo,
        }
        return TemplateResponse(request, "admin/connections/store.html", context)

    def _connect(self, request: HttpRequest, store, shopify: ShopifyConnectForm, woo: WooConnectForm) -> bool:
        form = shopify if request.POST.get("platform") == "shopify" else woo
        if not form.is_valid():
            return False
        data, now = form.cleaned_data, timezone.now()
        try:
            if form is shopify:
                connection = shopify_connect(
                    store=store,
                    shop=data["shop"],
                    token=data["token"],
                    secret=data["secret"],
                    api_base=data["api_base"] or "",
                    webhooks_only=data["webhooks_only"],
                    now=now,
                )
            else:
                connection = woocommerce_connect(
                    store=store,
                    url=data["url"],
                    key=data["key"],
                    secret=data["secret"],
                    webhook_secret=data["webhook_secret"],
                    webhooks_only=data["webhooks_only"],
                    now=now,
                )
        except ConnectError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
            return False
        messages.success(
            request,
            f"Connected {connection}."
            + ("" if connection.webhooks_only else " Webhooks registered; the backfill is running."),
        )
        return True

    def _backfill(self, request: HttpRequest, pk: int) -> Backfill:
        stores = stores_for(request.user)
        return get_object_or_404(Backfill.objects.filter(connection__store__in=stores), pk=pk)

    def backfill_json(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(backfill_progress(self._backfill(request, pk)))

    def backfill_resume_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        backfill = self._backfill(request, pk)
        if backfill_resume(backfill=backfill, now=timezone.now()):
            messages.success(request, "The backfill goes on from where it stopped.")
        return redirect("admin:connections_store", store_id=backfill.connection.store_id)

    def disconnect_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        connection = get_object_or_404(
            ShopConnection.objects.filter(store__in=stores_for(request.user)), pk=pk
        )
        store_id = connection.store_id
        connection.delete()
        messages.success(request, f"Disconnected {connection}. The customers and events it brought stay.")
        return redirect("admin:connections_store", store_id=store_id)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, StoreScopedAdmin):
    store_path = "connection__store"
    list_display = ("received_at", "topic", "status", "note", "connection")
    list_filter = ("status", "topic")
    list_select_related = ("connection",)
    search_fields = ("delivery_id", "topic")
    exclude = ("body",)
