"""The demo store's past weeks, played forward by the engine at simulated times.

From the timeline's start to `now`, on an hourly clock: what the shop did up to each moment is
stored through ingestion at that moment, the recipients' answers that are due are given (taps,
orders, STOPs), then the tick runs at the moment (enrol, advance, send through a simulated
provider, reconcile) and the provider reports each text it took delivered or not, as its status
callback would. Every few simulated hours the reports stage credits orders and opt-outs and decides
the experiment. So every past text obeyed the store's caps, windows and overlap, and its "Why
this text?" is the guardrails' own record. Moments with nothing due are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from campaigns.demo.recipients import Recipients
from campaigns.flows.product_triggers import product_changes_check
from campaigns.flows.recipes import recipe_live
from campaigns.models import (
    Attribution,
    Campaign,
    Experiment,
    ExperimentDecision,
    ExperimentVariant,
    Flow,
    FlowRun,
    Message,
)
from campaigns.reports.stage import reports_tick
from campaigns.sending.answers import message_status_apply
from campaigns.sending.gateways import SimulatedGateway
from campaigns.task_queue import tasks_held
from campaigns.tick import tick
from customers.demo import Timeline
from customers.models import ConsentRecord, Store

CLOCK = timedelta(hours=1)
# The reports stage runs every five minutes live; for the past its credit and decisions come out
# the same when it runs less often.
REPORTS_EVERY = timedelta(hours=12)
CALLBACK_AFTER = timedelta(seconds=20)
PERSONAL = "{{ first_name }}, your picks are still in your cart. Finish checkout: {{ cart_link }}"


@dataclass
class HistorySummary:
    texts: int = 0
    taps: int = 0
    orders: int = 0
    opt_outs: int = 0
    credited: int = 0
    decision: ExperimentDecision | None = None
    skipped: str = ""

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"  Past texts: none played ({self.skipped})"]
        won = f"; experiment decided: {self.decision.reason}" if self.decision else ""
        return [
            f"  Past texts (played forward by the engine): {self.texts} sent by cart recovery and back in "
            f"stock, {self.taps} link taps, {self.orders} orders after them, {self.credited} orders "
            f"credited to a text, {self.opt_outs} opt-outs{won}"
        ]


def _experiment(store: Store, flow: Flow, started: datetime) -> Experiment:
    experiment = Experiment.objects.create(
        store=store,
        name="Cart reminder: plain vs personal",
        lever=Experiment.Lever.COPY,
        hypothesis="Naming the shopper and their picks gets more clicks than a plain reminder.",
        flow_step=flow.steps.get(position=1),
        goal=Experiment.Goal.CLICKS,
        min_recipients=150,
        started_at=started,
    )
    ExperimentVariant.objects.bulk_create(
        [
            ExperimentVariant(experiment=experiment, key="A", name="Plain reminder", is_control=True),
            ExperimentVariant(experiment=experiment, key="B", name="Personal", body=PERSONAL),
        ]
    )
    return experiment


def _others_live(store: Store) -> str:
    """The tick acts on every store: the past is played only where no other store is live."""
    flows = Flow.objects.filter(status=Flow.Status.LIVE).exclude(store=store)
    campaigns = Campaign.objects.filter(status__in=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING])
    if flows.exists() or campaigns.exclude(store=store).exists():
        return "another store here has live flows or campaigns, and the engine acts on every store"
    return ""


class _Replay:
    def __init__(self, store: Store, timeline: Timeline) -> None:
        self.store, self.timeline = store, timeline
        self.gateway = SimulatedGateway()
        self.recipients = Recipients(store=store)
        self.reported: datetime | None = None
        self.answered: set[str] = set()

    def busy(self, moment: datetime) -> bool:
        """Anything happened or due since the last tick: else the moment is skipped."""
        upcoming = [self.timeline.next_at(), self.recipients.next_at()]
        if any(at is not None and at <= moment for at in upcoming):
            return True
        runs = FlowRun.objects.filter(
            flow__store=self.store, state=FlowRun.State.ACTIVE, next_due_at__lte=moment
        )
        waiting = Message.objects.filter(
            store=self.store, status__in=[Message.Status.QUEUED, Message.Status.HELD], send_after__lte=moment
        )
        return runs.exists() or waiting.exists()

    def play(self, moment: datetime) -> None:
        self.recipients.answer_until(moment)
        changes = self.timeline.store_until(moment)
        if changes:
            product_changes_check(store_id=self.store.pk, change_ids=changes, now=moment)
        at = moment + timedelta(minutes=1)  # the tick checks events once they are a minute old
        tick(now=at, gateway=self.gateway)
        self.callbacks(at + CALLBACK_AFTER)
        if self.reported is None or at - self.reported >= REPORTS_EVERY:
            reports_tick(now=at, store_ids=[self.store.pk])
            self.reported = at

    def callbacks(self, at: datetime) -> None:
        """The provider's status callback for each text it took: delivered, or why not."""
        taken = [sid for sid in self.gateway.taken if sid not in self.answered]
        self.answered.update(taken)
        sent = Message.objects.filter(
            store=self.store, status=Message.Status.SENT, provider_sid__in=taken
        ).select_related("store")
        delivered = []
        for message in sent:
            answer = self.gateway.fetch(sid=message.provider_sid)
            message_status_apply(
                message=message, provider_status=answer.status, error_code=answer.error_code, now=at
            )
            if message.status == Message.Status.DELIVERED:
                delivered.append(message.pk)
        if delivered:
            self.recipients.delivered(
                list(
                    Message.objects.filter(pk__in=delivered).select_related(
                        "customer", "store", "flow_run", "flow_step__flow"
                    )
                )
            )


def demo_history_play(*, store: Store, now: datetime, timeline: Timeline) -> HistorySummary:
    """Play the demo store's weeks from the timeline's start to `now`; does nothing the second time."""
    if Experiment.objects.filter(store=store).exists():
        return HistorySummary()
    skipped = _others_live(store)
    if skipped:
        return HistorySummary(skipped=skipped)
    start = timeline.start
    with transaction.atomic():
        cart = recipe_live(store=store, name="cart_recovery")
        recipe_live(store=store, name="back_in_stock")
        experiment = _experiment(store, cart, start)
    replay = _Replay(store, timeline)
    moment = start
    with tasks_held(), transaction.atomic():
        while moment < now - CLOCK:
            moment += CLOCK
            if replay.busy(moment):
                replay.play(moment)
        replay.play(now - timedelta(minutes=1))
    texts = Message.objects.filter(store=store, kind=Message.Kind.MARKETING).filter(
        status__in=Message.ACCEPTED
    )
    decision = experiment.decisions.filter(kind=ExperimentDecision.Kind.WINNER).first()
    return HistorySummary(
        texts=texts.count(),
        taps=replay.recipients.taps,
        orders=replay.recipients.orders,
        opt_outs=ConsentRecord.objects.filter(
            Q(source="keyword"), store=store, action=ConsentRecord.Action.OPT_OUT, occurred_at__gte=start
        ).count(),
        credited=Attribution.objects.filter(store=store).count(),
        decision=decision,
    )
