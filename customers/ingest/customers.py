"""Customers in: profiles upserted by external id or phone, their consent recorded in the ledger.

Each service checks the whole batch first (a batch with one bad item stores nothing), then writes
in bulk inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_ipv46_address
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Q,
)
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL

from customers.ingest import schemas
from customers.ingest.batches import CHUNK, chunks, item_path, param_limit
from customers.ingest.consent import STATUS_AFTER, opt_outs_on_timeline
from customers.ingest.schemas import Errors, ValidationFailed, join
from customers.models import ConsentRecord, Customer, Store
from customers.phones import InvalidPhone, phone_facts, phone_normalize
from customers.signals import consent_requested, customer_opted_out

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
    if not isinstance(status, str) or status not in CONSENT_ACTIONS:
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
            if not isinstance(ip_address, str) or not schemas.is_clean_text(ip_address):
                raise ValidationError("not a string")
            validate_ipv46_address(ip_address)
        except ValidationError:
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
class Target:
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
    size = max(1, min(len(external_ids) + len(phones), param_limit() - 1))
    found: dict[int, tuple] = {}
    pk = names.index("id")
    keys = [("external_id", k) for k in external_ids] + [("phone", k) for k in phones]
    for chunk in chunks(keys, size):
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


def customers_plan(store: Store, items: list[CustomerInput], errors: Errors) -> list[Target | None]:
    """Match each item to an existing or new customer, without writing; conflicts become errors."""
    existing = _existing_customers(store, items)
    by_external = {c.external_id: c for c in existing if c.external_id}
    by_phone = {c.phone: c for c in existing}
    targets: dict[Any, Target] = {}
    new_by_external: dict[str, Target] = {}
    new_by_phone: dict[str, Target] = {}
    planned: list[Target | None] = []
    for item in items:
        target = _match(item, by_external, by_phone, targets, new_by_external, new_by_phone, errors)
        if target is not None:
            target.absorb(item)
        planned.append(target)
    return planned


def _match(item, by_external, by_phone, targets, new_by_external, new_by_phone, errors) -> Target | None:
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
        target = targets.setdefault(customer.pk, Target(customer, customer.external_id, customer.phone))
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
        pending = Target(None, item.external_id, item.phone)
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


def _new_customer(store: Store, target: Target) -> Customer:
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


def _created_meanwhile(store: Store, target: Target) -> Customer:
    """A concurrent request created this external id with another phone; ours was not inserted."""
    customer = Customer.objects.filter(store=store, external_id=target.external_id).first()
    if customer is None:
        raise ValidationFailed([schemas.FieldError("customer.phone", "conflicts with a concurrent update")])
    return customer


def _changed_fields(store: Store, target: Target) -> list[str]:
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


def customers_write(store: Store, planned: list[Target | None], *, now: datetime) -> tuple[set[int], int]:
    """Create and update the planned customers in bulk; returns (created ids, updated count)."""
    unique = list({id(t): t for t in planned if t is not None}.values())
    new = [t for t in unique if t.customer is None]
    if new:
        Customer.objects.bulk_create(
            [_new_customer(store, t) for t in new], batch_size=CHUNK, ignore_conflicts=True
        )
        stored = {}
        for chunk in chunks([t.phone for t in new]):
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
    _consents_record(store, consents, now=now)
    return created_ids, len(updates)


def _consents_record(store: Store, consents: list[tuple[Customer, ConsentInput]], *, now: datetime) -> None:
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
                recorded_at=now,
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
    opt_outs_on_timeline(store, records)
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
    items = [customer_clean(p, item_path(root, i), errors, now=now) for i, p in enumerate(payloads)]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        planned = customers_plan(store, items, errors)
        if errors:
            raise ValidationFailed(errors)
        created_ids, updated = customers_write(store, planned, now=now)
    return UpsertResult(customers=[t.customer for t in planned], created_ids=created_ids, updated=updated)


def customer_for_phone(*, store: Store, phone: str, first_name: str = "") -> Customer:
    """The store's customer with this E.164 number, created without consent if new."""
    customer = Customer.objects.filter(store=store, phone=phone).first()
    if customer is None:
        values = {"first_name": first_name} if first_name else {}
        # A concurrent request may create the same number a moment earlier: keep theirs.
        Customer.objects.bulk_create(
            [_new_customer(store, Target(None, "", phone, values))], ignore_conflicts=True
        )
        customer = Customer.objects.get(store=store, phone=phone)
    customer.store = store
    return customer
