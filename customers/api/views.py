"""JSON API for the store's own systems: events, customers, products.

Every failure is a 4xx with `{"errors": [{"field": ..., "message": ...}]}`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import Q
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from customers.api.auth import api_key_authenticate, api_key_store_sql
from customers.ingest.customers import customers_upsert
from customers.ingest.events import event_ingest_one, events_ingest
from customers.ingest.products import products_upsert
from customers.ingest.schemas import UNCLEAN_MESSAGE, ValidationFailed, is_clean_text, json_problem
from customers.models import Customer, Store
from customers.phones import InvalidPhone, phone_normalize
from customers.privacy import customer_data_export, customers_erase

MAX_BATCH = 1000


class ApiError(Exception):
    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def errors_response(status: int, errors: list[dict[str, str]]) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


def api_view(methods: tuple[str, ...]) -> Callable:
    """Authenticate with the store's bearer key, and turn every bad input into a 4xx."""

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
            if request.method not in methods:
                response = errors_response(
                    405, [{"field": "method", "message": f"use {' or '.join(methods)}"}]
                )
                response["Allow"] = ", ".join(methods)
                return response
            try:
                store = _authenticated_store(request)
                return view(request, store, *args, **kwargs)
            except ApiError as exc:
                return errors_response(exc.status, [{"field": exc.field, "message": exc.message}])
            except ValidationFailed as exc:
                return errors_response(400, [e.as_dict() for e in exc.errors])

        return wrapper

    return decorate


def _authenticated_store(request: HttpRequest) -> Store:
    header = request.headers.get("Authorization", "")
    if not header:
        raise ApiError(401, "Authorization", "missing: send 'Authorization: Bearer <API key>'")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ApiError(401, "Authorization", "must be 'Bearer <API key>'")
    api_key = api_key_authenticate(raw=raw.strip(), now=timezone.now())
    if api_key is None:
        raise ApiError(401, "Authorization", "unknown or revoked API key")
    request.api_key = api_key
    return api_key.store


def _json_body(request: HttpRequest, store: Store) -> Any:
    content_type = request.content_type or ""
    if content_type != "application/json":
        raise ApiError(415, "Content-Type", "must be application/json")
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise ApiError(413, "body", "is larger than the API accepts; send smaller batches") from exc
    try:
        body, suspect = _json_parsed(request, raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "body", f"is not valid JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "body", "must be a JSON object")
    problem = json_problem(body) if suspect else None
    if problem is not None:
        # One check for every field, free properties and attributes included.
        raise ApiError(400, problem.field, problem.message)
    _check_store(body, store)
    return body


def _json_parsed(request: HttpRequest, raw: bytes) -> tuple[Any, bool]:
    """`_json_parse` of the request's body, parsed once however many views look at it (a batch of
    1,000 events takes a few milliseconds to parse)."""
    parsed = getattr(request, "_json_parsed", None)
    if parsed is None:
        parsed = request._json_parsed = _json_parse(raw)
    return parsed


def _json_parse(raw: bytes) -> tuple[Any, bool]:
    """The parsed body, and whether it may hold a value `json_problem` refuses.

    A parsed text holds NUL or a lone surrogate only if the raw body has a \\u escape, a NUL byte
    (any UTF-16 or UTF-32 body has some) or a UTF-8-encoded surrogate (which the parser lets
    through); a float is infinite only if its digits overflowed. Checking the bytes and the floats
    as they are read spares walking every value of a clean body.
    """
    overflowed = False

    def number(text: str) -> float:
        nonlocal overflowed
        value = float(text)
        overflowed = overflowed or math.isinf(value)
        return value

    body = json.loads(raw, parse_constant=_no_constant, parse_float=number)
    return body, overflowed or b"\\u" in raw or b"\x00" in raw or b"\xed" in raw


def _no_constant(name: str) -> None:
    # Python reads NaN and Infinity, which are not JSON and which PostgreSQL's jsonb refuses.
    raise ValueError(f"{name} is not a JSON value")


def _check_store(body: dict, store: Store) -> None:
    """A body may name its store; it must be the key's (keys are per store)."""
    named = body.pop("store", None)
    if named is not None and named != store.slug:
        raise ApiError(404, "store", f"unknown store {named!r} for this API key")


def _batch(body: dict, name: str) -> tuple[list, str]:
    """`{"<name>": [...]}` or a single object; returns the items and the error path root."""
    if name not in body:
        return [body], ""
    items = body[name]
    if set(body) - {name}:
        extra = sorted(set(body) - {name})[0]
        raise ApiError(400, extra, f"is not a known field beside {name}")
    if not isinstance(items, list) or not items:
        raise ApiError(400, name, "must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise ApiError(413, name, f"has {len(items)} items; send at most {MAX_BATCH} per request")
    return items, name


@csrf_exempt
def events(request: HttpRequest) -> JsonResponse:
    """Events in. One event of a stored customer, as a webhook sends it, is stored by one statement
    that also checks the key and finds the customer; everything else takes the general path."""
    return _event_alone(request) or _events(request)


def _event_alone(request: HttpRequest) -> JsonResponse | None:
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if request.method != "POST" or scheme.lower() != "bearer" or request.content_type != "application/json":
        return None
    try:
        body, suspect = _json_parsed(request, request.body)
    except (ValueError, RecursionError, RequestDataTooBig):
        return None
    if suspect or not isinstance(body, dict) or "events" in body or "store" in body:
        return None
    now = timezone.now()
    store_sql = api_key_store_sql(raw=raw.strip(), now=now)
    result = store_sql and event_ingest_one(payload=body, store_sql=store_sql, now=now)
    if not result:
        return None
    return JsonResponse({"accepted": result.accepted, "duplicates": result.duplicates}, status=202)


@api_view(("POST",))
def _events(request: HttpRequest, store: Store) -> JsonResponse:
    items, root = _batch(_json_body(request, store), "events")
    result = events_ingest(store=store, payloads=items, now=timezone.now(), root=root)
    return JsonResponse({"accepted": result.accepted, "duplicates": result.duplicates}, status=202)


@api_view(("POST",))
def customers(request: HttpRequest, store: Store) -> JsonResponse:
    body = _json_body(request, store)
    if "customers" in body:
        items, root = _batch(body, "customers")
        result = customers_upsert(store=store, payloads=items, now=timezone.now(), root=root)
        return JsonResponse({"created": result.created, "updated": result.updated}, status=200)
    result = customers_upsert(store=store, payloads=[body], now=timezone.now(), root="")
    customer = Customer.objects.get(pk=result.customers[0].pk)
    return JsonResponse(customer_json(customer), status=201 if result.created else 200)


def _customer(store: Store, identifier: str) -> Customer:
    """The store's customer by external id, or by phone when it starts with +."""
    if not is_clean_text(identifier):
        raise ApiError(400, "customer", UNCLEAN_MESSAGE)
    lookup = Q(external_id=identifier)
    if identifier.startswith("+"):
        try:
            lookup = Q(phone=phone_normalize(identifier))
        except InvalidPhone as exc:
            raise ApiError(400, "phone", str(exc)) from exc
    customer = Customer.objects.filter(store=store).filter(lookup).first()
    if customer is None:
        raise ApiError(404, "customer", f"no customer {identifier!r} in this store")
    return customer


def _actor(request: HttpRequest) -> str:
    return f"API key {request.api_key.name} ({request.api_key.prefix}…)"


@api_view(("GET", "DELETE"))
def customer_detail(request: HttpRequest, store: Store, identifier: str) -> JsonResponse:
    customer = _customer(store, identifier)
    if request.method == "DELETE":
        return _erase(request, store, customer)
    return JsonResponse(customer_json(customer))


@api_view(("GET",))
def customer_export(request: HttpRequest, store: Store, identifier: str) -> JsonResponse:
    """Everything stored about the customer (privacy law's access request), logged."""
    customer = _customer(store, identifier)
    data = customer_data_export(customer=customer, actor=_actor(request), now=timezone.now())
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@api_view(("POST", "DELETE"))
def customer_erase(request: HttpRequest, store: Store, identifier: str) -> JsonResponse:
    """The customer's profile, events, texts and links gone; the consent ledger kept as proof."""
    return _erase(request, store, _customer(store, identifier))


def _erase(request: HttpRequest, store: Store, customer: Customer) -> JsonResponse:
    counts = customers_erase(
        store=store, customer_ids=[customer.pk], actor=_actor(request), now=timezone.now()
    )
    return JsonResponse({"erased": counts})


@api_view(("POST",))
def products(request: HttpRequest, store: Store) -> JsonResponse:
    items, root = _batch(_json_body(request, store), "products")
    result = products_upsert(store=store, payloads=items, now=timezone.now(), root=root)
    return JsonResponse(
        {"created": result.created, "updated": result.updated, "changes": len(result.change_ids)}, status=200
    )


def _moment(value) -> str | None:
    return value.isoformat() if value else None


def customer_json(customer: Customer) -> dict[str, Any]:
    return {
        "external_id": customer.external_id,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "city": customer.city,
        "region": customer.region,
        "language": customer.language,
        "timezone": customer.timezone,
        "timezone_source": customer.timezone_source,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "topics": customer.topics,
        "favorite_categories": customer.favorite_categories,
        "loyalty_status": customer.loyalty_status,
        "reward_balance": str(customer.reward_balance),
        "reward_points": customer.reward_points,
        "preferred_store": customer.preferred_store,
        "attributes": customer.attributes,
        "sms_consent": {"status": customer.sms_consent, "at": _moment(customer.sms_consent_at)},
        "metrics": {
            "order_count": customer.order_count,
            "total_spent": str(customer.total_spent),
            "average_order_value": str(customer.average_order_value),
            "discount_order_share": customer.discount_order_share,
            "first_order_at": _moment(customer.first_order_at),
            "last_order_at": _moment(customer.last_order_at),
            "last_sms_click_at": _moment(customer.last_sms_click_at),
            "predicted_next_order_at": _moment(customer.predicted_next_order_at),
        },
    }
