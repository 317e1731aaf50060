"""The one way data comes in: the API, the CSV import and the demo all call these services.

Each service checks the whole batch first (a batch with one bad item stores nothing), then writes
in bulk inside one transaction, keeps the customers' metrics current with set-based updates, and
announces what it stored after commit (campaigns listens; customers never imports campaigns).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_ipv46_address
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast, Coalesce

from . import schemas
from .models import Category, ConsentRecord, Customer, Event, Product, ProductChange, Store
from .phones import InvalidPhone, phone_facts, phone_normalize
from .schemas import Errors, ValidationFailed, join
from .signals import consent_requested, customer_opted_out, events_recorded, products_changed

__all__ = [
    "IngestResult",
    "ProductsResult",
    "UpsertResult",
    "ValidationFailed",
    "consent_change",
    "customer_event_record",
    "customer_for_phone",
    "customers_upsert",
    "events_ingest",
    "phone_opt_out",
    "product_save",
    "products_upsert",
]

CHUNK = 500
TIMEZONES = frozenset(available_timezones())
CONSENT_ACTIONS = {
    Customer.Consent.SUBSCRIBED: ConsentRecord.Action.OPT_IN,
    Customer.Consent.PENDING: ConsentRecord.Action.REQUESTED,
    Customer.Consent.UNSUBSCRIBED: ConsentRecord.Action.OPT_OUT,
}
TEXT_FIELDS = {
    "first_name": 100,
    "last_name": 100,
    "city": 100,
    "language": 10,
    "frequency": 16,
    "loyalty_status": 50,
    "preferred_store": 100,
}
PROFILE_FIELDS = set(TEXT_FIELDS) | {
    "email",
    "region",
    "timezone",
    "birthday",
    "topics",
    "favorite_categories",
    "reward_balance",
    "reward_points",
    "attributes",
}
CUSTOMER_KEYS = PROFILE_FIELDS | {"external_id", "phone", "sms_consent"}
EVENT_KEYS = {"id", "type", "occurred_at", "customer", "properties"}
PRODUCT_KEYS = {
    "id",
    "external_id",
    "name",
    "url",
    "price",
    "stock",
    "category",
    "consumable",
    "reorder_window_days",
    "margin_class",
    "usage_tip",
}


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    event_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class UpsertResult:
    customers: list[Customer]  # one per payload, in order
    created_ids: set[int]
    updated: int

    @property
    def created(self) -> int:
        return len(self.created_ids)


@dataclass(frozen=True)
class ProductsResult:
    products: list[Product]
    created: int
    updated: int
    change_ids: list[int]


# --- customers --------------------------------------------------------------------------------


@dataclass
class ConsentInput:
    action: str
    source: str
    wording: str
    occurred_at: datetime
    keyword: str = ""
    ip_address: str | None = None
    user_agent: str = ""


@dataclass
class CustomerInput:
    path: str
    external_id: str
    phone: str
    values: dict[str, Any]
    consent: ConsentInput | None = None


def _item_path(root: str, index: int) -> str:
    return f"{root}[{index}]" if root else ""


def _profile_value(name: str, value: Any, path: str, errors: Errors) -> Any:
    if name in TEXT_FIELDS:
        return schemas.text(value, path, errors, max_length=TEXT_FIELDS[name])
    if name == "email":
        cleaned = schemas.text(value, path, errors, max_length=254)
        if cleaned:
            try:
                validate_email(cleaned)
            except ValidationError:
                errors.add(path, "is not a valid email address")
                return None
        return cleaned
    if name == "region":
        cleaned = schemas.text(value, path, errors, max_length=2)
        return cleaned.upper() if cleaned is not None else None
    if name == "timezone":
        cleaned = schemas.text(value, path, errors, max_length=64)
        if cleaned is not None and cleaned not in TIMEZONES:
            errors.add(path, "is not an IANA timezone, e.g. America/New_York")
            return None
        return cleaned
    if name == "birthday":
        return None if value in (None, "") else schemas.day(value, path, errors)
    if name == "topics":
        return schemas.string_list(value, path, errors, choices=schemas.TOPICS)
    if name == "favorite_categories":
        return schemas.string_list(value, path, errors)
    if name == "reward_balance":
        return schemas.number(value, path, errors)
    if name == "reward_points":
        return schemas.integer(value, path, errors, minimum=None)
    if name == "attributes":
        return schemas.free_object(value, path, errors)
    raise ValueError(name)


def _consent_clean(value: Any, path: str, errors: Errors, *, now: datetime) -> ConsentInput | None:
    if schemas.obj(value, path, errors) is None:
        return None
    for key in set(value) - {"status", "source", "wording", "at", "keyword", "ip_address", "user_agent"}:
        errors.add(join(path, key), "is not a known field")
    status = value.get("status")
    if status not in CONSENT_ACTIONS:
        errors.add(join(path, "status"), "must be one of subscribed, pending, unsubscribed")
        return None
    source = schemas.text(value.get("source", "api"), join(path, "source"), errors, max_length=50)
    wording = schemas.text(value.get("wording", ""), join(path, "wording"), errors, max_length=2000)
    if status == Customer.Consent.SUBSCRIBED and not wording:
        errors.add(join(path, "wording"), "is required as evidence: the exact wording the customer agreed to")
    occurred_at = now
    if value.get("at") is not None:
        occurred_at = schemas.moment(value["at"], join(path, "at"), errors, now=now)
    ip_address = value.get("ip_address") or None
    if ip_address is not None:
        try:
            validate_ipv46_address(ip_address)
        except (ValidationError, TypeError):
            errors.add(join(path, "ip_address"), "is not an IP address")
    keyword = schemas.text(value.get("keyword", ""), join(path, "keyword"), errors, max_length=50)
    user_agent = schemas.text(value.get("user_agent", ""), join(path, "user_agent"), errors, max_length=300)
    if None in (source, wording, occurred_at, keyword, user_agent):
        return None
    return ConsentInput(
        action=CONSENT_ACTIONS[status],
        source=source or "api",
        wording=wording,
        occurred_at=occurred_at,
        keyword=keyword,
        ip_address=ip_address,
        user_agent=user_agent,
    )


def customer_clean(value: Any, path: str, errors: Errors, *, now: datetime) -> CustomerInput | None:
    """Check one customer object; `external_id` or `phone` identifies it."""
    if schemas.obj(value, path, errors) is None:
        return None
    before = len(errors)
    for key in sorted(set(value) - CUSTOMER_KEYS):
        errors.add(join(path, key), "is not a known field")
    external_id = ""
    if value.get("external_id") not in (None, ""):
        external_id = schemas.identifier(value["external_id"], join(path, "external_id"), errors) or ""
    phone = ""
    if value.get("phone") not in (None, ""):
        try:
            phone = phone_normalize(value["phone"])
        except InvalidPhone as exc:
            errors.add(join(path, "phone"), str(exc))
    elif not external_id:
        errors.add(join(path, "phone"), "is required (or external_id)")
    values = {}
    for name in PROFILE_FIELDS & set(value):
        if value[name] is None:
            continue
        cleaned = _profile_value(name, value[name], join(path, name), errors)
        if cleaned is not None:
            values[name] = cleaned
    consent = None
    if value.get("sms_consent") is not None:
        consent = _consent_clean(value["sms_consent"], join(path, "sms_consent"), errors, now=now)
    if len(errors) > before:
        return None
    return CustomerInput(path=path, external_id=external_id, phone=phone, values=values, consent=consent)


@dataclass(eq=False)
class _Target:
    """One customer the batch writes to: an existing row, or a row to create."""

    customer: Customer | None
    external_id: str
    phone: str
    values: dict[str, Any] = field(default_factory=dict)
    consents: list[ConsentInput] = field(default_factory=list)

    def absorb(self, item: CustomerInput) -> None:
        attributes = {**self.values.get("attributes", {}), **item.values.get("attributes", {})}
        self.values.update(item.values)
        if attributes:
            self.values["attributes"] = attributes
        if item.consent:
            self.consents.append(item.consent)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _existing_customers(store: Store, items: list[CustomerInput]) -> list[Customer]:
    """The customers these items name, in one query (per chunk of the database's parameter limit),
    loading only the columns the batch may compare or change."""
    columns = {
        "id",
        "store_id",
        "external_id",
        "phone",
        "first_name",
        "timezone",
        "timezone_source",
        "sms_consent",
    }
    columns.update(name for item in items for name in item.values)
    names, db = sorted(columns), connection.alias
    rows = Customer.objects.filter(store=store).values_list(*names)
    external_ids = sorted({i.external_id for i in items if i.external_id})
    phones = sorted({i.phone for i in items if i.phone})
    if connection.vendor == "postgresql":
        # two array parameters rather than one bound parameter per key
        wanted = RawSQL("(external_id = ANY(%s) OR phone = ANY(%s))", (external_ids, phones), BooleanField())
        return [_customer_loaded(names, row, db) for row in rows.filter(wanted)]
    size = max(1, min(len(external_ids) + len(phones), _param_limit() - 1))
    found: dict[int, tuple] = {}
    pk = names.index("id")
    keys = [("external_id", k) for k in external_ids] + [("phone", k) for k in phones]
    for chunk in _chunks(keys, size):
        wanted = Q(external_id__in=[k for f, k in chunk if f == "external_id"])
        wanted |= Q(phone__in=[k for f, k in chunk if f == "phone"])
        found.update({row[pk]: row for row in rows.filter(wanted)})
    return [_customer_loaded(names, row, db) for row in found.values()]


def _customer_loaded(names: list[str], values: tuple, db: str) -> Customer:
    """The customer as `.only(*names)` loads it: the other columns deferred, read on first access.

    Built without `Model.__init__`, which visits each of the model's 35 fields and costs more than
    the query for a batch's customers; the instance state is what `Model.from_db` leaves.
    """
    customer = Customer.__new__(Customer)
    customer.__dict__.update(zip(names, values, strict=True))
    customer._state = ModelState()
    customer._state.adding, customer._state.db = False, db
    return customer


def _param_limit() -> int:
    return connection.features.max_query_params or 30_000


def _customers_plan(store: Store, items: list[CustomerInput], errors: Errors) -> list[_Target | None]:
    """Match each item to an existing or new customer, without writing; conflicts become errors."""
    existing = _existing_customers(store, items)
    by_external = {c.external_id: c for c in existing if c.external_id}
    by_phone = {c.phone: c for c in existing}
    targets: dict[Any, _Target] = {}
    new_by_external: dict[str, _Target] = {}
    new_by_phone: dict[str, _Target] = {}
    planned: list[_Target | None] = []
    for item in items:
        target = _match(item, by_external, by_phone, targets, new_by_external, new_by_phone, errors)
        if target is not None:
            target.absorb(item)
        planned.append(target)
    return planned


def _match(item, by_external, by_phone, targets, new_by_external, new_by_phone, errors) -> _Target | None:
    a = by_external.get(item.external_id) if item.external_id else None
    b = by_phone.get(item.phone) if item.phone else None
    if a and b and a.pk != b.pk:
        errors.add(join(item.path, "phone"), "belongs to another customer than external_id")
        return None
    if b and not a and item.external_id and b.external_id and b.external_id != item.external_id:
        errors.add(join(item.path, "phone"), f"belongs to the customer with external_id {b.external_id!r}")
        return None
    customer = a or b
    if customer is not None:
        target = targets.setdefault(customer.pk, _Target(customer, customer.external_id, customer.phone))
        if item.external_id and not target.external_id:
            target.external_id = item.external_id
        if item.phone and item.phone != target.phone:
            target.phone = item.phone
        return target
    pending = new_by_external.get(item.external_id) if item.external_id else None
    pending = pending or (new_by_phone.get(item.phone) if item.phone else None)
    if pending is None:
        if not item.phone:
            errors.add(join(item.path, "phone"), "is required to create a customer")
            return None
        pending = _Target(None, item.external_id, item.phone)
        new_by_phone[item.phone] = pending
    elif item.external_id and pending.external_id and item.external_id != pending.external_id:
        errors.add(join(item.path, "external_id"), "differs from an earlier item with this phone")
        return None
    elif item.phone and item.phone != pending.phone:
        errors.add(join(item.path, "phone"), "differs from an earlier item with this external_id")
        return None
    if item.external_id:
        pending.external_id = item.external_id
        new_by_external[item.external_id] = pending
    return pending


def _new_customer(store: Store, target: _Target) -> Customer:
    values = dict(target.values)
    facts = phone_facts(target.phone)
    if "timezone" in values:
        values["timezone_source"] = Customer.TimezoneSource.GIVEN
    elif facts.timezone:
        values.update(timezone=facts.timezone, timezone_source=Customer.TimezoneSource.PHONE)
    else:
        values.update(timezone=store.default_timezone, timezone_source=Customer.TimezoneSource.STORE)
    values.setdefault("region", facts.region)
    return Customer(store=store, external_id=target.external_id, phone=target.phone, **values)


def _created_meanwhile(store: Store, target: _Target) -> Customer:
    """A concurrent request created this external id with another phone; ours was not inserted."""
    customer = Customer.objects.filter(store=store, external_id=target.external_id).first()
    if customer is None:
        raise ValidationFailed([schemas.FieldError("customer.phone", "conflicts with a concurrent update")])
    return customer


def _changed_fields(store: Store, target: _Target) -> list[str]:
    customer = target.customer
    values = dict(target.values, external_id=target.external_id, phone=target.phone)
    if "timezone" in target.values:
        values["timezone_source"] = Customer.TimezoneSource.GIVEN
    elif target.phone != customer.phone and customer.timezone_source != Customer.TimezoneSource.GIVEN:
        facts = phone_facts(target.phone)
        values["timezone"] = facts.timezone or store.default_timezone
        values["timezone_source"] = (
            Customer.TimezoneSource.PHONE if facts.timezone else Customer.TimezoneSource.STORE
        )
    if "attributes" in values:
        values["attributes"] = {**customer.attributes, **values["attributes"]}
    changed = []
    for name, value in values.items():
        if getattr(customer, name) != value:
            setattr(customer, name, value)
            changed.append(name)
    return changed


def _customers_write(store: Store, planned: list[_Target | None], *, now: datetime) -> tuple[set[int], int]:
    """Create and update the planned customers in bulk; returns (created ids, updated count)."""
    unique = list({id(t): t for t in planned if t is not None}.values())
    new = [t for t in unique if t.customer is None]
    if new:
        Customer.objects.bulk_create(
            [_new_customer(store, t) for t in new], batch_size=CHUNK, ignore_conflicts=True
        )
        stored = {}
        for chunk in _chunks([t.phone for t in new]):
            stored.update({c.phone: c for c in Customer.objects.filter(store=store, phone__in=chunk)})
        for target in new:
            target.customer = stored.get(target.phone) or _created_meanwhile(store, target)
    created_ids = {t.customer.pk for t in new}
    updates, fields = [], set()
    for target in unique:
        if target.customer is None or target.customer.pk in created_ids:
            continue
        changed = _changed_fields(store, target)
        if changed:
            updates.append(target.customer)
            fields.update(changed)
    if updates:
        for customer in updates:
            customer.updated_at = now
        Customer.objects.bulk_update(updates, sorted(fields | {"updated_at"}), batch_size=CHUNK)
    consents = [(t.customer, c) for t in unique for c in t.consents]
    _consents_record(store, consents)
    return created_ids, len(updates)


def _consents_record(store: Store, consents: list[tuple[Customer, ConsentInput]]) -> None:
    """Append to the ledger what changes a customer's status; a repeated claim adds nothing."""
    latest: dict[int, tuple[Customer, ConsentInput]] = {}
    for customer, consent in consents:
        latest[customer.pk] = (customer, consent)
    changes = [
        (customer, consent)
        for customer, consent in latest.values()
        if STATUS_AFTER[consent.action] not in (None, customer.sms_consent)
    ]
    if not changes:
        return
    # The same ledger rows and status moves as consent_change, written in bulk.
    records = ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                store=store,
                customer=customer,
                action=consent.action,
                source=consent.source,
                wording=consent.wording,
                keyword=consent.keyword,
                ip_address=consent.ip_address,
                user_agent=consent.user_agent,
                occurred_at=consent.occurred_at,
            )
            for customer, consent in changes
        ],
        batch_size=CHUNK,
    )
    for customer, consent in changes:
        customer.sms_consent = STATUS_AFTER[consent.action]
        customer.sms_consent_at = consent.occurred_at
    Customer.objects.bulk_update([c for c, _ in changes], ["sms_consent", "sms_consent_at"], batch_size=CHUNK)
    _confirmations_ask(store, records)
    _opt_outs_on_timeline(store, records)
    opted_out = [(c, k.source) for c, k in changes if k.action == ConsentRecord.Action.OPT_OUT]
    if opted_out:
        transaction.on_commit(
            lambda: [customer_opted_out.send(Customer, customer=c, source=s) for c, s in opted_out]
        )


def _confirmations_ask(store: Store, records: list[ConsentRecord]) -> None:
    """A sign-up without evidence ("pending") is asked to confirm by text: double opt-in."""
    requested = [r.pk for r in records if r.action == ConsentRecord.Action.REQUESTED]
    if requested:
        transaction.on_commit(
            lambda: consent_requested.send(ConsentRecord, store=store, record_ids=requested)
        )


def customers_upsert(
    *, store: Store, payloads: list[Any], now: datetime, root: str = "customers"
) -> UpsertResult:
    """Create or update customers by external id or phone; `sms_consent` goes to the ledger."""
    errors = Errors()
    items = [customer_clean(p, _item_path(root, i), errors, now=now) for i, p in enumerate(payloads)]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        planned = _customers_plan(store, items, errors)
        if errors:
            raise ValidationFailed(errors)
        created_ids, updated = _customers_write(store, planned, now=now)
    return UpsertResult(customers=[t.customer for t in planned], created_ids=created_ids, updated=updated)


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
    uncleared = schemas.UNCLEARED
    if type(value) is not dict or not value.keys() <= EVENT_KEYS:
        return None
    event_type = value.get("type")
    if type(event_type) is not str or not schemas.EVENT_TYPE.match(event_type):
        return None
    occurred_at = now
    if value.get("occurred_at") is not None:
        occurred_at = schemas.moment_quick(value["occurred_at"], now=now)
    customer = _customer_quick(value.get("customer"), path)
    properties = schemas.event_properties_quick(event_type, value.get("properties"))
    key = None
    if value.get("id") is not None:
        key = schemas.identifier_quick(value["id"], max_length=200)
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
        external_id = schemas.identifier_quick(value["external_id"])
        if external_id is schemas.UNCLEARED:
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
    properties = schemas.event_properties(
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


EVENT_COLUMNS = (
    "store", "customer", "type", "occurred_at", "received_at", "properties", "product", "idempotency_key",
)  # fmt: skip


def _events_insert(events: list[Event], product_keys: list[str | None] | None = None) -> list[Event]:
    """Insert, skipping ids already stored (by anyone, even a concurrent request); returns the new rows.

    Each event without a product is joined to the store's product whose id `product_keys` names.
    """
    keys = product_keys or [None] * len(events)
    rows = [
        (
            e.store_id, e.customer_id, e.type, e.occurred_at, e.received_at, e.properties,
            e.product_id, e.idempotency_key, key,
        )
        for e, key in zip(events, keys, strict=True)
    ]  # fmt: skip
    ids = _event_rows_insert(rows)
    stored: list[Event] = []
    for event in events:
        if event.idempotency_key in ids:
            event.pk, event.product_id = ids[event.idempotency_key]
            event._state.adding = False
            stored.append(event)
    return stored


def _event_rows_insert(rows: list[tuple]) -> dict[str, tuple[int, int | None]]:
    """Insert rows of (store_id, customer_id, type, occurred_at, received_at, properties, product_id,
    idempotency_key, product_key); returns {idempotency_key: (id, product_id)} of those added.

    One statement per batch: ON CONFLICT DO NOTHING RETURNING gives exactly the rows this call added
    (the unique key is the last word on duplicates, so no retry or second lookup is needed).
    """
    insert = _events_insert_json if connection.vendor == "postgresql" else _events_insert_values
    ids: dict[str, tuple[int, int | None]] = {}
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, _rows_per_insert()):
            ids.update({key: (pk, product) for pk, key, product in insert(cursor, chunk)})
    return ids


def _rows_per_insert() -> int:
    if connection.vendor == "postgresql":
        return 10_000  # one JSON parameter whatever the size
    return min(CHUNK, _param_limit() // (len(EVENT_COLUMNS) + 1))


def _events_insert_sql(source: str, columns: list[str]) -> str:
    table, products = Event._meta.db_table, Product._meta.db_table
    store, customer, kind, occurred, received, properties, product, key, product_key = columns
    names = ", ".join(connection.ops.quote_name(Event._meta.get_field(n).column) for n in EVENT_COLUMNS)
    return (
        f"INSERT INTO {table} ({names}) "
        f"SELECT {store}, {customer}, {kind}, {occurred}, {received}, {properties}, "
        f"COALESCE({product}, p.id), {key} FROM {source} "
        f"LEFT JOIN {products} p ON p.store_id = {store} AND p.external_id = {product_key} "
        "WHERE true ON CONFLICT (store_id, idempotency_key) DO NOTHING "
        "RETURNING id, idempotency_key, product_id"
    )


# Each row's values as jsonb read them from one array per row, in the order of `_event_rows_insert`.
EVENT_ARRAY = [
    "(r->>0)::bigint", "(r->>1)::bigint", "r->>2", "(r->>3)::timestamptz", "(r->>4)::timestamptz", "r->5",
    "(r->>6)::bigint", "r->>7", "r->>8",
]  # fmt: skip


def _events_insert_json(cursor, rows: list[tuple]) -> list[tuple]:
    """PostgreSQL: the batch as one jsonb parameter of arrays; the standard library's C encoder
    writes it, where a driver's per-value array quoting costs far more, and jsonb hands each
    row's properties over parsed once (json records with keyed fields were twice the text, and
    their properties were parsed twice)."""
    source = "jsonb_array_elements(%s::jsonb) AS r"
    records = [
        (r[0], r[1], r[2], r[3].isoformat(), r[4].isoformat(), r[5], r[6], r[7], r[8]) for r in rows
    ]
    cursor.execute(_events_insert_sql(source, EVENT_ARRAY), [json.dumps(records)])
    return cursor.fetchall()


def _events_insert_values(cursor, rows: list[tuple]) -> list[tuple]:
    moment = connection.ops.adapt_datetimefield_value
    row = "(" + ", ".join(["%s"] * 9) + ")"
    source = f"(VALUES {', '.join([row] * len(rows))}) AS v"
    params = [
        value
        for r in rows
        for value in (r[0], r[1], r[2], moment(r[3]), moment(r[4]), json.dumps(r[5]), *r[6:])
    ]
    cursor.execute(_events_insert_sql(source, [f"v.column{i}" for i in range(1, 10)]), params)
    return cursor.fetchall()


def _event_rows(
    store: Store, items: list[_EventInput], planned: list[_Target], *, now: datetime
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
    items = [_event_clean(p, _item_path(root, i), errors, now=now) for i, p in enumerate(payloads)]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        planned = _customers_plan(store, [item.customer for item in items], errors)
        if errors:
            raise ValidationFailed(errors)
        _customers_write(store, planned, now=now)
        rows = _event_rows(store, items, planned, now=now)
        ids = _event_rows_insert(rows)
        stored = [
            _NewEvent(kind, customer_id, occurred_at, properties)
            for _, customer_id, kind, occurred_at, _, properties, _, key, _ in rows
            if key in ids and kind in METRIC_TYPES
        ]
        _customers_refresh(stored)
        event_ids = [ids[row[7]][0] for row in rows if row[7] in ids]
        if event_ids:
            transaction.on_commit(lambda: events_recorded.send(Event, store=store, event_ids=event_ids))
    return IngestResult(accepted=len(event_ids), duplicates=len(items) - len(event_ids), event_ids=event_ids)


# --- metrics ----------------------------------------------------------------------------------

MONEY = DecimalField(max_digits=14, decimal_places=2)
CENT = Decimal("0.01")
METRIC_TYPES = frozenset({"order_placed", "sms_clicked", "reward_balance_changed", "preference_set"})


class _NewEvent(NamedTuple):
    """What the metrics read of an event a batch stored."""

    type: str
    customer_id: int
    occurred_at: datetime
    properties: dict


def _customers_refresh(events: list[Event] | list[_NewEvent]) -> None:
    """Fold what these new events change into their customers' stored metrics.

    Orders and clicks are added to what is stored (a batch costs what it holds, not the customers'
    whole histories); `customer_metrics_recompute` rebuilds the same figures from history and is
    the reference the nightly schedule runs.
    """
    by_type: dict[str, list[Event | _NewEvent]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    _orders_add(by_type.get("order_placed", []))
    _clicks_add(by_type.get("sms_clicked", []))
    for ids in _chunks(sorted({e.customer_id for e in by_type.get("reward_balance_changed", [])})):
        _rewards_refresh(ids)
    for ids in _chunks(sorted({e.customer_id for e in by_type.get("preference_set", [])})):
        _preferences_refresh(ids)


@dataclass
class _OrdersDelta:
    count: int = 0
    total: Decimal = Decimal("0")
    discounted: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, event: Event | _NewEvent) -> None:
        self.count += 1
        # each order's total as the column stores it, as the recompute casts it
        self.total += Decimal(str(event.properties.get("total", 0))).quantize(CENT, ROUND_HALF_UP)
        self.discounted += "discount_code" in event.properties
        self.first = min(self.first or event.occurred_at, event.occurred_at)
        self.last = max(self.last or event.occurred_at, event.occurred_at)


def _customers_add(
    rows: list[tuple],
    columns: list[tuple[str, str, str]],
    derived: list[tuple[str, str]] = (),
    changes: str = "",
) -> None:
    """One UPDATE joining each stored customer (first value of a row) to the batch's values.

    `columns` are (column, PostgreSQL type, how the stored value `{c}` takes the batch's `{v}`);
    `derived` (PostgreSQL only) are (column, expression over the table `{t}` and the batch `d`);
    `changes`, over the first column, when the update changes anything (other rows are not
    rewritten: every rewrite adds an entry to each of the customer table's indexes).
    """
    table = Customer._meta.db_table
    pg = connection.vendor == "postgresql"
    names = ["id", *(name for name, _, _ in columns)]
    if pg:
        types = ["bigint", *(kind for _, kind, _ in columns)]
        source = f"unnest({', '.join(f'%s::{t}[]' for t in types)}) AS d({', '.join(names)})"
        value = "d.{}".format
    else:
        row = "(" + ", ".join(["%s"] * len(names)) + ")"
        source = f"(VALUES {', '.join([row] * len(rows))}) AS d"
        value = lambda name: f"d.column{names.index(name) + 1}"  # noqa: E731
    least, greatest = ("LEAST", "GREATEST") if pg else ("min", "max")
    sets = ", ".join(
        f"{name} = " + how.format(c=f"{table}.{name}", v=value(name), least=least, greatest=greatest)
        for name, _, how in columns
    )
    sets += "".join(f", {name} = {how.format(t=table)}" for name, how in derived)
    if pg:
        params = [list(column) for column in zip(*rows, strict=True)]
    else:
        adapt = connection.ops.adapt_datetimefield_value
        params = [adapt(v) if isinstance(v, datetime) else v for r in rows for v in r]
    where = f"{table}.id = {value('id')}"
    if changes:
        first = columns[0][0]
        where += " AND (" + changes.format(c=f"{table}.{first}", v=value(first)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {sets} FROM {source} WHERE {where}", params)


SUM = "{c} + {v}"
EARLIEST = "{least}(COALESCE({c}, {v}), {v})"
LATEST = "{greatest}(COALESCE({c}, {v}), {v})"
LATER = "{c} IS NULL OR {c} < {v}"  # when LATEST changes the stored value
ORDER_SUMS = [
    ("order_count", "integer", SUM),
    ("total_spent", "numeric", SUM),
    ("discount_order_count", "integer", SUM),
    ("first_order_at", "timestamptz", EARLIEST),
    ("last_order_at", "timestamptz", LATEST),
]


# On PostgreSQL the same UPDATE also writes the ratios `_order_ratios_refresh` derives; every
# expression in SET reads the row as it was, so each new sum is spelled out again.
_COUNT = "({t}.order_count + d.order_count)"
_TOTAL = "({t}.total_spent + d.total_spent)"
_DISCOUNTED = "({t}.discount_order_count + d.discount_order_count)"
_FIRST = "LEAST(COALESCE({t}.first_order_at, d.first_order_at), d.first_order_at)"
_LAST = "GREATEST(COALESCE({t}.last_order_at, d.last_order_at), d.last_order_at)"
ORDER_RATIOS = [
    ("average_order_value", f"CAST({_TOTAL} / {_COUNT} AS numeric(14, 2))"),
    ("discount_order_share", f"CAST({_DISCOUNTED} AS double precision) / CAST({_COUNT} AS double precision)"),
    (
        "predicted_next_order_at",
        f"CASE WHEN {_COUNT} >= 2 THEN {_LAST} + ({_LAST} - {_FIRST}) / ({_COUNT} - 1) END",
    ),
]


def _orders_add(orders: list[Event | _NewEvent]) -> None:
    deltas: dict[int, _OrdersDelta] = {}
    for event in orders:
        deltas.setdefault(event.customer_id, _OrdersDelta()).add(event)
    for ids in _chunks(sorted(deltas), _param_limit() // (len(ORDER_SUMS) + 1)):
        rows = [
            (pk, d.count, str(d.total), d.discounted, d.first, d.last) for pk in ids for d in [deltas[pk]]
        ]
        if connection.vendor == "postgresql":
            _customers_add(rows, ORDER_SUMS, derived=ORDER_RATIOS)
        else:  # SQLite cannot divide an interval: the ratios follow from the stored sums
            _customers_add(rows, ORDER_SUMS)
            _order_ratios_refresh(Customer.objects.filter(pk__in=ids))


def _clicks_add(clicks: list[Event | _NewEvent]) -> None:
    last: dict[int, datetime] = {}
    for event in clicks:
        last[event.customer_id] = max(last.get(event.customer_id, event.occurred_at), event.occurred_at)
    for ids in _chunks(sorted(last), _param_limit() // 2):
        _customers_add(
            [(pk, last[pk]) for pk in ids], [("last_sms_click_at", "timestamptz", LATEST)], changes=LATER
        )


def customer_metrics_recompute(*, customer_ids: list[int]) -> None:
    """Every event-derived metric of these customers rebuilt from their whole history."""
    customer_metrics_refresh(customer_ids=customer_ids)
    clicks = Event.objects.filter(customer=OuterRef("pk"), type="sms_clicked").order_by()
    Customer.objects.filter(pk__in=customer_ids).update(
        last_sms_click_at=Subquery(clicks.values("customer").annotate(v=Max("occurred_at")).values("v"))
    )
    _rewards_refresh(customer_ids)
    _preferences_refresh(customer_ids)


def store_metrics_recompute(*, store: Store) -> int:
    """The reference: every customer of the store recomputed from history, a chunk at a time."""
    ids = list(Customer.objects.filter(store=store).order_by("pk").values_list("pk", flat=True))
    for chunk in _chunks(ids, 2_000):
        customer_metrics_recompute(customer_ids=chunk)
    return len(ids)


def customer_metrics_refresh(*, customer_ids: list[int]) -> None:
    """Order metrics for these customers from their whole order history, in two UPDATE statements."""
    orders = Event.objects.filter(customer=OuterRef("pk"), type="order_placed").order_by().values("customer")

    def aggregate(expression, queryset=orders):
        return Subquery(queryset.annotate(v=expression).values("v"))

    total = Cast(KT("properties__total"), MONEY)
    discounted = orders.filter(properties__has_key="discount_code")
    with transaction.atomic():
        customers = Customer.objects.filter(pk__in=customer_ids)
        customers.update(
            order_count=Coalesce(aggregate(Count("pk")), 0),
            total_spent=Coalesce(aggregate(Sum(total)), Value(Decimal("0")), output_field=MONEY),
            discount_order_count=Coalesce(aggregate(Count("pk"), discounted), 0),
            first_order_at=aggregate(Min("occurred_at")),
            last_order_at=aggregate(Max("occurred_at")),
        )
        _order_ratios_refresh(customers)


def _money_total():
    if connection.vendor == "sqlite":
        # SQLite stores a whole-number sum as an integer, and integer / integer truncates.
        return Cast(F("total_spent"), FloatField())
    return F("total_spent")


def _order_ratios_refresh(customers) -> None:
    """Average order value, discount share and next order, from the stored counts and sums."""
    customers.update(
        average_order_value=Case(
            When(order_count__gt=0, then=Cast(_money_total() / F("order_count"), MONEY)),
            default=Value(Decimal("0")),
        ),
        discount_order_share=Case(
            When(
                order_count__gt=0,
                then=Cast(F("discount_order_count"), FloatField()) / Cast(F("order_count"), FloatField()),
            ),
            default=Value(0.0),
        ),
        predicted_next_order_at=None,
    )
    _predictions_refresh(customers)


def _predictions_refresh(customers) -> None:
    """Next order expected one average gap after the last."""
    repeat = customers.filter(order_count__gte=2)
    if connection.vendor == "postgresql":
        repeat.update(
            predicted_next_order_at=RawSQL(
                "last_order_at + (last_order_at - first_order_at) / (order_count - 1)", []
            )
        )
        return
    # SQLite has no interval division
    rows = list(repeat.only("pk", "first_order_at", "last_order_at", "order_count"))
    for customer in rows:
        gap = (customer.last_order_at - customer.first_order_at) / (customer.order_count - 1)
        customer.predicted_next_order_at = customer.last_order_at + gap
    Customer.objects.bulk_update(rows, ["predicted_next_order_at"], batch_size=CHUNK)


def _latest(event_type: str, key: str):
    return Event.objects.filter(customer=OuterRef("pk"), type=event_type, properties__has_key=key).order_by(
        "-occurred_at", "-pk"
    )


def _rewards_refresh(ids: list[int]) -> None:
    latest = _latest("reward_balance_changed", "balance")
    points = _latest("reward_balance_changed", "points")
    status = _latest("reward_balance_changed", "loyalty_status")
    Customer.objects.filter(pk__in=ids).update(
        reward_balance=Coalesce(
            Subquery(latest.annotate(v=Cast(KT("properties__balance"), MONEY)).values("v")[:1]),
            F("reward_balance"),
            output_field=MONEY,
        ),
        reward_points=Coalesce(
            Subquery(points.annotate(v=Cast(KT("properties__points"), IntegerField())).values("v")[:1]),
            F("reward_points"),
        ),
        loyalty_status=Coalesce(
            Subquery(status.annotate(v=KT("properties__loyalty_status")).values("v")[:1]), F("loyalty_status")
        ),
    )


def _preferences_refresh(ids: list[int]) -> None:
    for prop, column in (("topics", "topics"), ("categories", "favorite_categories")):
        latest = _latest("preference_set", prop)
        Customer.objects.filter(pk__in=ids).filter(Exists(latest)).update(
            **{column: Subquery(latest.annotate(v=KeyTransform(prop, "properties")).values("v")[:1])}
        )


# --- products ---------------------------------------------------------------------------------


@dataclass
class _ProductInput:
    path: str
    external_id: str
    values: dict[str, Any]
    category: tuple[str, str] | None  # (external_id, name)


def _category_clean(value: Any, path: str, errors: Errors) -> tuple[str, str] | None:
    if isinstance(value, str):
        name = schemas.text(value, path, errors, max_length=100)
        return (name.lower(), name) if name else None
    if isinstance(value, dict):
        name = schemas.text(value.get("name", ""), join(path, "name"), errors, max_length=100)
        external_id = value.get("id", name)
        external_id = schemas.identifier(external_id, join(path, "id"), errors) if external_id else None
        if not name:
            errors.add(join(path, "name"), "is required")
        return (external_id, name) if external_id and name else None
    errors.add(path, "must be a category name or an object with id and name")
    return None


def _product_clean(value: Any, path: str, errors: Errors) -> _ProductInput | None:
    if schemas.obj(value, path, errors) is None:
        return None
    before = len(errors)
    for key in sorted(set(value) - PRODUCT_KEYS):
        errors.add(join(path, key), "is not a known field")
    raw_id = value.get("id", value.get("external_id"))
    external_id = None
    if raw_id is None:
        errors.add(join(path, "id"), "is required: the product's id in the store")
    else:
        external_id = schemas.identifier(raw_id, join(path, "id"), errors)
    checks = {
        "name": lambda v, p: schemas.text(v, p, errors, max_length=200),
        "url": lambda v, p: schemas.url(v, p, errors),
        "price": lambda v, p: schemas.number(v, p, errors),
        "stock": lambda v, p: schemas.integer(v, p, errors, minimum=None),
        "consumable": lambda v, p: schemas.boolean(v, p, errors),
        "reorder_window_days": lambda v, p: schemas.integer(v, p, errors, minimum=1, maximum=3650),
        "usage_tip": lambda v, p: schemas.text(v, p, errors, max_length=300),
    }
    values = {}
    for name, check in checks.items():
        if value.get(name) is not None:
            cleaned = check(value[name], join(path, name))
            if cleaned is not None:
                values[name] = cleaned
    if value.get("margin_class") is not None:
        if value["margin_class"] in Product.MarginClass.values:
            values["margin_class"] = value["margin_class"]
        else:
            errors.add(join(path, "margin_class"), "must be one of low, medium, high")
    category = None
    if value.get("category") is not None:
        category = _category_clean(value["category"], join(path, "category"), errors)
    if len(errors) > before:
        return None
    return _ProductInput(path=path, external_id=external_id, values=values, category=category)


def _categories_ensure(store: Store, wanted: dict[str, str]) -> dict[str, Category]:
    existing = {c.external_id: c for c in Category.objects.filter(store=store, external_id__in=list(wanted))}
    missing = [Category(store=store, external_id=k, name=n) for k, n in wanted.items() if k not in existing]
    renamed = [c for k, c in existing.items() if c.name != wanted[k]]
    for category in renamed:
        category.name = wanted[category.external_id]
    Category.objects.bulk_create(missing, ignore_conflicts=True)
    Category.objects.bulk_update(renamed, ["name"])
    return {c.external_id: c for c in Category.objects.filter(store=store, external_id__in=list(wanted))}


def products_upsert(
    *, store: Store, payloads: list[Any], now: datetime, root: str = "products"
) -> ProductsResult:
    """Create or update products by id; every price and stock change is kept as a ProductChange."""
    errors = Errors()
    items = [_product_clean(p, _item_path(root, i), errors) for i, p in enumerate(payloads)]
    if errors:
        raise ValidationFailed(errors)
    merged: dict[str, _ProductInput] = {}
    for item in items:
        if item.external_id in merged:
            merged[item.external_id].values.update(item.values)
            merged[item.external_id].category = item.category or merged[item.external_id].category
        else:
            merged[item.external_id] = _ProductInput(
                item.path, item.external_id, dict(item.values), item.category
            )
    with transaction.atomic():
        existing = {
            p.external_id: p
            for chunk in _chunks(list(merged))
            for p in Product.objects.select_for_update().filter(store=store, external_id__in=chunk)
        }
        for item in merged.values():
            if item.external_id not in existing:
                for required in ("name", "url"):
                    if required not in item.values:
                        errors.add(join(item.path, required), "is required for a new product")
        if errors:
            raise ValidationFailed(errors)
        categories = _categories_ensure(store, dict(i.category for i in merged.values() if i.category))
        created, updated, changes = [], [], []
        for item in merged.values():
            values = dict(item.values)
            if item.category:
                values["category"] = categories[item.category[0]]
            product = existing.get(item.external_id)
            if product is None:
                created.append(Product(store=store, external_id=item.external_id, **values))
                continue
            changes.extend(_product_changes(product, values, now=now))
            if any(getattr(product, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(product, name, value)
                product.updated_at = now
                updated.append(product)
        Product.objects.bulk_create(created, batch_size=CHUNK)
        fields = sorted(
            {name for item in merged.values() for name in item.values}
            | {"updated_at"}
            | ({"category"} if any(i.category for i in merged.values()) else set())
        )
        Product.objects.bulk_update(updated, fields, batch_size=CHUNK)
        stored_changes = ProductChange.objects.bulk_create(changes, batch_size=CHUNK)
        change_ids = [c.pk for c in stored_changes]
        if change_ids:
            transaction.on_commit(
                lambda: products_changed.send(Product, store=store, product_changes=change_ids)
            )
    products = {**existing, **{p.external_id: p for p in created}}
    return ProductsResult(
        products=[products[i.external_id] for i in items],
        created=len(created),
        updated=len(updated),
        change_ids=change_ids,
    )


def _product_changes(product: Product, values: dict[str, Any], *, now: datetime) -> list[ProductChange]:
    changes = []
    for name in (ProductChange.Field.PRICE, ProductChange.Field.STOCK):
        if name in values and Decimal(values[name]) != Decimal(getattr(product, name)):
            changes.append(
                ProductChange(
                    product=product,
                    field=name,
                    old_value=getattr(product, name),
                    new_value=values[name],
                    changed_at=now,
                )
            )
    return changes


def product_save(*, product: Product, now: datetime) -> list[ProductChange]:
    """Save a product edited by hand, keeping its price and stock changes like an upsert does."""
    with transaction.atomic():
        before = Product.objects.select_for_update().filter(pk=product.pk).first() if product.pk else None
        changes = (
            []
            if before is None
            else _product_changes(before, {"price": product.price, "stock": product.stock}, now=now)
        )
        product.save()
        for change in changes:
            change.product = product
        stored = ProductChange.objects.bulk_create(changes)
        change_ids = [c.pk for c in stored]
        if change_ids:
            store = product.store
            transaction.on_commit(
                lambda: products_changed.send(Product, store=store, product_changes=change_ids)
            )
    return stored


# --- the app's own writes: one customer, one event, one consent change -------------------------
# Link taps, keyword replies, the preference page and the sign-up pages come in here, so what they
# record updates the customer's metrics and reaches flows and segments like an API event does.

STATUS_AFTER = {
    ConsentRecord.Action.OPT_IN: Customer.Consent.SUBSCRIBED,
    ConsentRecord.Action.CONFIRMED: Customer.Consent.SUBSCRIBED,
    ConsentRecord.Action.REQUESTED: Customer.Consent.PENDING,
    ConsentRecord.Action.OPT_OUT: Customer.Consent.UNSUBSCRIBED,
    ConsentRecord.Action.REFUSED: None,  # an attempt on record; the status stays
}


def customer_for_phone(*, store: Store, phone: str, first_name: str = "") -> Customer:
    """The store's customer with this E.164 number, created without consent if new."""
    customer = Customer.objects.filter(store=store, phone=phone).first()
    if customer is None:
        values = {"first_name": first_name} if first_name else {}
        # A concurrent request may create the same number a moment earlier: keep theirs.
        Customer.objects.bulk_create(
            [_new_customer(store, _Target(None, "", phone, values))], ignore_conflicts=True
        )
        customer = Customer.objects.get(store=store, phone=phone)
    customer.store = store
    return customer


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
        stored = _events_insert([event])
        _customers_refresh(stored)
        _events_announce(customer.store, stored)
    return stored[0] if stored else None


def _events_announce(store: Store, events: list[Event]) -> None:
    event_ids = [event.pk for event in events]
    if event_ids:
        transaction.on_commit(lambda: events_recorded.send(Event, store=store, event_ids=event_ids))


def _opt_outs_on_timeline(store: Store, records: list[ConsentRecord]) -> None:
    """Each opt-out in the ledger is also an `sms_opted_out` event on the customer's timeline."""
    events = [
        Event(
            store_id=record.store_id,
            customer_id=record.customer_id,
            type="sms_opted_out",
            occurred_at=record.occurred_at,
            received_at=record.recorded_at,
            properties={"source": record.source, "keyword": record.keyword},
            idempotency_key=f"sms_opted_out:{record.pk}",
        )
        for record in records
        if record.action == ConsentRecord.Action.OPT_OUT
    ]
    _events_announce(store, _events_insert(events))


def consent_change(
    *,
    customer: Customer,
    action: str,
    source: str,
    occurred_at: datetime,
    wording: str = "",
    keyword: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> ConsentRecord:
    """Append to the ledger and move the customer's status; an opt-out is announced after commit."""
    action = ConsentRecord.Action(action)
    with transaction.atomic():
        record = ConsentRecord.objects.create(
            store_id=customer.store_id,
            customer=customer,
            action=action,
            source=source,
            wording=wording,
            keyword=keyword,
            ip_address=ip_address,
            user_agent=user_agent[:300],
            occurred_at=occurred_at,
        )
        if STATUS_AFTER[action] is not None:
            customer.sms_consent = STATUS_AFTER[action]
            customer.sms_consent_at = occurred_at
            Customer.objects.filter(pk=customer.pk).update(
                sms_consent=customer.sms_consent, sms_consent_at=occurred_at
            )
        if action == ConsentRecord.Action.OPT_OUT:
            _opt_outs_on_timeline(customer.store, [record])
            transaction.on_commit(
                lambda: customer_opted_out.send(Customer, customer=customer, source=source)
            )
    return record


def phone_opt_out(
    *, phone: str, source: str, occurred_at: datetime, wording: str, keyword: str = ""
) -> list[ConsentRecord]:
    """Opt this number out of every store that has it as a customer, one ledger row each.

    For a STOP that no single store can be told from: it must not be lost, so it counts for all.
    """
    with transaction.atomic():
        customers = list(
            Customer.objects.filter(phone=phone).exclude(sms_consent=Customer.Consent.UNSUBSCRIBED)
        )
        records = ConsentRecord.objects.bulk_create(
            [
                ConsentRecord(
                    store_id=customer.store_id,
                    customer=customer,
                    action=ConsentRecord.Action.OPT_OUT,
                    source=source,
                    wording=wording,
                    keyword=keyword,
                    occurred_at=occurred_at,
                )
                for customer in customers
            ]
        )
        Customer.objects.filter(pk__in=[c.pk for c in customers]).update(
            sms_consent=Customer.Consent.UNSUBSCRIBED, sms_consent_at=occurred_at
        )
        stores = Store.objects.in_bulk({c.store_id for c in customers})
        for store in stores.values():
            _opt_outs_on_timeline(store, [r for r in records if r.store_id == store.pk])
        for customer in customers:
            customer.store = stores[customer.store_id]
            customer.sms_consent = Customer.Consent.UNSUBSCRIBED
        transaction.on_commit(
            lambda: [customer_opted_out.send(Customer, customer=c, source=source) for c in customers]
        )
    return records
