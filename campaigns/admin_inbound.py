"""Admin for keywords, the inbox, broadcast campaigns, the outbox list and "Why this text"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from customers.admin_scoping import StoreScopedAdmin, stores_for
from customers.models import Customer

from . import broadcasts
from .keywords import inbound_mark_handled
from .models import Campaign, InboundMessage, Keyword, Message
from .why import campaigns_missed, messages_explained


@admin.register(Keyword)
class KeywordAdmin(StoreScopedAdmin):
    list_display = ["word", "action", "reply", "active", "store"]
    list_filter = ["action", "active", "store"]
    search_fields = ["word", "reply"]
    list_select_related = ["store"]


@admin.register(InboundMessage)
class InboundMessageAdmin(StoreScopedAdmin):
    list_display = ["received_at", "from_number", "customer", "body", "outcome", "keyword", "handled"]
    list_filter = ["handled", "outcome", "store"]
    search_fields = ["from_number", "body", "customer__first_name"]
    list_select_related = ["customer", "store"]
    date_hierarchy = "received_at"
    actions = ["mark_handled"]
    readonly_fields = [f.name for f in InboundMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Mark handled")
    def mark_handled(self, request: HttpRequest, queryset: QuerySet[InboundMessage]) -> None:
        count = inbound_mark_handled(messages=queryset, user=request.user, now=timezone.now())
        self.message_user(request, f"{count} message(s) marked handled.")


WAITING = Q(messages__status__in=broadcasts.WAITING)


@admin.register(Campaign)
class CampaignAdmin(StoreScopedAdmin):
    list_display = ["name", "store", "status", "send_at", "local_send_time", "recipients_count", "progress"]
    list_filter = ["status", "store"]
    search_fields = ["name", "slug"]
    list_select_related = ["store"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "status",
        "error",
        "provider",
        "recipients_count",
        "materialized_at",
        "finished_at",
        "progress_link",
    ]
    fields = [
        "store",
        "name",
        "slug",
        "template",
        "segment",
        "send_at",
        "local_send_time",
        "valid_hours",
        *readonly_fields,
    ]
    actions = ["schedule", "pause", "resume", "cancel"]
    locked_once_scheduled = ["store", "template", "segment", "send_at", "local_send_time"]

    def get_readonly_fields(self, request: HttpRequest, obj: Campaign | None = None) -> list[str]:
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return [*self.locked_once_scheduled, *self.readonly_fields]
        return list(self.readonly_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return (
            super()
            .get_queryset(request)
            .annotate(total=Count("messages"), waiting=Count("messages", WAITING))
        )

    @admin.display(description="Progress")
    def progress(self, campaign: Campaign) -> str:
        if not campaign.materialized_at:
            return "—"
        url = reverse("admin:campaigns_campaign_progress", args=[campaign.pk])
        done = campaign.total - campaign.waiting
        return format_html('<a href="{}">{} of {} handled</a>', url, done, campaign.total)

    @admin.display(description="Provider")
    def provider(self, campaign: Campaign) -> str:
        since = broadcasts.provider_unavailable_since(campaign) if campaign.pk else None
        return f"provider unavailable since {since:%Y-%m-%d %H:%M} UTC" if since else "answering"

    @admin.display(description="Progress page")
    def progress_link(self, campaign: Campaign) -> str:
        if not campaign.pk:
            return "—"
        return format_html(
            '<a href="{}">Open progress</a>', reverse("admin:campaigns_campaign_progress", args=[campaign.pk])
        )

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        return [path("<int:pk>/progress/", progress, name="campaigns_campaign_progress"), *super().get_urls()]

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_object_or_404(self.get_queryset(request).select_related("segment", "template"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Progress: {campaign.name}",
            "campaign": campaign,
            "progress": broadcasts.campaign_progress(campaign),
        }
        return TemplateResponse(request, "admin/campaigns/campaign/progress.html", context)

    def _change_state(self, request, queryset, change, done: str) -> None:
        changed = 0
        for campaign in queryset:  # a handful of campaigns, each its own state change
            try:
                change(campaign)
                changed += 1
            except broadcasts.CampaignStateError as refused:
                self.message_user(request, f"{campaign.name}: {refused}", messages.WARNING)
        self.message_user(request, f"{changed} campaign(s) {done}.")

    @admin.action(description="Schedule (send at the send time)")
    def schedule(self, request, queryset):
        self._change_state(request, queryset, lambda c: broadcasts.campaign_schedule(campaign=c), "scheduled")

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        self._change_state(request, queryset, lambda c: broadcasts.campaign_pause(campaign=c), "paused")

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        self._change_state(request, queryset, lambda c: broadcasts.campaign_resume(campaign=c), "resumed")

    @admin.action(description="Cancel (texts not yet sent are suppressed)")
    def cancel(self, request, queryset):
        now = timezone.now()
        self._change_state(
            request, queryset, lambda c: broadcasts.campaign_cancel(campaign=c, now=now), "cancelled"
        )


@admin.register(Message)
class MessageAdmin(StoreScopedAdmin):
    list_display = [
        "created_at",
        "to",
        "customer",
        "kind",
        "status",
        "reason",
        "error_code",
        "campaign",
        "why",
    ]
    list_filter = ["status", "reason", "kind", "store"]
    search_fields = ["to", "provider_sid", "idempotency_key", "body"]
    list_select_related = ["customer", "campaign"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Why")
    def why(self, message: Message) -> str:
        url = reverse("admin:campaigns_message_why", args=[message.customer_id])
        return format_html('<a href="{}">Why this text?</a>', url)

    def get_urls(self):
        why = self.admin_site.admin_view(self.why_view)
        return [path("why/<int:customer_id>/", why, name="campaigns_message_why"), *super().get_urls()]

    def why_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        customers = Customer.objects.select_related("store").filter(store__in=stores_for(request.user))
        customer = get_object_or_404(customers, pk=customer_id)
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Why this text: {customer}",
            "customer": customer,
            "explained": messages_explained(customer, now=now),
            "missed": campaigns_missed(customer, now=now),
            "consent_records": customer.consent_records.order_by("-occurred_at")[:10],
        }
        return TemplateResponse(request, "admin/campaigns/message/why.html", context)
