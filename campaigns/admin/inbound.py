"""Admin for keywords, the inbox, broadcast campaigns, the outbox list and "Why this text"."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator

from campaigns.admin.campaign_forms import CampaignForm
from campaigns.admin.compose import ComposeViews
from campaigns.admin.conversation_forms import AssignForm, ReplyForm
from campaigns.broadcasts import materialize, states
from campaigns.broadcasts.compose import EDITABLE
from campaigns.glossary import provider_error_words, reason_words
from campaigns.inbound import conversations
from campaigns.inbound.keywords import inbound_mark_handled, keyword_word_clean
from campaigns.models import Campaign, Conversation, Flow, InboundMessage, Keyword, Message, Reason
from campaigns.sending.why import campaigns_missed, messages_explained
from customers.admin.defaults import OneStorePreselected
from customers.admin.lists import FastListMixin
from customers.admin.scoping import StoreScopedAdmin, stores_for
from customers.models import Customer
from customers.phones import InvalidPhone, phone_normalize
from customers.segments import InvalidRules, members, reach


class KeywordForm(forms.ModelForm):
    class Meta:
        model = Keyword
        fields = ["store", "word", "action", "reply", "active"]

    def clean_word(self) -> str:
        return keyword_word_clean(self.cleaned_data["word"])


@admin.register(Keyword)
class KeywordAdmin(OneStorePreselected, StoreScopedAdmin):
    form = KeywordForm
    list_display = ["word", "action", "reply", "active", "store"]
    list_filter = ["action", "active", "store"]
    search_fields = ["word", "reply"]
    list_select_related = ["store"]


@admin.register(InboundMessage)
class InboundMessageAdmin(StoreScopedAdmin):
    list_display = [
        "received_at",
        "from_number",
        "customer",
        "body",
        "outcome",
        "keyword",
        "handled",
        "thread",
    ]
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

    @admin.display(description="Conversation")
    def thread(self, text: InboundMessage) -> str:
        if not text.customer_id:
            return "—"
        url = reverse("admin:campaigns_inboundmessage_thread", args=[text.customer_id])
        return format_html('<a href="{}">Open</a>', url)

    def get_urls(self):
        inbox = self.admin_site.admin_view(self.inbox_view)
        thread = self.admin_site.admin_view(self.thread_view)
        return [
            path("inbox/", inbox, name="campaigns_inboundmessage_inbox"),
            path("inbox/<int:customer_id>/", thread, name="campaigns_inboundmessage_thread"),
            *super().get_urls(),
        ]

    def inbox_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        stores = stores_for(request.user).order_by("brand_name")
        wanted = request.GET.get("store", "")
        chosen = stores.filter(pk=wanted) if wanted.isascii() and wanted.isdigit() else stores
        state = request.GET.get("state", "open")
        rows = conversations.threads(stores=chosen, state=state)
        if request.GET.get("assigned") == "me":
            rows = rows.filter(conversation__assigned_to=request.user)
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Inbox",
            "page": page,
            "stores": stores,
            "store": request.GET.get("store", ""),
            "state": state,
            "assigned": request.GET.get("assigned", ""),
        }
        return TemplateResponse(request, "admin/campaigns/inbox/list.html", context)

    def thread_view(self, request: HttpRequest, customer_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        customer = get_object_or_404(
            Customer.objects.filter(store__in=stores_for(request.user)).select_related("store"),
            pk=customer_id,
        )
        reply_form = ReplyForm()
        assign_form = AssignForm(users=self._staff_of(customer), initial=self._assigned(customer))
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            answered = self._act(request, customer)
            if isinstance(answered, HttpResponse):
                return answered
            reply_form = answered
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Conversation with {customer.first_name or customer.phone}",
            "customer": customer,
            "entries": conversations.thread_entries(customer),
            "open_count": conversations.open_texts(stores_for(request.user))
            .filter(customer=customer)
            .count(),
            "reply_kind": conversations.reply_kind(customer=customer, now=timezone.now()),
            "reply_form": reply_form,
            "assign_form": assign_form,
            "can_reply": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/campaigns/inbox/thread.html", context)

    def _act(self, request: HttpRequest, customer: Customer) -> HttpResponse | ReplyForm:
        """Carry out the posted action; a reply that does not validate comes back with its errors."""
        now = timezone.now()
        action = request.POST.get("action")
        if action == "reply":
            form = ReplyForm(request.POST)
            if not form.is_valid():
                return form
            sent = conversations.conversation_reply(
                customer=customer,
                body=form.cleaned_data["body"],
                user=request.user,
                nonce=str(form.cleaned_data["nonce"]),
                now=now,
            )
            self._report(request, sent)
        elif action == "assign":
            form = AssignForm(request.POST, users=self._staff_of(customer))
            if form.is_valid():
                conversations.conversation_assign(
                    customer=customer, user=form.cleaned_data["assigned_to"], now=now
                )
                self.message_user(request, "Assignment saved.")
        elif action == "handled":
            conversations.conversation_mark_handled(customer=customer, user=request.user, now=now)
            self.message_user(request, "Conversation marked handled.")
        elif action == "reopen":
            conversations.conversation_reopen(customer=customer)
            self.message_user(request, "Conversation reopened.")
        return HttpResponseRedirect(request.path)

    def _report(self, request: HttpRequest, sent: Message) -> None:
        if sent.status == Message.Status.SUPPRESSED:
            self.message_user(
                request,
                f"{reason_words(sent.reason)} (see “Why this text?”)",
                messages.WARNING,
            )
        elif sent.status == Message.Status.HELD:
            when = date_format(timezone.localtime(sent.send_after), "DATETIME_FORMAT")
            self.message_user(request, f"Reply held until {when}. {reason_words(sent.reason)}")
        else:
            self.message_user(request, "Reply sent.")

    def _staff_of(self, customer: Customer) -> QuerySet:
        users = get_user_model().objects.filter(is_active=True, is_staff=True)
        return (
            users.filter(Q(is_superuser=True) | Q(stores=customer.store_id)).distinct().order_by("username")
        )

    def _assigned(self, customer: Customer) -> dict[str, object]:
        assigned = Conversation.objects.filter(customer=customer).values_list("assigned_to_id", flat=True)
        return {"assigned_to": assigned.first()}


WAITING = Q(messages__status__in=Message.WAITING)
# A campaign in these states may still change its numbers: its progress page keeps polling.
LIVE = {Campaign.Status.SCHEDULED, Campaign.Status.SENDING, Campaign.Status.PAUSED}


@admin.register(Campaign)
class CampaignAdmin(ComposeViews, OneStorePreselected, StoreScopedAdmin):
    form = CampaignForm
    list_display = ["name", "store", "status", "when", "recipients_count", "progress", "edit"]
    list_filter = ["status", "store"]
    search_fields = ["name", "slug"]
    list_select_related = ["store"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = [
        "audience",
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
        "at_best_hour",
        "valid_hours",
        "offer",
        *readonly_fields,
    ]
    actions = ["schedule", "pause", "resume", "cancel"]
    locked_once_scheduled = ["store", "template", "segment", "send_at", "local_send_time", "at_best_hour"]

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

    @admin.display(description="Audience now")
    def audience(self, campaign: Campaign) -> str:
        """The segment as counted now: everyone in it, and how many a marketing text can reach."""
        if campaign.segment_id is None:
            return "— (save with a segment to count it)"
        try:
            return str(reach(members(campaign.segment, now=timezone.now())))
        except InvalidRules as error:
            return f"Cannot be counted: {error}"

    @admin.display(description="Send at", ordering="send_at")
    def when(self, campaign: Campaign) -> str:
        at = date_format(timezone.localtime(campaign.send_at), "DATETIME_FORMAT") if campaign.send_at else "—"
        if campaign.local_send_time:
            return format_html(
                "{}<br><small>then {} local time</small>", at, campaign.local_send_time.strftime("%H:%M")
            )
        return at

    @admin.display(description="Progress")
    def progress(self, campaign: Campaign) -> str:
        if not campaign.materialized_at:
            return "—"
        url = reverse("admin:campaigns_campaign_progress", args=[campaign.pk])
        done = campaign.total - campaign.waiting
        return format_html('<a href="{}">{} of {} handled</a>', url, done, campaign.total)

    @admin.display(description="")
    def edit(self, campaign: Campaign) -> str:
        if campaign.status not in EDITABLE or campaign.materialized_at:
            return "—"
        url = reverse("admin:campaigns_campaign_compose_edit", args=[campaign.pk])
        return format_html('<a href="{}">Edit or cancel</a>', url)

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None):
        if request.method == "GET":  # new campaigns are composed on one page
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_compose"))
        return super().add_view(request, form_url, extra_context)

    @admin.display(description="Provider")
    def provider(self, campaign: Campaign) -> str:
        since = states.provider_unavailable_since(campaign) if campaign.pk else None
        if not since:
            return "answering"
        return f"provider unavailable since {date_format(timezone.localtime(since), 'DATETIME_FORMAT')}"

    @admin.display(description="Progress page")
    def progress_link(self, campaign: Campaign) -> str:
        if not campaign.pk:
            return "—"
        return format_html(
            '<a href="{}">Open progress</a>', reverse("admin:campaigns_campaign_progress", args=[campaign.pk])
        )

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        progress_json = self.admin_site.admin_view(self.progress_json_view)
        compose = self.admin_site.admin_view(self.compose_view)
        return [
            path("compose/", compose, name="campaigns_campaign_compose"),
            path("<int:pk>/compose/", compose, name="campaigns_campaign_compose_edit"),
            path(
                "compose/preview.json",
                self.admin_site.admin_view(self.compose_preview_view),
                name="campaigns_campaign_compose_preview",
            ),
            path("<int:pk>/progress/", progress, name="campaigns_campaign_progress"),
            path("<int:pk>/progress.json", progress_json, name="campaigns_campaign_progress_json"),
            *super().get_urls(),
        ]

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        campaign = get_object_or_404(self.get_queryset(request).select_related("segment", "template"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Progress: {campaign.name}",
            "campaign": campaign,
            "progress": states.campaign_progress(campaign),
            "live": campaign.status in LIVE,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/progress.html", context)

    def progress_json_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """What the progress page polls while the campaign is under way."""
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        progress = states.campaign_progress(campaign)
        return JsonResponse(
            {
                "status": campaign.status,
                "status_label": campaign.get_status_display(),
                "live": campaign.status in LIVE,
                "materialized": progress.materialized,
                "percent_done": progress.percent_done,
                "bars": [
                    {"label": label, "css": css, "count": count, "percent": percent}
                    for label, css, count, percent in progress.bars
                ],
                "stages": progress.stages,
                "suppressed_by_reason": {
                    reason_words(reason): n for reason, n in progress.suppressed_by_reason.items()
                },
            }
        )

    def _change_state(self, request, queryset, change, done: str) -> None:
        changed = 0
        for campaign in queryset:  # a handful of campaigns, each its own state change
            try:
                change(campaign)
                changed += 1
            except materialize.CampaignStateError as refused:
                self.message_user(request, f"{campaign.name}: {refused}", messages.WARNING)
        self.message_user(request, f"{changed} campaign(s) {done}.")

    @admin.action(description="Schedule (send at the send time)")
    def schedule(self, request, queryset):
        self._change_state(request, queryset, lambda c: states.campaign_schedule(campaign=c), "scheduled")

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        self._change_state(request, queryset, lambda c: states.campaign_pause(campaign=c), "paused")

    @admin.action(description="Resume")
    def resume(self, request, queryset):
        self._change_state(request, queryset, lambda c: states.campaign_resume(campaign=c), "resumed")

    @admin.action(description="Cancel (texts not yet sent are suppressed)")
    def cancel(self, request, queryset):
        now = timezone.now()
        self._change_state(
            request, queryset, lambda c: states.campaign_cancel(campaign=c, now=now), "cancelled"
        )


class CampaignFilter(admin.SimpleListFilter):
    """Campaigns of the user's stores only."""

    title = "campaign"
    parameter_name = "campaign__id__exact"

    def lookups(self, request, model_admin):
        campaigns = Campaign.objects.filter(store__in=stores_for(request.user)).order_by("-send_at")
        return [(str(pk), name) for pk, name in campaigns.values_list("pk", "name")[:50]]

    def queryset(self, request, queryset):
        return queryset.filter(campaign_id=self.value()) if self.value() else queryset


class ReasonFilter(admin.SimpleListFilter):
    """The reasons a text can carry, from the policy's list rather than from every text."""

    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return [(r.value, r.label) for r in Reason if r != Reason.OK]

    def queryset(self, request, queryset):
        return queryset.filter(reason=self.value()) if self.value() else queryset


class FlowFilter(admin.SimpleListFilter):
    """Flows of the user's stores only."""

    title = "flow"
    parameter_name = "flow"

    def lookups(self, request, model_admin):
        flows = Flow.objects.filter(store__in=stores_for(request.user)).order_by("name")
        return [(str(pk), name) for pk, name in flows.values_list("pk", "name")]

    def queryset(self, request, queryset):
        return queryset.filter(flow_run__flow_id=self.value()) if self.value() else queryset


@admin.register(Message)
class MessageAdmin(FastListMixin, StoreScopedAdmin):
    """Newest first (the primary key's order); filters whose choices are fixed or come from small
    tables; a count that says "about" past ten thousand."""

    list_display = ["created_at", "recipient", "preview", "source", "status_and_reason", "why"]
    list_filter = ["store", "status", "kind", CampaignFilter, FlowFilter, ReasonFilter, "created_at"]
    search_fields = ["to", "provider_sid", "idempotency_key"]
    search_help_text = "A phone number in E.164 (+14155550100), a provider SID or a text's key."
    list_select_related = ["customer", "campaign", "flow_run__flow"]
    ordering = ["-pk"]

    def get_search_results(self, request, queryset, search_term):
        """Whole values, each found by its index: a number, a provider SID, a key."""
        term = search_term.strip()
        if not term:
            return queryset, False
        found = Q(provider_sid=term) | Q(idempotency_key=term)
        try:
            mine = Customer.objects.filter(store__in=stores_for(request.user), phone=phone_normalize(term))
            found |= Q(customer__in=mine)
        except InvalidPhone:
            pass
        return queryset.filter(found), False

    @admin.display(description="To", ordering="to")
    def recipient(self, message: Message) -> str:
        return format_html("{}<br><small>{}</small>", message.customer.first_name or "—", message.to)

    @admin.display(description="Text")
    def preview(self, message: Message) -> str:
        return format_html('<span title="{}">{}</span>', message.body, Truncator(message.body).chars(80))

    @admin.display(description="From")
    def source(self, message: Message) -> str:
        if message.campaign_id:
            url = reverse("admin:campaigns_campaign_change", args=[message.campaign_id])
            return format_html('Campaign <a href="{}">{}</a>', url, message.campaign.name)
        if message.flow_run_id:
            url = reverse("admin:campaigns_flow_change", args=[message.flow_run.flow_id])
            return format_html('Flow <a href="{}">{}</a>', url, message.flow_run.flow.name)
        return message.get_kind_display()

    @admin.display(description="Status", ordering="status")
    def status_and_reason(self, message: Message) -> str:
        detail = " ".join(
            filter(None, [reason_words(message.reason), provider_error_words(message.error_code)])
        )
        return format_html("{}<br><small>{}</small>", message.get_status_display(), detail)

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
