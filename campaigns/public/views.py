"""Public pages: the store's signup page and each subscriber's preference page."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from campaigns.inbound.preferences import customer_opt_out_from_page
from campaigns.inbound.signup import customer_signup_request
from campaigns.public.forms import PreferencesForm, SignupForm, opt_out_label, restart_hint, signup_disclosure
from campaigns.public.throttle import Rate, client_ip, rate_hit, too_many_requests
from customers.ingest.customers import customer_for_phone
from customers.ingest.events import customer_preferences_update
from customers.models import Customer, Store


def _client(request: HttpRequest) -> tuple[str | None, str]:
    return request.META.get("REMOTE_ADDR") or None, request.headers.get("User-Agent", "")


def not_found(request: HttpRequest) -> HttpResponse:
    """A plain page for a wrong address, whatever DEBUG says: subscribers see no stack traces."""
    return render(request, "campaigns/not_found.html", status=404)


def _limited(scope: str, key: str, rate: tuple[int, int], now: datetime) -> int | None:
    return rate_hit(scope=scope, key=key, rate=Rate(*rate), now=now)


def signup(request: HttpRequest, slug: str) -> HttpResponse:
    store = Store.objects.filter(slug=slug).first()
    if store is None:
        return not_found(request)
    now = timezone.now()
    if request.method == "POST":
        # Each sign-up can text a number: one address cannot text many, nor anyone one number often.
        wait = _limited("signup-ip", client_ip(request), settings.RATE_LIMIT_SIGNUP_PER_IP, now)
        if wait:
            return too_many_requests(request, wait)
    form = SignupForm(request.POST or None, store=store)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        wait = _limited("signup-number", phone, settings.RATE_LIMIT_SIGNUP_PER_NUMBER, now)
        if wait:
            return too_many_requests(request, wait)
        ip, user_agent = _client(request)
        with transaction.atomic():
            customer = customer_for_phone(
                store=store, phone=form.cleaned_data["phone"], first_name=form.cleaned_data["first_name"]
            )
            customer_signup_request(
                customer=customer,
                source="signup_page",
                wording=signup_disclosure(store),
                now=now,
                ip=ip,
                user_agent=user_agent,
            )
        return redirect("public:signup_sent", slug=store.slug)
    return render(request, "campaigns/signup.html", {"store": store, "form": form})


def signup_sent(request: HttpRequest, slug: str) -> HttpResponse:
    store = Store.objects.filter(slug=slug).first()
    if store is None:
        return not_found(request)
    return render(request, "campaigns/signup_sent.html", {"store": store})


def _initial(customer: Customer) -> dict[str, object]:
    return {
        "topics": customer.topics,
        "categories": customer.favorite_categories,
        "frequency": customer.frequency,
    }


def _save_preferences(request: HttpRequest, customer: Customer, data: dict, now: datetime) -> str:
    ip, user_agent = _client(request)
    with transaction.atomic():
        customer_preferences_update(
            customer=customer,
            topics=data["topics"],
            categories=data.get("categories", customer.favorite_categories),
            frequency=data["frequency"],
            source="preference_page",
            now=now,
        )
        if data.get("opt_out"):
            wording = opt_out_label(customer.store)
            customer_opt_out_from_page(
                customer=customer, wording=wording, now=now, ip=ip, user_agent=user_agent
            )
            return "You're unsubscribed: we won't text you again."
    return "Your choices are saved."


def preferences(request: HttpRequest, token: str) -> HttpResponse:
    now = timezone.now()
    # Every request counts against the address, so guessing tokens is as slow as saving choices.
    wait = _limited("prefs-ip", client_ip(request), settings.RATE_LIMIT_PREFS_PER_IP, now)
    if wait:
        return too_many_requests(request, wait)
    customer = Customer.objects.select_related("store").filter(prefs_token=token).first()
    if customer is None:
        return not_found(request)
    if request.method == "POST":
        wait = _limited("prefs-number", customer.phone, settings.RATE_LIMIT_PREFS_PER_NUMBER, now)
        if wait:
            return too_many_requests(request, wait)
    form = PreferencesForm(request.POST or None, customer=customer, initial=_initial(customer))
    if request.method == "POST" and form.is_valid():
        messages.success(request, _save_preferences(request, customer, form.cleaned_data, now))
        return redirect("public:preferences", token=token)
    context = {"store": customer.store, "customer": customer, "form": form,
               "restart_hint": restart_hint(customer.store)}
    return render(request, "campaigns/preferences.html", context)
