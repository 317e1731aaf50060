"""Staff's view of customers (the customer page), CSV imports and the consent ledger.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from import_export.admin import ImportMixin
from import_export.results import Result

from customers.admin.lists import FastListMixin, sampled_values_filter
from customers.admin.privacy import CustomerPrivacyMixin
from customers.admin.profile import engagement_tier, event_name
from customers.admin.scoping import StoreScopedAdmin, stores_for
from customers.admin.stores import CONSENT_SHOWN, EVENTS_PER_PAGE
from customers.admin.widgets import KeyValueWidget
from customers.ingest.consent import consent_change
from customers.ingest.csv_import import import_job_create, import_job_progress, import_jobs_fail_abandoned
from customers.ingest.csv_rows import (
    CustomerConfirmImportForm,
    CustomerImportForm,
    CustomerResource,
    import_runs_in_background,
)
from customers.ingest.customers import TIMEZONES
from customers.ingest.schemas import TOPICS
from customers.models import (
    Category,
    ConsentRecord,
    Customer,
    Event,
    ImportJob,
)
from customers.phones import InvalidPhone, phone_facts, phone_normalize
from customers.search import customer_search

# --- customers --------------------------------------------------------------------------------


class CustomerForm(forms.ModelForm):
    timezone = forms.CharField(
        required=False, help_text="IANA name; left blank, it is inferred from the number."
    )
    topics = forms.MultipleChoiceField(
        choices=[(t, t.capitalize()) for t in TOPICS], required=False, widget=forms.CheckboxSelectMultiple
    )
    favorite_categories = forms.MultipleChoiceField(
        label="Favourite categories", required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Customer
        fields = (
            "store",
            "phone",
            "external_id",
            "first_name",
            "last_name",
            "email",
            "birthday",
            "city",
            "region",
            "language",
            "timezone",
            "preferred_store",
            "topics",
            "favorite_categories",
            "frequency",
            "loyalty_status",
            "reward_balance",
            "reward_points",
            "attributes",
        )
        widgets = {"attributes": KeyValueWidget}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        store_id = self.instance.store_id if self.instance.pk else None
        names = Category.objects.filter(store_id=store_id).order_by("name").values_list("name", flat=True)
        chosen = self.instance.favorite_categories or []
        # Names stored before a category was renamed or removed stay visible and can be unticked.
        kept = sorted(set(chosen) - set(names))
        self.fields["favorite_categories"].choices = [(n, n) for n in [*names, *kept]]
        if not store_id:
            self.fields["favorite_categories"].help_text = "The store's categories show once it is saved."

    def clean_phone(self) -> str:
        try:
            return phone_normalize(self.cleaned_data["phone"])
        except InvalidPhone as exc:
            raise forms.ValidationError(f"This {exc}.") from exc

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if value and value not in TIMEZONES:
            raise forms.ValidationError("Not an IANA timezone, e.g. America/New_York.")
        return value


@admin.register(Customer)
class CustomerAdmin(CustomerPrivacyMixin, FastListMixin, ImportMixin, StoreScopedAdmin):
    form = CustomerForm
    resource_classes = [CustomerResource]
    import_form_class = CustomerImportForm
    confirm_form_class = CustomerConfirmImportForm
    import_template_name = "admin/customers/customer/import.html"
    list_display = (
        "name_and_phone",
        "store",
        "sms_consent",
        "order_count",
        "total_spent",
        "last_order",
        "last_click",
        "timezone",
    )
    list_filter = (
        "store",
        "sms_consent",
        sampled_values_filter("loyalty_status", "loyalty status"),
        sampled_values_filter("region", "state"),
        sampled_values_filter("timezone", "timezone"),
        "timezone_source",
    )
    search_fields = ("phone", "first_name", "last_name", "external_id", "email")
    search_help_text = "Part of a phone number, a name, an external id or an email; or a whole phone number."
    list_select_related = ("store",)
    sortable_by = None  # sorting by a column is asked for; the default order (newest first) is indexed
    ordering = ("-pk",)
    readonly_fields = (
        "sms_consent",
        "sms_consent_at",
        "timezone_source",
        "order_count",
        "total_spent",
        "average_order_value",
        "discount_order_count",
        "discount_order_share",
        "first_order_at",
        "last_order_at",
        "last_sms_click_at",
        "predicted_next_order_at",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("store", "phone", "external_id", "first_name", "last_name", "email", "birthday")}),
        (
            "Where",
            {"fields": ("city", "region", "language", "timezone", "timezone_source", "preferred_store")},
        ),
        ("SMS consent (changed through the consent ledger)", {"fields": ("sms_consent", "sms_consent_at")}),
        (
            "Preferences and loyalty",
            {
                "fields": (
                    "topics",
                    "favorite_categories",
                    "frequency",
                    "loyalty_status",
                    "reward_balance",
                    "reward_points",
                    "attributes",
                )
            },
        ),
        (
            "Metrics (kept current by ingestion)",
            {
                "fields": (
                    "order_count",
                    "total_spent",
                    "average_order_value",
                    "discount_order_count",
                    "discount_order_share",
                    "first_order_at",
                    "last_order_at",
                    "predicted_next_order_at",
                    "last_sms_click_at",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="customer", ordering="first_name")
    def name_and_phone(self, customer: Customer) -> str:
        name = f"{customer.first_name} {customer.last_name}".strip()
        return format_html("{}<br><small>{}</small>", name or "—", customer.phone)

    @admin.display(description="last order", ordering="last_order_at")
    def last_order(self, customer: Customer) -> str:
        return _day(customer.last_order_at)

    @admin.display(description="last click", ordering="last_sms_click_at")
    def last_click(self, customer: Customer) -> str:
        return _day(customer.last_sms_click_at)

    def get_search_results(self, request, queryset, search_term):
        return customer_search(queryset, search_term), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        if customer is not None:
            extra_context = {**(extra_context or {}), **self._profile(request, customer)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _profile(self, request, customer: Customer) -> dict[str, object]:
        """The page's header, consent history and event timeline (texts and replies: campaigns)."""
        events = customer.events.select_related("product").order_by("-occurred_at", "-pk")
        page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("events_page"))
        consent = customer.consent_records.order_by("-occurred_at", "-pk")
        return {
            "store_timezone": customer.store.default_timezone,
            "tier": engagement_tier(customer, now=timezone.now()),
            "consent_records": consent[:CONSENT_SHOWN],
            "consent_total": consent.count(),
            "events_page": page,
            "event_rows": [(e, event_name(e.type), _summary(e)) for e in page.object_list],
        }

    def save_model(self, request, obj: Customer, form, change) -> None:
        if "timezone" in form.changed_data and obj.timezone:
            obj.timezone_source = Customer.TimezoneSource.GIVEN
        if not obj.timezone:
            inferred = phone_facts(obj.phone).timezone
            obj.timezone = inferred or obj.store.default_timezone
            obj.timezone_source = Customer.TimezoneSource.PHONE if inferred else Customer.TimezoneSource.STORE
        if not obj.region:
            obj.region = phone_facts(obj.phone).region
        super().save_model(request, obj, form, change)

    def get_import_form_kwargs(self, request):
        return {**super().get_import_form_kwargs(request), "stores": stores_for(request.user)}

    def get_confirm_form_kwargs(self, request, import_form=None):
        return {**super().get_confirm_form_kwargs(request, import_form), "stores": stores_for(request.user)}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["store"] = import_form.cleaned_data["store"].pk
        return initial

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        store = getattr(form, "cleaned_data", {}).get("store") if form is not None else None
        return {**super().get_import_resource_kwargs(request, **kwargs), "store": store}

    def process_dataset(self, dataset, form, request, **kwargs):
        if not import_runs_in_background(rows=len(dataset)):
            return super().process_dataset(dataset, form, request, **kwargs)
        result = Result()
        result.import_job = import_job_create(
            store=form.cleaned_data["store"],
            user=request.user,
            file_name=form.cleaned_data.get("original_file_name") or "import.csv",
            dataset=dataset,
            now=timezone.now(),
        )
        return result

    def process_result(self, result, request):
        job = getattr(result, "import_job", None)
        if job is None:
            return super().process_result(result, request)
        self.message_user(request, f"{job.rows_total} rows queued: the import runs in the background.")
        return HttpResponseRedirect(reverse("admin:customers_importjob_progress", args=[job.pk]))


@admin.register(ImportJob)
class ImportJobAdmin(StoreScopedAdmin):
    """Large CSV imports: each one's state and a page that follows it live."""

    list_display = ("file_name", "store", "status", "progress", "created_count", "updated_count")
    list_filter = ("store", "status")
    list_select_related = ("store", "user")
    exclude = ("content",)
    readonly_fields = (
        "store", "user", "file_name", "status", "phase", "rows_total", "rows_processed",
        "created_count", "updated_count", "error", "created_at", "started_at", "finished_at",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False  # a job starts from the customer import

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, job: ImportJob) -> str:
        url = reverse("admin:customers_importjob_progress", args=[job.pk])
        return format_html('<a href="{}">{} of {} rows</a>', url, job.rows_processed, job.rows_total)

    def get_urls(self):
        progress = self.admin_site.admin_view(self.progress_view)
        progress_json = self.admin_site.admin_view(self.progress_json_view)
        return [
            path("<int:pk>/progress/", progress, name="customers_importjob_progress"),
            path("<int:pk>/progress.json", progress_json, name="customers_importjob_progress_json"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        import_jobs_fail_abandoned(now=timezone.now())
        return super().changelist_view(request, extra_context)

    def progress_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        import_jobs_fail_abandoned(now=timezone.now())
        job = get_object_or_404(self.get_queryset(request).select_related("store"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Import: {job.file_name}",
            "job": job,
            "progress": import_job_progress(job),
        }
        return TemplateResponse(request, "admin/customers/importjob/progress.html", context)

    def progress_json_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """What the progress page polls while the import is queued or running."""
        import_jobs_fail_abandoned(now=timezone.now())
        job = get_object_or_404(self.get_queryset(request), pk=pk)
        return JsonResponse(import_job_progress(job))


def _day(moment) -> str:
    return date_format(timezone.localtime(moment), "DATE_FORMAT") if moment else "—"


def _summary(event: Event) -> str:
    properties = event.properties or {}
    keys = ("order_id", "total", "discount_code", "cart_id", "checkout_id", "balance", "topics", "url")
    parts = [f"{k}: {properties[k]}" for k in keys if k in properties]
    if "items" in properties:
        parts.append(f"{len(properties['items'])} item(s)")
    return ", ".join(str(p) for p in parts)[:200]


# --- consent ----------------------------------------------------------------------------------


class ConsentRecordForm(forms.ModelForm):
    class Meta:
        model = ConsentRecord
        fields = ("customer", "action", "source", "wording", "keyword", "occurred_at")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(StoreScopedAdmin):
    """Append-only: staff may add a record (with its evidence); nobody edits or deletes one."""

    form = ConsentRecordForm
    list_display = ("occurred_at", "customer", "action", "source", "keyword", "store")
    list_filter = ("store", "action", "source")
    search_fields = (
        "customer__phone",
        "customer__first_name",
        "customer__last_name",
        "customer__external_id",
    )
    list_select_related = ("customer", "store")
    autocomplete_fields = ("customer",)
    date_hierarchy = "occurred_at"

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "customer",
            "action",
            "source",
            "wording",
            "keyword",
            "ip_address",
            "user_agent",
            "occurred_at",
            "recorded_at",
            "store",
        )

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or ConsentRecordForm.Meta.fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: ConsentRecord, form, change) -> None:
        record = consent_change(
            customer=obj.customer,
            action=obj.action,
            source=obj.source,
            occurred_at=obj.occurred_at,
            wording=obj.wording,
            keyword=obj.keyword,
        )
        obj.pk, obj.store_id, obj.recorded_at = record.pk, record.store_id, record.recorded_at
