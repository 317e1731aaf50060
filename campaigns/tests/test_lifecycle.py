"""The Message lifecycle: one table of moves, each a claim, and nothing else writes `status`."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campaigns.models import GuardrailDecision, Message
from campaigns.models.outbox import TRANSITIONS, Note, TransitionError
from campaigns.sending.outbox import MessageDraft, messages_create

ROOT = Path(__file__).resolve().parents[2]
OWNER = Path("campaigns/models/outbox.py")
NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)
S = Message.Status
# `status` writes that are not a Message's: flows, offer codes and experiments have their own states.
# A campaign's are moved by its own table in `campaigns/models/broadcasts.py` alone.
OTHER_MODELS = ("Flow.Status", "OfferCode.Status", "Experiment.Status")
ALLOWED = {
    # A campaign's moves, checked against its TRANSITIONS.
    ("campaigns/models/broadcasts.py", "target"),
    # Flows set live / draft / paused (the flow admin's actions).
    ("campaigns/flows/going_live.py", "status"),
    # A new message's first state, from pending by the lifecycle's own table (`initial_status`).
    ("campaigns/sending/outbox.py", "initial_status(verdict.status)"),
    # A campaign's state read into the progress page's JSON.
    ("campaigns/admin/inbound.py", "campaign.status"),
}


def status_writes() -> list[tuple[str, int, str]]:
    found = []
    # `customers` never imports `campaigns`, so a Message is only ever written from here.
    for path in sorted(ROOT.glob("campaigns/**/*.py")):
        relative = path.relative_to(ROOT)
        if {"tests", "migrations"} & set(relative.parts) or relative == OWNER:
            continue
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            for value in _written(node):
                text = ast.get_source_segment(source, value) or ""
                if not text.startswith(OTHER_MODELS) and (str(relative), text) not in ALLOWED:
                    found.append((str(relative), value.lineno, text))
    return found


def _written(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr in {"update", "create", "bulk_create", "update_or_create", "get_or_create"}:
            return [k.value for k in node.keywords if k.arg == "status"]
    if isinstance(node, ast.Dict):
        return [v for k, v in zip(node.keys, node.values, strict=True) if _is_status(k)]
    if isinstance(node, ast.Assign):
        return [node.value for t in node.targets if _is_status_target(t)]
    return []


def _is_status(key: ast.expr | None) -> bool:
    return isinstance(key, ast.Constant) and key.value == "status"


def _is_status_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Attribute):
        return target.attr == "status"
    return isinstance(target, ast.Subscript) and _is_status(target.slice)


def test_nothing_but_the_lifecycle_writes_a_message_status():
    assert status_writes() == []


def test_every_state_is_in_the_table_and_final_states_go_nowhere():
    assert set(TRANSITIONS) == set(S.values)
    for final in (S.DELIVERED, S.UNDELIVERED, S.FAILED, S.SUPPRESSED):
        assert TRANSITIONS[final] == set()


@pytest.mark.django_db
def test_a_move_is_a_claim_from_the_expected_state_and_records_its_decision(make_subscriber):
    [message] = messages_create(
        drafts=[MessageDraft(customer=make_subscriber(), body="Hi", idempotency_key="k")], now=NOON
    )
    stale = Message.objects.get(pk=message.pk)
    note = Note(GuardrailDecision.Outcome.SUPPRESS, "campaign_cancelled", detail="cancelled")

    moved = message.transition(target=S.SUPPRESSED, now=NOON, stage="create", decision=note)
    again = stale.transition(target=S.SUPPRESSED, now=NOON, stage="create", decision=note)

    assert (moved, again) == (True, False)  # the second copy found the row moved already
    assert message.decisions.filter(reason="campaign_cancelled").count() == 1
    with pytest.raises(TransitionError):
        message.transition(target=S.QUEUED, now=NOON)
