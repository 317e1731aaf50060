"""The outbox and its one lifecycle: creation, the guardrails policy, claim and delivery, the
provider's answers, gateways, the circuit breaker, and why each text was (not) sent.

May import content, models and customers; never flows, broadcasts, inbound or reports.
"""
