"""Events in: checked as a batch, stored once per idempotency key, announced after commit.

The metrics of the customers they touch are updated in the same transaction (`metrics.py`);
campaigns listens to `events_recorded` (customers never imports campaigns).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from django.db import connection, transaction

from customers.ingest import event_schemas, schemas
from customers.ingest.batches import item_path
from customers.ingest.customers import (
    CustomerInput,
    IngestResult,
    Target,
    customer_clean,
    customers_plan,
    customers_write,
)
from customers.ingest.event_rows import (
    event_insert_known,
    event_rows_insert,
    events_announce,
    events_insert,
)
from customers.ingest.metrics import (
    FOLDED_TYPES,
    METRIC_TYPES,
    NewEvent,
    customers_refresh,
    metrics_update_sql,
)
from customers.ingest.schemas import Errors, ValidationFailed, join
from customers.models import Customer, Event, Store
from customers.phones import InvalidPhone, phone_normalize
from customers.signals import events_recorded

EVENT_KEYS = {"id", "type", "occurred_at", "customer", "properties"}


# --- events -----------------------------------------------------------------------------------


@dataclass
class _EventInput:
    key: str
    type: str
    occurred_at: datetime
    properties: dict
    customer: CustomerInput


def _event_clean(value: Any, path: str, errors: Errors, *, now: datetime) -> _EventInput | None:
    """Check one event: the quick checks clear a well-formed one, the full checks name any error."""
    return _event_quick(value, path, now=now) or _event_check(value, path, errors, now=now)


CUSTOMER_IDS = frozenset({"external_id", "phone"})


def _event_quick(value: Any, path: str, *, now: datetime) -> _EventInput | None:
    """The event as `_event_check` cleans it, when it is well formed and names its customer by
    external id and phone alone; None to leave it to `_event_check`."""
    uncleared = event_schemas.UNCLEARED
    if type(value) is not dict or not value.keys() <= EVENT_KEYS:
        return None
    event_type = value.get("type")
    if type(event_type) is not str or not schemas.EVENT_TYPE.match(event_type):
        return None
    occurred_at = now
    if value.get("occurred_at") is not None:
        occurred_at = event_schemas.moment_quick(value["occurred_at"], now=now)
    customer = _customer_quick(value.get("customer"), path)
    properties = event_schemas.event_properties_quick(event_type, value.get("properties"))
    key = None
    if value.get("id") is not None:
        key = event_schemas.identifier_quick(value["id"], max_length=200)
    if uncleared in (occurred_at, properties, key) or customer is None:
        return None
    return _EventInput(
        key=key or _event_auto_key(event_type, occurred_at, value.get("customer"), properties),
        type=event_type,
        occurred_at=occurred_at,
        properties=properties,
        customer=customer,
    )


def _customer_quick(value: Any, path: str) -> CustomerInput | None:
    if type(value) is not dict or not value.keys() <= CUSTOMER_IDS:
        return None
    external_id = ""
    if value.get("external_id") not in (None, ""):
        external_id = event_schemas.identifier_quick(value["external_id"])
        if external_id is event_schemas.UNCLEARED:
            return None
    if value.get("phone") in (None, ""):
        return None if not external_id else CustomerInput(join(path, "customer"), external_id, "", {})
    try:
        phone = phone_normalize(value["phone"])
    except InvalidPhone:
        return None
    return CustomerInput(path=join(path, "customer"), external_id=external_id, phone=phone, values={})


def _event_auto_key(event_type: str, occurred_at: datetime, customer: Any, properties: dict) -> str:
    # Without an id, the same event sent twice (same time, customer and content) is still one event.
    canonical = json.dumps(
        [event_type, occurred_at.isoformat(), customer, properties], sort_keys=True, default=str
    )
    return "auto:" + hashlib.sha256(canonical.encode()).hexdigest()


def _event_check(value: Any, path: str, errors: Errors, *, now: datetime) -> _EventInput | None:
    if schemas.obj(value, path, errors) is None:
        return None
    before = len(errors)
    for key in sorted(set(value) - EVENT_KEYS):
        errors.add(join(path, key), "is not a known field")
    event_type = value.get("type")
    if not isinstance(event_type, str) or not schemas.EVENT_TYPE.match(event_type):
        errors.add(join(path, "type"), "is required: a lower_snake_case event name, e.g. cart_updated")
        event_type = None
    occurred_at = now
    if value.get("occurred_at") is not None:
        occurred_at = schemas.moment(value["occurred_at"], join(path, "occurred_at"), errors, now=now)
    customer = None
    if value.get("customer") is None:
        errors.add(join(path, "customer"), "is required: an object with external_id or phone")
    else:
        customer = customer_clean(value["customer"], join(path, "customer"), errors, now=now)
    properties = event_schemas.event_properties(
        event_type or "", value.get("properties"), join(path, "properties"), errors
    )
    key = None
    if value.get("id") is not None:
        key = schemas.identifier(value["id"], join(path, "id"), errors, max_length=200)
    if len(errors) > before:
        return None
    if key is None:
        key = _event_auto_key(event_type, occurred_at, value.get("customer"), properties)
    return _EventInput(
        key=key, type=event_type, occurred_at=occurred_at, properties=properties, customer=customer
    )


def _event_rows(
    store: Store, items: list[_EventInput], planned: list[Target], *, now: datetime
) -> list[tuple]:
    """The rows to insert, a repeated id within the batch kept once."""
    rows, seen = [], set()
    for item, target in zip(items, planned, strict=True):
        if item.key not in seen:
            seen.add(item.key)
            properties = item.properties
            product_key = str(properties["product_id"]) if "product_id" in properties else None
            rows.append((
                store.pk, target.customer.pk, item.type, item.occurred_at, now, properties, None, item.key,
                product_key,
            ))  # fmt: skip
    return rows


def events_ingest(*, store: Store, payloads: list[Any], now: datetime, root: str = "events") -> IngestResult:
    """Store a batch of events and update what they change; duplicates by id are counted, not stored."""
    errors = Errors()
    items = [_event_clean(p, item_path(root, i), errors, now=now) for i, p in enumerate(payloads)]
    if errors:
        raise ValidationFailed(errors)
    if len(items) == 1 and not (items[0].customer.values or items[0].customer.consent):
        known = _event_of_known_customer(store, items[0], now=now)
        if known is not None:
            return known
    with transaction.atomic():
        planned = customers_plan(store, [item.customer for item in items], errors)
        if errors:
            raise ValidationFailed(errors)
        customers_write(store, planned, now=now)
        rows = _event_rows(store, items, planned, now=now)
        ids = event_rows_insert(rows)
        stored = [
            NewEvent(kind, customer_id, occurred_at, properties)
            for _, customer_id, kind, occurred_at, _, properties, _, key, _ in rows
            if key in ids and kind in METRIC_TYPES
        ]
        customers_refresh(stored)
        event_ids = [ids[row[7]][0] for row in rows if row[7] in ids]
        if event_ids:
            transaction.on_commit(lambda: events_recorded.send(Event, store=store, event_ids=event_ids))
    return IngestResult(accepted=len(event_ids), duplicates=len(items) - len(event_ids), event_ids=event_ids)


def _event_of_known_customer(
    store: Store | None, item: _EventInput, *, now: datetime, store_sql: tuple[str, str, list] | None = None
) -> IngestResult | None:
    """One event naming a stored customer by their own external id and phone (what a webhook
    sends): stored in one statement, which on PostgreSQL also adds an order or a click to the
    customer's metrics (other metric events: one transaction with their metrics' update). None
    when the customer is new or differs, or the event was stored already: the general path then
    creates, updates or counts the duplicate. Without `store`, `store_sql` finds it."""
    customer, properties = item.customer, item.properties
    product_key = str(properties["product_id"]) if "product_id" in properties else None
    store_id = store.pk if store is not None else None
    row = (store_id, None, item.type, item.occurred_at, now, properties, None, item.key, product_key)
    known = {"external_id": customer.external_id, "phone": customer.phone, "store_sql": store_sql}
    if item.type in FOLDED_TYPES and connection.vendor == "postgresql":
        # the customer's metrics moved by the statement that stores the event
        stored = event_insert_known(
            row, **known, also=partial(metrics_update_sql, item.type, item.occurred_at, properties)
        )
    elif item.type in METRIC_TYPES:
        with transaction.atomic():
            stored = event_insert_known(row, **known)
            if stored is not None:
                customers_refresh([NewEvent(item.type, stored[1], item.occurred_at, properties)])
    else:
        stored = event_insert_known(row, **known)
    if stored is None:
        return None
    event_ids, owner = [stored[0]], store or _store_of(stored[2])
    transaction.on_commit(lambda: events_recorded.send(Event, store=owner, event_ids=event_ids))
    return IngestResult(accepted=1, duplicates=0, event_ids=event_ids)


@lru_cache(maxsize=1024)
def _store_of(pk: int) -> Store:
    # What `events_recorded` gets on the single-event path: an instance holding the id alone, made
    # once per store (a model instance costs a tenth of such a request's own Python time).
    return Store(pk=pk)


def event_ingest_one(*, payload: Any, store_sql: tuple[str, str, list], now: datetime) -> IngestResult | None:
    """One well-formed event of a stored customer, its store named in SQL (`event_insert_known`), in
    one statement: the single-event webhook's path. None for anything else (a malformed event, a new
    customer, a stored key, no such store): the caller then takes the general path, which answers
    each of those as usual."""
    if connection.vendor != "postgresql":
        return None
    item = _event_quick(payload, "", now=now)
    if item is None or item.customer.values:
        return None
    return _event_of_known_customer(None, item, now=now, store_sql=store_sql)


def customer_event_record(
    *,
    customer: Customer,
    type: str,
    properties: dict[str, Any],
    now: datetime,
    occurred_at: datetime | None = None,
    idempotency_key: str = "",
) -> Event | None:
    """Store one event the app saw itself (a tap, a reply); None when its key was already stored.

    Without a key every call is its own event (each tap on a link is a click).
    """
    event = Event(
        store_id=customer.store_id,
        customer=customer,
        type=type,
        occurred_at=occurred_at or now,
        received_at=now,
        properties=properties,
        idempotency_key=idempotency_key or f"{type}:{uuid.uuid4().hex}",
    )
    with transaction.atomic():
        stored = events_insert([event])
        customers_refresh(stored)
        events_announce(customer.store, stored)
    return stored[0] if stored else None


def customer_preferences_update(
    *,
    customer: Customer,
    topics: list[str],
    categories: list[str],
    frequency: str,
    source: str,
    now: datetime,
) -> Customer:
    """A subscriber's own choices (the preference page, a keyword reply): the frequency is stored,
    and a `preference_set` event sets topics and categories as one sent through the API does, so
    flows and segments see it."""
    with transaction.atomic():
        customer.frequency = frequency
        customer.save(update_fields=["frequency", "updated_at"])
        customer_event_record(
            customer=customer,
            type="preference_set",
            properties={"topics": topics, "categories": categories, "frequency": frequency, "source": source},
            now=now,
        )
        customer.refresh_from_db(fields=["topics", "favorite_categories"])
    return customer
