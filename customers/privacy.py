"""Privacy requests: one customer's data as JSON, and the erasure of customers, each logged.

The admin's customer page, the API and the Shopify privacy webhooks call these. Campaigns' rows
(texts, replies, links) are theirs to export and erase: customers never imports campaigns, so it
asks through `customer_data_exporting` and `customers_erasing` (customers/signals.py) and adds what
the receivers return.

An erasure removes the profile, its events and whatever campaigns holds on the customer. The
consent ledger is the exception the law asks for: its rows stay, as proof that the number agreed
(or refused) and when, with which wording; they lose their link to the customer and their device
facts (IP address, user agent), and keep the number only as a one-way hash (`phone_hash`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Case, Value, When
from django.utils.crypto import salted_hmac

from customers.models import ConsentRecord, Customer, CustomerPrediction, Event, PrivacyLogEntry, Store
from customers.signals import customer_data_exporting, customers_erasing

# Never exported: the secret behind the customer's preference-page link.
SECRET_FIELDS = {"prefs_token"}
# Ledger rows unlinked per statement: one CASE branch per customer.
UNLINK_CHUNK = 1000


def phone_hash(phone: str) -> str:
    """A one-way hash of the number, keyed with SECRET_KEY: the same number always gives the same
    hash (so a later dispute about a number can find its ledger rows), and the hash gives no
    number back without the key."""
    return salted_hmac("customers.privacy.phone", phone, algorithm="sha256").hexdigest()


def customer_data_export(*, customer: Customer, actor: str, now: datetime) -> dict[str, Any]:
    """Everything stored about one customer, as JSON-ready data; the export is logged."""
    data: dict[str, Any] = {
        "exported_at": now.isoformat(),
        "store": customer.store.slug,
        "profile": _profile(customer),
        "events": [
            json_ready(row)
            for row in Event.objects.filter(customer=customer)
            .order_by("occurred_at", "id")
            .values("type", "occurred_at", "received_at", "properties", "idempotency_key")
        ],
        "consent": [
            json_ready(row)
            for row in ConsentRecord.objects.filter(customer=customer)
            .order_by("occurred_at", "id")
            .values("action", "source", "wording", "keyword", "ip_address", "user_agent", "occurred_at")
        ],
    }
    predicted = CustomerPrediction.objects.filter(customer=customer).values(
        "order_probability", "next_order_at", "churn_risk", "churn_band", "predicted_value", "offer_uplift",
        "best_hour", "reasons", "scored_at",
    ).first()  # fmt: skip
    data["predictions"] = json_ready(predicted) if predicted else None
    for _receiver, part in customer_data_exporting.send(Customer, customer=customer):
        data.update(part or {})
    counts = {key: len(value) for key, value in data.items() if isinstance(value, list)}
    PrivacyLogEntry.objects.create(
        store=customer.store, action="export", actor=actor, customer_id=customer.pk,
        phone_hash=phone_hash(customer.phone), occurred_at=now, details=counts,
    )  # fmt: skip
    return data


def customers_erase(*, store: Store, customer_ids: list[int], actor: str, now: datetime) -> dict[str, int]:
    """Erase these customers of the store in one transaction; returns what went, counted.

    Ids of other stores or of no customer are ignored. Each erased customer gets a log entry.
    """
    with transaction.atomic():
        people = dict(
            Customer.objects.select_for_update()
            .filter(store=store, id__in=list(customer_ids))
            .values_list("id", "phone")
        )
        if not people:
            return {"customers": 0}
        hashes = {cid: phone_hash(phone) for cid, phone in people.items()}
        counts: dict[str, int] = {"customers": len(people)}
        for _receiver, part in customers_erasing.send(Customer, store=store, customers=people):
            counts.update(part or {})
        counts["consent_records_kept"] = _ledger_unlink(hashes)
        deleted = Event.objects.filter(store=store, customer_id__in=list(people)).delete()[1]
        counts["events"] = deleted.get("customers.Event", 0)
        Customer.objects.filter(store=store, id__in=list(people)).delete()
        PrivacyLogEntry.objects.bulk_create(
            PrivacyLogEntry(store=store, action="erase", actor=actor, customer_id=cid, phone_hash=hashes[cid],
                            occurred_at=now, details=counts)
            for cid in people
        )  # fmt: skip
    return counts


def _ledger_unlink(hashes: dict[int, str]) -> int:
    ids = list(hashes)
    unlinked = 0
    for start in range(0, len(ids), UNLINK_CHUNK):
        chunk = ids[start : start + UNLINK_CHUNK]
        each = Case(*(When(customer_id=cid, then=Value(hashes[cid])) for cid in chunk))
        unlinked += ConsentRecord.objects.filter(customer_id__in=chunk).unlink(phone_hash=each)
    return unlinked


def _profile(customer: Customer) -> dict[str, Any]:
    fields = [f for f in Customer._meta.concrete_fields if f.name not in SECRET_FIELDS]
    return json_ready({f.attname: getattr(customer, f.attname) for f in fields})


def json_ready(row: dict[str, Any]) -> dict[str, Any]:
    """Dates, decimals and the like as the JSON encoder of Django writes them."""
    encoder = DjangoJSONEncoder()
    return {k: v if isinstance(v, str | int | float | bool | list | dict | None) else encoder.default(v)
            for k, v in row.items()}  # fmt: skip
