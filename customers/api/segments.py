"""JSON API for segments: the list with counts, members page by page, and one customer's explanation."""

from __future__ import annotations

import math
from datetime import datetime

from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from customers.api.auth import api_key_authenticate
from customers.ingest.schemas import UNCLEAN_MESSAGE, is_clean_text
from customers.models import Customer, Segment, Store
from customers.segments import InvalidRules, members, members_count
from customers.segments.counts import Counts, counts_shown
from customers.segments.explain import explain
from customers.segments.membership import reads_stored, stored_members
from customers.segments.schema import MAX_YEAR, MIN_YEAR
from customers.segments.summary import summarize

PAGE_SIZE, MAX_PAGE_SIZE = 50, 500


def error(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def api_store(request: HttpRequest) -> Store | None:
    """The store whose (unrevoked) key is in `Authorization: Bearer <key>`."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    api_key = api_key_authenticate(raw=raw.strip(), now=timezone.now())
    return api_key.store if api_key else None


def with_store(view):
    def wrapped(request: HttpRequest, *args, **kwargs):
        store = api_store(request)
        if store is None:
            return error(401, "Authorization", "Send a valid API key as 'Authorization: Bearer <key>'.")
        return view(request, store, *args, **kwargs)

    wrapped.__name__ = view.__name__
    return require_GET(wrapped)


def customer_json(customer: Customer) -> dict:
    return {
        "id": customer.pk,
        "external_id": customer.external_id,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "city": customer.city,
        "sms_consent": customer.sms_consent,
        "order_count": customer.order_count,
        "total_spent": str(customer.total_spent),
        "last_order_at": customer.last_order_at.isoformat() if customer.last_order_at else None,
    }


def counts_json(counts: Counts | None) -> dict:
    """`count` (members), `reachable` (subscribed to SMS) and `as_of`, when they were counted."""
    if counts is None:
        return {"count": None, "reachable": None, "as_of": None}
    return {"count": counts.members, "reachable": counts.reachable, "as_of": counts.at.isoformat()}


def segment_json(segment: Segment, counts: Counts | None, names: dict[int, str]) -> dict:
    """`count` and `reachable` as last counted, `as_of` when (a stored segment's at its last refresh
    of its rows, every minute; a live one's every few minutes, or at once when its rules changed);
    `refresh_failed` says when and why a stored segment's latest refresh failed, the counts staying
    those of the last good one."""
    return {
        "id": segment.pk,
        "name": segment.name,
        "slug": segment.slug,
        "description": segment.description,
        "preset": segment.preset,
        "summary": summarize(segment.rules, segment_names=names),
        **counts_json(counts),
        "refresh_failed": (
            {"at": segment.refresh_failed_at.isoformat(), "error": segment.refresh_error}
            if segment.stored and segment.refresh_error
            else None
        ),
        "updated_at": segment.updated_at.isoformat(),
    }


@with_store
def segment_list(request: HttpRequest, store: Store) -> JsonResponse:
    """Every segment of the store with its counts as last taken, and when."""
    segments = list(Segment.objects.filter(store=store).select_related("store").order_by("name", "pk"))
    names = {s.pk: s.name for s in segments}
    shown = counts_shown(segments, now=timezone.now())
    body = []
    for segment in segments:
        item = segment_json(segment, shown.get(segment.pk), names)
        if getattr(segment, "rules_errors", None):
            item["errors"] = [e.as_dict() for e in segment.rules_errors]
        body.append(item)
    return JsonResponse({"segments": body})


def _segment(store: Store, segment_id: int) -> Segment | None:
    return Segment.objects.filter(store=store, pk=segment_id).select_related("store").first()


def _positive_int(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 9:  # "²" is a digit to isdigit()
        return None
    return int(value) or None


@with_store
def segment_members(request: HttpRequest, store: Store, segment_id: int) -> JsonResponse:
    segment = _segment(store, segment_id)
    if segment is None:
        return error(404, "id", f"No segment {segment_id} in this store.")
    page = _positive_int(request.GET.get("page"), 1)
    if page is None:
        return error(400, "page", "must be a whole number of at least 1")
    size = _positive_int(request.GET.get("page_size"), PAGE_SIZE)
    if size is None or size > MAX_PAGE_SIZE:
        return error(400, "page_size", f"must be a whole number from 1 to {MAX_PAGE_SIZE}")
    try:
        now, live = timezone.now(), not reads_stored(segment)
        everyone = (members(segment, now=now) if live else stored_members(segment)).order_by("pk")
        count = members_count(segment, now=now) if live else segment.refreshed_count or 0
    except InvalidRules as exc:
        return error(409, f"rules.{exc.errors[0].path}".rstrip("."), exc.errors[0].message)
    pages = max(1, math.ceil(count / size))
    if page > pages:
        return error(404, "page", f"there are {pages} page(s)")
    rows = everyone[(page - 1) * size : page * size]
    return JsonResponse(
        {
            "segment": segment.pk,
            "count": count,
            "as_of": None if live else segment.refreshed_at.isoformat(),
            "page": page,
            "pages": pages,
            "page_size": size,
            "results": [customer_json(c) for c in rows],
        }
    )


def _find_customer(store: Store, ident: str) -> Customer | None:
    lookup = Q(external_id=ident) | Q(phone=ident) if ident.startswith("+") else Q(external_id=ident)
    return Customer.objects.filter(store=store).filter(lookup).order_by("pk").first()


def _moment(raw: str) -> datetime | None:
    try:
        moment = parse_datetime(raw)
    except ValueError:  # well formed but impossible, e.g. an offset of +99:00
        return None
    if moment is None or timezone.is_naive(moment) or not MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return moment


@with_store
def segment_explain(request: HttpRequest, store: Store, segment_id: int, ident: str) -> JsonResponse:
    segment = _segment(store, segment_id)
    if segment is None:
        return error(404, "id", f"No segment {segment_id} in this store.")
    if not is_clean_text(ident):
        return error(400, "customer", UNCLEAN_MESSAGE)
    customer = _find_customer(store, ident)
    if customer is None:
        return error(404, "customer", f"No customer with external id or phone {ident!r} in this store.")
    now = timezone.now()
    if request.GET.get("at"):
        now = _moment(request.GET["at"])
        if now is None:
            return error(
                400,
                "at",
                f"must be an ISO 8601 time with an offset, from {MIN_YEAR} to {MAX_YEAR}, "
                "e.g. 2026-11-26T10:00:00Z",
            )
    try:
        tree = explain(customer, segment.rules, store=store, now=now, seen=(segment.pk,))
    except InvalidRules as exc:
        return error(409, f"rules.{exc.errors[0].path}".rstrip("."), exc.errors[0].message)
    return JsonResponse(
        {
            "segment": {"id": segment.pk, "name": segment.name},
            "customer": customer_json(customer),
            "at": now.isoformat(),
            "member": tree["matched"],
            "summary": tree.pop("summary"),
            "rules": tree,
        }
    )
