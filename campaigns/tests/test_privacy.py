"""Privacy requests: one customer's data exported (profile, events, consent, texts, links), customers
erased (the consent ledger kept as proof, unlinked, the number hashed), each logged; and the store's
retention of text wording, enforced by the tick."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import FlowRun, InboundMessage, Link, Message, UndeliverableNumber
from campaigns.tests.flowkit import make_customer, make_store, record
from campaigns.tests.test_flow_engine import enrol, make_flow
from campaigns.tick import tick
from customers.api.auth import api_key_create
from customers.ingest.consent import consent_change
from customers.models import ConsentRecord, Customer, Event, EventItem, PrivacyLogEntry
from customers.privacy import customer_data_export, customers_erase, phone_hash

pytestmark = pytest.mark.django_db
WORDING = "Yes, text me offers. Reply STOP to cancel."


def with_history(store, now, **fields) -> Customer:
    """A subscriber with an order, a text and its link, a reply, and a flow run."""
    customer = make_customer(store, **fields)
    consent_change(customer=customer, action="opt_in", source="signup_page", wording=WORDING,
                   occurred_at=now - timedelta(days=40), ip_address="203.0.113.7", user_agent="Phone/1.0")
    record(customer, "order_placed", now - timedelta(days=3), order_id="o1", total=40,
           items=[{"product_id": "sku-1", "name": "Tea", "price": 40, "quantity": 1}])
    text = Message.objects.create(
        store=store, customer=customer, to=customer.phone, body=f"Hi {customer.first_name}, tea is back",
        idempotency_key=f"privacy-{customer.pk}", status=Message.Status.DELIVERED,
        created_at=now - timedelta(days=2), sent_at=now - timedelta(days=2),
    )
    Link.objects.create(store=store, customer=customer, message=text, code=f"c{customer.pk}",
                        target_url="https://shop.example.com/tea")
    InboundMessage.objects.create(store=store, customer=customer, from_number=customer.phone, body="Love it",
                                  outcome=InboundMessage.Outcome.MESSAGE, received_at=now - timedelta(days=1))
    UndeliverableNumber.objects.create(store=store, phone=customer.phone, error_code="21614", recorded_at=now)
    return customer  # fmt: skip


@pytest.fixture
def store():
    return make_store()


def test_an_export_holds_the_profile_events_consent_texts_and_links_and_is_logged(store, now):
    ana = with_history(store, now, first_name="Ana", email="ana@example.com")

    data = customer_data_export(customer=ana, actor="staff admin", now=now)

    assert json.loads(json.dumps(data)) == data  # JSON as it is
    assert data["profile"]["phone"] == ana.phone and data["profile"]["email"] == "ana@example.com"
    assert "prefs_token" not in data["profile"]
    assert [e["type"] for e in data["events"]] == ["order_placed"]
    assert [(c["action"], c["wording"], c["ip_address"]) for c in data["consent"]] == [
        ("opt_in", WORDING, "203.0.113.7")
    ]
    assert [t["body"] for t in data["texts"]] == ["Hi Ana, tea is back"]
    assert [t["body"] for t in data["texts_received"]] == ["Love it"]
    assert [link["target_url"] for link in data["links"]] == ["https://shop.example.com/tea"]
    entry = PrivacyLogEntry.objects.get()
    assert (entry.action, entry.actor, entry.customer_id, entry.phone_hash, entry.occurred_at) == (
        "export", "staff admin", ana.pk, phone_hash(ana.phone), now
    )
    assert entry.details == {"events": 1, "consent": 1, "texts": 1, "texts_received": 1, "links": 1}


def test_an_erasure_removes_everything_but_the_ledger_which_keeps_its_proof_unlinked(store, now):
    ana, bo = with_history(store, now), with_history(store, now)
    make_flow(store)
    enrol(store.flows.get(), [ana, bo])
    # a text from her number before she was a customer
    InboundMessage.objects.create(store=store, from_number=ana.phone, body="who is this?",
                                  outcome=InboundMessage.Outcome.MESSAGE, received_at=now)  # fmt: skip

    counts = customers_erase(store=store, customer_ids=[ana.pk], actor="staff admin", now=now)

    assert counts == {"customers": 1, "texts": 1, "texts_received": 2, "links": 1, "flow_runs": 1,
                      "consent_records_kept": 1, "events": 1}  # fmt: skip
    assert not Customer.objects.filter(pk=ana.pk).exists()
    for model in (Event, EventItem, Message, Link, FlowRun):
        assert not model.objects.filter(customer_id=ana.pk).exists(), model
    assert not InboundMessage.objects.filter(from_number=ana.phone).exists()
    assert not UndeliverableNumber.objects.filter(phone=ana.phone).exists()
    [kept] = ConsentRecord.objects.filter(phone_hash=phone_hash(ana.phone))
    assert (kept.customer_id, kept.action, kept.wording, kept.source, kept.ip_address, kept.user_agent) == (
        None, "opt_in", WORDING, "signup_page", None, ""
    )
    assert kept.occurred_at == now - timedelta(days=40)
    # Bo is untouched
    assert Message.objects.filter(customer=bo).count() == 1 and bo.consent_records.count() == 1
    entry = PrivacyLogEntry.objects.get()
    assert (entry.action, entry.customer_id, entry.phone_hash) == ("erase", ana.pk, phone_hash(ana.phone))


def test_an_erasure_is_set_based(store, now):
    few = [with_history(store, now).pk for _ in range(2)]
    many = [with_history(store, now).pk for _ in range(12)]

    with CaptureQueriesContext(connection) as two:
        customers_erase(store=store, customer_ids=few, actor="test", now=now)
    with CaptureQueriesContext(connection) as twelve:
        customers_erase(store=store, customer_ids=many, actor="test", now=now)

    assert len(twelve.captured_queries) == len(two.captured_queries)
    assert PrivacyLogEntry.objects.filter(action="erase").count() == 14


def test_an_erasure_ignores_other_stores_customers(store, now):
    theirs = with_history(make_store("theirs"), now)

    assert customers_erase(store=store, customer_ids=[theirs.pk], actor="x", now=now) == {"customers": 0}
    assert Customer.objects.filter(pk=theirs.pk).exists() and not PrivacyLogEntry.objects.exists()


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def api(client, store):
    key = api_key_create(store=store, name="Shopify")[1]

    def call(method: str, path: str):
        headers = {"Authorization": f"Bearer {key}"}
        return getattr(client, method)(f"/api/v1/customers/{path}", headers=headers)

    return call


def test_the_api_exports_and_erases_by_external_id_or_phone(api, store, now, frozen_now):
    ana = with_history(store, now, external_id="web-42")
    bo = with_history(store, now)

    exported = api("get", "web-42/export")
    erased = api("post", "web-42/erase")
    deleted = api("delete", bo.phone)

    assert exported.status_code == 200 and exported.json()["profile"]["external_id"] == "web-42"
    assert erased.status_code == 200 and erased.json()["erased"]["customers"] == 1
    assert deleted.status_code == 200 and deleted.json()["erased"]["texts"] == 1
    assert not Customer.objects.filter(pk__in=[ana.pk, bo.pk]).exists()
    assert api("post", "web-42/erase").status_code == 404  # a retried erasure finds no one
    log = list(PrivacyLogEntry.objects.order_by("pk").values_list("action", "actor", "occurred_at"))
    assert log == [("export", "API key Shopify (" + log[0][1].split("(")[1], now)] + [
        ("erase", log[0][1], now)
    ] * 2


@pytest.mark.parametrize("method, path", [("get", "nobody/export"), ("post", "+1/erase"), ("get", "x/erase")])
def test_the_api_answers_4xx_for_no_such_customer_or_method(api, store, method, path):
    assert 400 <= api(method, path).status_code < 500
    assert not PrivacyLogEntry.objects.exists()


# --- retention --------------------------------------------------------------------------------


def text(customer, body, at, status=Message.Status.DELIVERED, **fields) -> Message:
    return Message.objects.create(store=customer.store, customer=customer, to=customer.phone, body=body,
                                  idempotency_key=f"{body}-{at}", status=status, created_at=at, **fields)


def test_the_tick_blanks_wording_past_the_stores_retention_and_keeps_the_rows(store, now):
    store.message_retention_days = 30
    store.save()
    ana = make_customer(store)
    old = text(ana, "text 1", now - timedelta(days=31))
    recent = text(ana, "text 2", now - timedelta(days=29))
    waiting = text(ana, "queued", now - timedelta(days=31), status=Message.Status.HELD,
                   send_after=now + timedelta(days=1))  # fmt: skip
    reply = InboundMessage.objects.create(
        store=store, customer=ana, from_number=ana.phone, body="STOP", reply="You're unsubscribed.",
        outcome=InboundMessage.Outcome.MESSAGE, received_at=now - timedelta(days=40),
    )  # fmt: skip
    other = make_store("other")  # no retention: kept for good
    kept = text(make_customer(other), "old", now - timedelta(days=400))

    report = tick(now=now, stages=["retention"])

    bodies = dict(Message.objects.values_list("pk", "body"))
    assert [bodies[m.pk] for m in (old, recent, waiting, kept)] == ["", "text 2", "queued", "old"]
    reply.refresh_from_db()
    assert (reply.body, reply.reply) == ("", "")
    assert report.bodies_blanked == 2
    assert Message.objects.count() == 4 and Message.objects.filter(status="delivered").count() == 3
    assert tick(now=now + timedelta(minutes=1), stages=["retention"]).bodies_blanked == 0  # once an hour
