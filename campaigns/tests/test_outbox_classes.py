"""The outbox decides a batch once per class of recipient: the verdicts equal per-message ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

from campaigns.models import GuardrailDecision, Message
from campaigns.sending import guardrails, policy
from campaigns.sending.outbox import MessageDraft, messages_create
from customers.models import Customer

NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)  # 12:00 in New York, 06:00 in Honolulu
ZONES = ["America/New_York", "America/Los_Angeles", "Pacific/Honolulu"]
CONSENTS = [Customer.Consent.SUBSCRIBED, Customer.Consent.NONE, Customer.Consent.UNSUBSCRIBED]
KINDS = [Message.Kind.MARKETING, Message.Kind.TRANSACTIONAL]


def proposal(customer: Customer, kind: str) -> policy.Proposal:
    return policy.Proposal(
        customer_id=customer.pk,
        store_id=customer.store_id,
        kind=kind,
        priority=100 if kind == Message.Kind.TRANSACTIONAL else 20,
        valid_until=NOON + timedelta(hours=3),
    )


def test_a_mixed_batch_gets_the_verdicts_each_message_gets_alone(make_subscriber):
    mixed = []
    for zone, consent, kind, _copy in product(ZONES, CONSENTS, KINDS, range(3)):
        mixed.append((make_subscriber(timezone=zone, sms_consent=consent), kind))
    # Some customers already had a text today: caps and overlap apply to them, not to their class.
    had_one = [c for c, kind in mixed[::4] if c.sms_consent == Customer.Consent.SUBSCRIBED]
    messages_create(
        drafts=[MessageDraft(customer=c, body="Earlier", idempotency_key=f"earlier-{c.pk}") for c in had_one],
        now=NOON - timedelta(hours=2),
    )

    together = guardrails.evaluate(
        proposals=[proposal(c, kind) for c, kind in mixed], stage=GuardrailDecision.Stage.CREATE, now=NOON
    )
    alone = [
        guardrails.evaluate(proposals=[proposal(c, kind)], stage=GuardrailDecision.Stage.CREATE, now=NOON)[0]
        for c, kind in mixed
    ]

    assert [p.verdict for p in together] == [p.verdict for p in alone]
    outcomes = {(p.verdict.outcome, p.verdict.reason) for p in together}
    assert {("allow", "ok"), ("hold", "quiet_hours"), ("suppress", "opted_out")} <= outcomes
    assert any(p.verdict.reason in {"frequency_cap", "overlap"} for p in together)
