"""The outbox's indexes: the ones for a state hold exactly the rows the queries look for, and the
database has the set the model declares (no index every row pays for without a query)."""

import pytest
from django.db import connection

from campaigns.models import GuardrailDecision, Message


def _condition_statuses(name: str) -> set[str]:
    index = next(i for i in Message._meta.indexes if i.name == name)
    ((lookup, value),) = index.condition.children
    assert lookup in ("status", "status__in")
    return {value} if isinstance(value, str) else set(value)


def test_the_waiting_index_holds_every_waiting_status():
    # The tick's due and held texts, the stuck claims and a campaign's unsent texts are found there.
    assert _condition_statuses("message_waiting") == {str(s) for s in Message.WAITING}


def test_the_state_indexes_hold_no_delivered_text():
    for name in ("message_waiting", "message_awaiting_receipt", "message_stopped"):
        assert Message.Status.DELIVERED not in _condition_statuses(name)
    assert _condition_statuses("message_awaiting_receipt") == {Message.Status.SENT}


@pytest.mark.django_db
def test_the_database_has_the_declared_indexes_and_no_other():
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Message._meta.db_table)
        decisions = connection.introspection.get_constraints(cursor, GuardrailDecision._meta.db_table)
    indexes = {name for name, c in found.items() if c["index"] and not c["primary_key"] and not c["unique"]}
    assert indexes == {i.name for i in Message._meta.indexes}
    # Each decision's text through its (message, decided_at) index alone.
    decision_indexes = [c["columns"] for c in decisions.values() if c["index"] and not c["primary_key"]]
    assert decision_indexes == [["message_id", "decided_at"]]
