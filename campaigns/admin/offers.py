"""Offers: unique single-use codes per recipient, their pools, and what each offer brought in
(codes given, created, redeemed, and the revenue of the orders that used them)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, Sum

from campaigns.content.offers import offer_pool_add
from campaigns.models import Offer, OfferCode
from customers.admin.scoping import StoreListFilter, StoreScopedAdmin
from customers.admin.stores import ReadOnlyMixin

S = OfferCode.Status


class OfferForm(forms.ModelForm):
    pool = forms.CharField(
        label="Add codes to the pool",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="For a pool: one code per line, made in a shop the app does not reach; each is given once.",
    )

    class Meta:
        model = Offer
        fields = [
            "store",
            "name",
            "source",
            "value_type",
            "value",
            "minimum_subtotal",
            "expires_hours",
            "code_prefix",
        ]


@admin.register(Offer)
class OfferAdmin(StoreScopedAdmin):
    form = OfferForm
    list_display = (
        "name",
        "store",
        "source",
        "terms",
        "given",
        "issued",
        "refused",
        "redeemed",
        "revenue",
        "left",
    )
    list_filter = (StoreListFilter, "source")
    list_select_related = ("store",)
    search_fields = ("name",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_given=Count("codes", filter=~Q(codes__status=S.AVAILABLE)),
                n_issued=Count("codes", filter=Q(codes__status=S.ISSUED)),
                n_refused=Count("codes", filter=Q(codes__status=S.REFUSED)),
                n_redeemed=Count("codes", filter=Q(codes__redeemed_at__isnull=False)),
                n_left=Count("codes", filter=Q(codes__status=S.AVAILABLE)),
                n_revenue=Sum("codes__revenue"),
            )
        )

    @admin.display(description="terms")
    def terms(self, offer: Offer) -> str:
        return offer.describe()

    @admin.display(description="codes given", ordering="n_given")
    def given(self, offer: Offer) -> int:
        return offer.n_given

    @admin.display(description="in the shop", ordering="n_issued")
    def issued(self, offer: Offer) -> int:
        return offer.n_issued

    @admin.display(description="refused", ordering="n_refused")
    def refused(self, offer: Offer) -> int:
        return offer.n_refused

    @admin.display(description="redeemed", ordering="n_redeemed")
    def redeemed(self, offer: Offer) -> int:
        return offer.n_redeemed

    @admin.display(description="revenue", ordering="n_revenue")
    def revenue(self, offer: Offer) -> str:
        return f"{offer.n_revenue or 0:,.2f} {offer.store.currency}"

    @admin.display(description="pool left", ordering="n_left")
    def left(self, offer: Offer) -> str:
        return str(offer.n_left) if offer.source == Offer.Source.POOL else "—"

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        codes = form.cleaned_data.get("pool", "").splitlines()
        if codes:
            added = offer_pool_add(offer=obj, codes=codes)
            messages.info(request, f"{added} codes added to the pool.")


@admin.register(OfferCode)
class OfferCodeAdmin(ReadOnlyMixin, StoreScopedAdmin):
    list_display = (
        "code",
        "offer",
        "status",
        "customer",
        "issued_at",
        "expires_at",
        "redeemed_at",
        "revenue",
        "error",
    )
    list_filter = ("status", "offer")
    list_select_related = ("offer", "customer")
    search_fields = ("code", "message_key")
