"""The demo store's past is the engine's: caps, windows and consent held for every text, and the
dashboard's figures reconcile with the catalogue's SQL and with their rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.demo.history import demo_history_play
from campaigns.flows.diagram import flow_diagram
from campaigns.flows.going_live import flow_live_problems
from campaigns.models import (
    Experiment,
    Flow,
    GuardrailDecision,
    InboundMessage,
    Message,
    UndeliverableNumber,
)
from campaigns.reports.decisions import experiment_evaluate, variant_figures
from campaigns.reports.metrics import CATALOGUE, COUNTED, catalogue_figures, store_figures
from campaigns.reports.tables import Range, daily_series, sources_table
from campaigns.sending.guardrails import state_rules, step_window, store_limits
from campaigns.sending.policy import Recipient, Slot, decide, region_for_phone
from customers.demo import Timeline, demo_load, demo_store_delete
from customers.engagement import is_cold
from customers.models import ConsentRecord, Event

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        summary = demo_load(now=NOW, customers=300, seed=7)
        yield summary
        demo_store_delete(summary.store)  # outside the tests' transactions: leave no store behind


@pytest.mark.django_db
def test_the_weeks_are_played_by_the_engine_with_a_decided_experiment(demo):
    store = demo.store
    cart = Flow.objects.get(store=store, slug="cart-recovery")
    assert Message.objects.filter(flow_step__flow=cart, status="delivered").count() > 100
    bodies = set(Message.objects.filter(flow_step__flow=cart).values_list("flow_step__position", "body"))
    assert len({position for position, _ in bodies}) >= 2  # each step its own copy
    experiment = Experiment.objects.get(store=store)
    # Decided by the decision stage as the texts went: once finished, nothing is left to decide;
    # still running, the evidence at the end is not yet enough for it either.
    for flow in Flow.objects.filter(store=store, status="live"):  # a promoted winner stays safe to send first
        assert flow_live_problems(flow) == [], flow.name
    if experiment.status == Experiment.Status.FINISHED:
        assert experiment.decisions.exists() and experiment.conclusion
        assert "not promoted" not in experiment.conclusion
    else:
        assert experiment_evaluate(experiment=experiment, now=NOW) == []
    assert variant_figures(experiment)["A"].delivered and variant_figures(experiment)["B"].delivered
    assert any("played forward by the engine" in line for line in demo.lines())
    again = demo_history_play(store=store, now=NOW, timeline=Timeline(store, NOW, [], []))
    assert again.texts == 0


@pytest.mark.django_db
def test_sign_ups_pending_as_the_weeks_begin_are_asked_and_confirm_by_replying(demo):
    """Each sign-up waiting to confirm got "Reply Y to confirm" from the engine; those who replied Y
    (through the inbound path) are subscribed with the reply in their ledger, the others are still
    pending, and none of them was sent a marketing text before confirming."""
    store = demo.store
    requested = ConsentRecord.objects.filter(store=store, action="requested").select_related("customer")
    assert requested.exists()
    went, replied = Message.ACCEPTED, 0
    for record in requested:
        customer = record.customer
        asked = Message.objects.get(customer=customer, idempotency_key__startswith="optin:")
        assert asked.kind == "transactional" and "Reply Y to confirm" in asked.body
        confirmed = ConsentRecord.objects.filter(customer=customer, action="confirmed").first()
        if asked.status != "delivered" or confirmed is None:
            assert customer.sms_consent == "pending"
            assert not Message.objects.filter(customer=customer, kind="marketing", status__in=went).exists()
            continue
        replied += 1
        assert customer.sms_consent == "subscribed" and confirmed.keyword == "Y"
        assert InboundMessage.objects.get(customer=customer, body="Y").outcome == "confirmed"
        early = Message.objects.filter(customer=customer, kind="marketing", status__in=went)
        assert not early.filter(sent_at__lt=confirmed.occurred_at).exists()
    assert replied and any(f"{replied} replied Y" in line for line in demo.lines())


@pytest.mark.django_db
def test_no_past_text_broke_the_rules_the_store_shows(demo):
    """Each text that went out, checked against the store's rules at its own time."""
    store = demo.store
    went = list(
        Message.objects.filter(store=store, kind="marketing", status__in=Message.ACCEPTED)
        .select_related("customer")
        .order_by("customer_id", "sent_at")
    )
    assert went
    opted_out = {}
    for record in ConsentRecord.objects.filter(store=store, action="opt_out").order_by("occurred_at"):
        opted_out.setdefault(record.customer_id, record.occurred_at)
    for message in went:
        local = message.sent_at.astimezone(ZoneInfo(message.customer.timezone)).time()
        assert store.send_window_start <= local < store.send_window_end, message.pk
        assert message.customer_id not in opted_out or message.sent_at < opted_out[message.customer_id]
        refused = GuardrailDecision.objects.filter(message=message, outcome="suppress")
        assert not refused.exists()
    week = timedelta(days=7)
    for i, message in enumerate(went):
        same = [m for m in went[max(0, i - 20) : i] if m.customer_id == message.customer_id]
        runs = {m.flow_run_id for m in same if message.sent_at - m.sent_at < week} | {message.flow_run_id}
        # A flow run is one conversation: the week's cap counts conversations, not their steps.
        assert len(runs) <= store.cap_per_week, message.pk


@pytest.mark.django_db
def test_the_dashboard_totals_are_the_catalogue_sql_and_the_sum_of_their_rows(demo):
    store = demo.store
    rng = Range(start=NOW - timedelta(days=30), end=NOW, tz=ZoneInfo(store.default_timezone))
    total = store_figures(store, start=rng.start, end=rng.end)
    by_sql = catalogue_figures(store, start=rng.start, end=rng.end)
    assert {key: total.value(key) for key in COUNTED} == by_sql
    table = sources_table(store, rng)
    additive = ["sent", "delivered", "failed", "clicks", "clicked", "opt_outs", "orders", "revenue"]
    additive += ["segments", "cost"]
    columns = [c.label for c in table.columns]
    for key in additive:
        at = columns.index(CATALOGUE[key].label)
        assert sum(row[at] for row in table.rows) == table.total[at], key
    series = daily_series(store, rng, additive)
    for key in additive:
        assert sum(series[key]) == total.value(key), key


@pytest.mark.django_db
def test_each_diagram_step_accounts_for_everyone_who_entered_it(demo):
    """entered = sent + held + suppressed + ... + exited + waiting, every part named on the step."""
    for flow in Flow.objects.filter(store=demo.store, status=Flow.Status.LIVE):
        for node in flow_diagram(flow)["nodes"]:
            labels = [label for _, label in node.parts]
            assert sum(n for n, _ in node.parts) == node.entered, (flow.slug, node.step.position)
            assert "texts no longer stored" not in labels
            if node.step.kind == "send":
                accepted = Message.objects.filter(flow_step=node.step, status__in=Message.ACCEPTED).count()
                assert dict((label, n) for n, label in node.parts).get("sent", 0) == accepted


def _consent_at(ledger: list[tuple[datetime, str]], at: datetime, now_consent: str) -> str:
    """The customer's SMS consent at `at`, read from their ledger (their current one when the
    ledger says nothing before `at`)."""
    states = {"opt_in": "subscribed", "confirmed": "subscribed", "requested": "pending"}
    before = [action for when, action in ledger if when <= at]
    if not before:
        return now_consent if not ledger else "none"
    return states.get(before[-1], "unsubscribed")


@pytest.mark.django_db
def test_a_replay_of_every_past_text_through_the_policy_sends_each_one(demo):
    """Every text that went out, given to the one policy (policy.decide, with the guardrails' limits
    and state rules) at the time it went, with the customer's consent, engagement and deliverability
    then and the texts that went to them before it: the policy allows every one."""
    store = demo.store
    went = list(
        Message.objects.filter(store=store, status__in=Message.ACCEPTED)
        .select_related("customer", "flow_step")
        .order_by("sent_at", "pk")
    )
    assert went
    ledgers: dict[int, list] = defaultdict(list)
    for record in ConsentRecord.objects.filter(store=store).order_by("occurred_at", "pk"):
        ledgers[record.customer_id].append((record.occurred_at, record.action))
    clicks: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, at in Event.objects.filter(store=store, type="sms_clicked").values_list(
        "customer_id", "occurred_at"
    ):
        clicks[customer_id].append(at)
    bounced = dict(UndeliverableNumber.objects.filter(store=store).values_list("phone", "recorded_at"))
    rules = state_rules({store.pk: store})
    earlier: dict[int, list[Slot]] = defaultdict(list)
    refused = []
    for message in went:
        customer, at = message.customer, message.sent_at
        clicked = max((c for c in clicks[customer.pk] if c <= at), default=None)
        recipient = Recipient(
            consent=_consent_at(ledgers[customer.pk], at, customer.sms_consent),
            timezone=customer.timezone or store.default_timezone,
            cold=is_cold(clicked, now=at, cold_after_days=store.cold_after_days),
            undeliverable=customer.phone in bounced and bounced[customer.phone] <= at,
            frequency=customer.frequency,
        )
        region = (customer.region or region_for_phone(customer.phone)).upper()
        step = step_window(message.flow_step) if message.flow_step else None
        limits = store_limits(store, rules.get((store.pk, region)), recipient, step)
        slots = earlier[customer.pk]
        own = [s for s in slots if message.flow_run_id and s.run_id == message.flow_run_id]
        verdict = decide(
            kind=message.kind,
            priority=message.priority,
            valid_until=None,  # a text that went out before its limit: checked when it went
            confirms_opt_out=message.kind == "transactional" and recipient.consent == "unsubscribed",
            recipient=recipient,
            limits=limits,
            slots=[s for s in slots if s not in own],
            own_run=own,
            may_supersede=False,
            now=at,
        )
        if verdict.outcome != "allow":
            refused.append((message.pk, customer.pk, at, verdict.reason, verdict.detail))
        if message.kind == "marketing" and not own:
            # the replay can refuse: the same text again a minute later, beside this one, is not sent
            later = at + timedelta(minutes=1)
            again = dict(recipient=recipient, limits=limits, may_supersede=False, now=later)
            this = Slot(at=at, priority=message.priority, message_id=message.pk)
            twice = decide(kind="marketing", priority=message.priority, valid_until=None,
                           confirms_opt_out=False, slots=[*slots, this], **again)  # fmt: skip
            assert twice.outcome != "allow", message.pk
        if message.kind == "marketing":
            run = message.flow_run_id
            slots.append(Slot(at=at, priority=message.priority, message_id=message.pk, run_id=run))
    assert refused == []
    assert len(went) > 100
