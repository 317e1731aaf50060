"""Compose a broadcast on one page: audience, message, when, then review and "Send to N people".

The page asks `broadcasts.compose` for the audience's counts, what the sending policy would do
with each text and the text as the first recipients get it, live as the fields change (the
preview answers JSON), and again on review; only the confirmation stores and schedules it. A
scheduled campaign opens here to be edited or cancelled until it starts.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from campaigns.broadcasts.compose import EDITABLE, Draft, campaign_compose, campaign_forecast
from campaigns.broadcasts.materialize import CampaignStateError
from campaigns.broadcasts.states import campaign_cancel
from campaigns.content.checks import ERROR, broadcast_error, check_template
from campaigns.content.fields import field_chips
from campaigns.content.templating import MAX_BODY_CHARS
from campaigns.models import Campaign, MessageTemplate
from customers.admin.scoping import stores_for
from customers.models import Segment, Store
from customers.segments import InvalidRules

WHEN = [
    ("now", "Now"),
    ("at", "At a time in the store's timezone"),
    ("local", "At the same local time for each recipient"),
]


class ComposeForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none())
    name = forms.CharField(max_length=100, help_text="For you; recipients do not see it.")
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), label="Audience")
    template = forms.ModelChoiceField(
        queryset=MessageTemplate.objects.none(), required=False, label="Start from a saved text"
    )
    body = forms.CharField(
        required=False, max_length=MAX_BODY_CHARS, label="Message",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70, "spellcheck": "true"}),
    )  # fmt: skip
    when = forms.ChoiceField(choices=WHEN, initial="now", widget=forms.RadioSelect)
    at = forms.DateTimeField(
        required=False, label="Date and time", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    local_date = forms.DateField(required=False, label="Day", widget=forms.DateInput(attrs={"type": "date"}))
    local_time = forms.TimeField(
        required=False, label="Local time", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    valid_hours = forms.IntegerField(
        min_value=1, max_value=72, initial=6, label="Still send up to (hours late)",
        help_text="A text that cannot go out within this many hours of its time is dropped, not sent late.",
    )  # fmt: skip

    def __init__(self, *args, stores: QuerySet[Store], now: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["store"].queryset = stores
        self.fields["segment"].queryset = Segment.objects.filter(store__in=stores).order_by("name")
        self.fields["template"].queryset = MessageTemplate.objects.filter(store__in=stores).order_by("name")
        if stores.count() == 1:
            self.fields["store"].initial = stores.first().pk
            self.fields["store"].widget = forms.HiddenInput()

    def clean(self) -> dict:
        data = super().clean()
        store = data.get("store")
        if store is None:
            return data
        for name in ("segment", "template"):
            if data.get(name) is not None and data[name].store_id != store.pk:
                self.add_error(name, f"Choose a {name} of {store}.")
        self._clean_text(data)
        self._clean_when(data, ZoneInfo(store.default_timezone))
        return data

    def _clean_text(self, data: dict) -> None:
        body = (data.get("body") or "").strip() or (data["template"].body if data.get("template") else "")
        if not body:
            self.add_error("body", "Write the message, or start from a saved text.")
            return
        problems = [c.message for c in check_template(body, store=data["store"]) if c.level == ERROR]
        refused = broadcast_error(body)
        if problems or refused:
            self.add_error("body", [*problems, *([refused] if refused else [])])

    def _clean_when(self, data: dict, zone: ZoneInfo) -> None:
        data["local_send_time"] = None
        if data.get("when") == "at":
            if data.get("at") is None:
                self.add_error("at", "Give the date and time.")
                return
            data["send_at"] = timezone.make_naive(data["at"]).replace(tzinfo=zone)
            if data["send_at"] < self.now:
                self.add_error("at", "That time has passed: pick a later one, or send now.")
        elif data.get("when") == "local":
            if data.get("local_date") is None or data.get("local_time") is None:
                self.add_error("local_time", "Give the day and the local time.")
                return
            # From the start of that day in the store's timezone: each recipient gets it at the
            # first such local time after it.
            data["send_at"] = max(datetime.combine(data["local_date"], time(0), tzinfo=zone), self.now)
            data["local_send_time"] = data["local_time"]
        else:
            data["send_at"] = self.now

    def draft(self) -> Draft:
        data = self.cleaned_data
        return Draft(
            store=data["store"], name=data["name"], segment=data["segment"], body=data.get("body") or "",
            template=data.get("template"), send_at=data["send_at"], local_send_time=data["local_send_time"],
            valid_hours=data["valid_hours"],
        )  # fmt: skip


def schedule_words(campaign: Campaign) -> str:
    """When a campaign goes, in the store's own time: "2026-06-02 10:00 (America/New_York)"."""
    zone = campaign.store.default_timezone
    at = f"{timezone.localtime(campaign.send_at, ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"
    if campaign.local_send_time:
        return f"from {at}, at {campaign.local_send_time:%H:%M} in each recipient's own timezone"
    return at


def _one_zone(stores: QuerySet[Store]) -> str:
    zones = set(stores.values_list("default_timezone", flat=True)[:2])
    return zones.pop() if len(zones) == 1 else ""


def _initial(campaign: Campaign) -> dict:
    zone = ZoneInfo(campaign.store.default_timezone)
    local = timezone.localtime(campaign.send_at, zone)
    return {
        "store": campaign.store_id, "name": campaign.name, "segment": campaign.segment_id,
        "template": campaign.template_id, "body": campaign.template.body,
        "when": "local" if campaign.local_send_time else "at", "at": local.replace(tzinfo=None),
        "local_date": local.date(), "local_time": campaign.local_send_time,
        "valid_hours": campaign.valid_hours,
    }  # fmt: skip


class ComposeViews:
    """Mixed into the campaigns' ModelAdmin: the compose page, its live preview and its add link."""

    def compose_view(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        campaign = self._editable(request, pk)
        if pk is not None and campaign is None:
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_progress", args=[pk]))
        if request.method == "POST" and "cancel" in request.POST and campaign is not None:
            campaign_cancel(campaign=campaign, now=timezone.now())
            self.message_user(request, f"“{campaign.name}” is cancelled: nothing of it will be sent.")
            return HttpResponseRedirect(reverse("admin:campaigns_campaign_changelist"))
        form = self._form(request, campaign)
        forecast = None
        if request.method == "POST" and form.is_valid():
            if "confirm" in request.POST:
                return self._confirm(request, form, campaign)
            forecast = self._forecast(form)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Edit “{campaign.name}”" if campaign else "Compose a campaign",
            "form": form,
            "campaign": campaign,
            "forecast": forecast,
            "fields": field_chips(),
            "zone": _one_zone(form.fields["store"].queryset),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/campaigns/campaign/compose.html", context)

    def compose_preview_view(self, request: HttpRequest) -> JsonResponse:
        """What the page shows as it is filled in: counts, the policy's forecast, sample texts."""
        if request.method != "POST":
            return JsonResponse({"errors": [{"field": "method", "message": "Use POST."}]}, status=405)
        form = self._form(request, None)
        if not form.is_valid():
            errors = [{"field": f, "message": " ".join(m)} for f, m in form.errors.items()]
            partial = self._forecast(form, partial=True)
            return JsonResponse({"errors": errors, **(partial or {})}, status=200)
        return JsonResponse(self._forecast(form).as_dict())

    def _form(self, request: HttpRequest, campaign: Campaign | None) -> ComposeForm:
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        initial = _initial(campaign) if campaign else {}
        return ComposeForm(data, initial=initial, stores=stores_for(request.user), now=timezone.now())

    def _forecast(self, form: ComposeForm, partial: bool = False):
        try:
            if partial:
                return self._audience_only(form)
            return campaign_forecast(draft=form.draft(), now=timezone.now())
        except InvalidRules as exc:
            form.add_error("segment", f"The segment's rules cannot be evaluated: {exc}")
            return None

    def _audience_only(self, form: ComposeForm) -> dict | None:
        """While the message is not written yet, the audience alone is still counted."""
        data = getattr(form, "cleaned_data", {})
        if data.get("store") is None or data.get("segment") is None:
            return None
        draft = Draft(store=data["store"], name="", segment=data["segment"], body="", send_at=form.now)
        return campaign_forecast(draft=draft, now=form.now).as_dict()

    def _confirm(self, request: HttpRequest, form: ComposeForm, campaign: Campaign | None) -> HttpResponse:
        try:
            campaign = campaign_compose(draft=form.draft(), now=timezone.now(), campaign=campaign)
        except CampaignStateError as refused:
            self.message_user(request, str(refused), messages.ERROR)
            return HttpResponseRedirect(request.path)
        self.message_user(
            request, f"“{campaign.name}” is scheduled: {schedule_words(campaign)}. It can be edited or "
            "cancelled until it starts."
        )
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_progress", args=[campaign.pk]))

    def _editable(self, request: HttpRequest, pk: int | None) -> Campaign | None:
        if pk is None:
            return None
        campaign = get_object_or_404(self.get_queryset(request).select_related("store", "template"), pk=pk)
        started = campaign.status not in EDITABLE or campaign.materialized_at is not None
        return None if started else campaign
