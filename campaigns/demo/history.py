"""The demo store's past weeks, played forward by the engine at simulated times.

From the timeline's start to `now`, the clock jumps to the next moment the engine has something
to do: within SLACK of the first thing that comes due (a run's step, the first step of a run an
event starts, a held or queued text), or at a stock change. At each moment the recipients'
answers that came due are given at their own times (taps, orders, STOPs), what the shop did up to
the moment is stored through ingestion, then the tick runs the stages that can have work then
(enrol, advance, release, send through a simulated provider; a broadcast's or an offer code's
stage when one waits) and the provider reports each text it took delivered or not, as its status
callback would. Every simulated day, and at the end, the daily stages run (product
changes left unchecked, reconcile, retention), orders and opt-outs are credited and the
experiment is judged; the whole reports stage (with the report days and list health) runs at
the end. So every past text obeyed the store's caps, windows and overlap, and its "Why this
text?" is the guardrails' own record.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q

from campaigns.demo.recipients import Recipients
from campaigns.flows.enrol import exit_matches
from campaigns.flows.entries import Entry
from campaigns.flows.event_triggers import EVENT_TRIGGERS, entry_event_type
from campaigns.flows.loaded import LoadedFlows
from campaigns.flows.product_triggers import product_changes_check
from campaigns.flows.recipes import recipe_live
from campaigns.inbound.signup import confirmations_send
from campaigns.models import (
    Attribution,
    Campaign,
    Experiment,
    ExperimentDecision,
    ExperimentVariant,
    Flow,
    FlowRun,
    Message,
    Offer,
    OfferCode,
)
from campaigns.reports.stage import reports_tick
from campaigns.sending.answers import messages_status_apply
from campaigns.sending.gateways import SimulatedGateway
from campaigns.tick import tick
from customers.demo import Timeline
from customers.models import ConsentRecord, Customer, Store
from customers.task_queue import tasks_held

# How late the engine may act on what came due: the ticks fall where due times cluster, so a
# text goes at most this late (under every flow's lateness limit, less the tick's own minute).
SLACK = timedelta(minutes=58)
MARGIN = timedelta(minutes=2)
# The reports stage runs every five minutes live; for the past its credit and decisions come out
# the same when it runs less often.
REPORTS_EVERY = timedelta(hours=24)
CALLBACK_AFTER = timedelta(seconds=20)
# What a status callback and the recipients' answers read of a text taken by the provider.
ANSWERED = [
    *("id", "status", "claim_token", "provider_sid", "idempotency_key", "kind", "variant", "to"),
    *("created_at", "delivered_at", "store_id", "customer__external_id", "flow_run__cart_id"),
    *("flow_run__trigger_event_id", "flow_run__context", "flow_step__position", "flow_step__offer_code"),
    *("flow_step__flow__slug", "flow_step__flow__trigger"),
]
# A first text: it says how to opt out and has a fallback for a missing name, so the winner can be
# promoted into the live flow (`content.first_texts`).
PERSONAL = (
    '{{ first_name|default:"Hi" }}, your picks are still in your cart. Finish checkout: {{ cart_link }} '
    "Reply STOP to opt out."
)


@dataclass
class HistorySummary:
    texts: int = 0
    taps: int = 0
    orders: int = 0
    opt_outs: int = 0
    asked: int = 0
    confirmed: int = 0
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
            f"credited to a text, {self.opt_outs} opt-outs{won}",
            f"  Sign-ups asked to confirm by text: {self.asked}, {self.confirmed} replied Y",
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
        self.answered = 0  # texts the provider took whose status it reported
        self.broadcasts = True  # whether a broadcast may be waiting to start or to finish
        self.offers = False  # whether codes wait to be created in the shop (read with the due times)
        # The flows the ticks act on, read once and kept from one moment to the next: nothing but
        # the replay writes to this store while it plays.
        self.loaded = LoadedFlows()
        live = list(Flow.objects.filter(store=store, status=Flow.Status.LIVE).prefetch_related("steps"))
        self.slack = min([SLACK, *(flow.max_lateness - MARGIN for flow in live)])
        self.entries = _entries_due(timeline, live)
        self.changes = [at for at, _ in timeline.stock]

    def next_moment(self, after: datetime, end: datetime) -> datetime:
        """The engine's next moment after `after`: within `slack` of the first thing that comes
        due (the first step of a run an event would start, a run's next step, a waiting text), or
        at a stock change."""
        due = [_first_after(self.entries, after), self._first_due()]
        moments = [max(at, after) + self.slack for at in due if at is not None]
        moments.append(_first_after(self.changes, after) or end)
        return min(end, *moments)

    def _first_due(self) -> datetime | None:
        """The first live run's next step or waiting text; notes whether codes wait to be created.

        Asked once after each tick, written out: the ORM took longer to build these three
        questions than the database took to answer them, every moment. Nothing between two ticks
        (answers, the shop's events) reserves a code: only a tick's texts do.
        """
        runs, flows, texts, codes, offers = (
            connection.ops.quote_name(m._meta.db_table) for m in (FlowRun, Flow, Message, OfferCode, Offer)
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT
                    (SELECT MIN(r.next_due_at) FROM {runs} r JOIN {flows} f ON f.id = r.flow_id
                     WHERE f.store_id = %s AND f.status = %s AND r.state = %s),
                    (SELECT MIN(m.send_after) FROM {texts} m WHERE m.store_id = %s AND m.status IN (%s, %s)),
                    EXISTS (SELECT 1 FROM {codes} c JOIN {offers} o ON o.id = c.offer_id
                            WHERE o.store_id = %s AND c.status IN (%s, %s))
                """,
                [
                    *(self.store.pk, Flow.Status.LIVE, FlowRun.State.ACTIVE),
                    *(self.store.pk, Message.Status.QUEUED, Message.Status.HELD),
                    *(self.store.pk, OfferCode.Status.RESERVED, OfferCode.Status.CREATING),
                ],
            )
            runs, texts, offers = cursor.fetchone()
        self.offers = bool(offers)
        return min((_moment(at) for at in (runs, texts) if at is not None), default=None)

    def play(self, moment: datetime, *, last: bool = False) -> None:
        self.recipients.answer_until(moment)
        changes = self.timeline.store_until(moment)
        if changes:
            product_changes_check(store_id=self.store.pk, change_ids=changes, now=moment)
        at = moment + timedelta(minutes=1)  # the tick checks events once they are a minute old
        daily = last or self.reported is None or at - self.reported >= REPORTS_EVERY
        tick(now=at, gateway=self.gateway, stages=self.stages(daily=daily), loaded=self.loaded)
        self.callbacks(at + CALLBACK_AFTER)
        if daily:
            reports_tick(now=at, store_ids=[self.store.pk], counts=last)
            self.reported = at
            # Only the reports' decision stage changes a flow here (it ends the experiment on a step).
            self.loaded = LoadedFlows()

    def stages(self, *, daily: bool) -> list[str]:
        """The stages that can have work at this moment. Every moment enrols what was stored,
        advances, releases and sends; the product changes were checked as they were stored; a
        broadcast or a code for the shop to create is looked for first; reconciling (every text
        here is answered at once) and blanking old wording run with the reports."""
        stages = ["enrol", "advance", "release", "send"]
        if self.broadcasts:  # none is scheduled while the past plays: asked again only while one was
            self.broadcasts = Campaign.objects.filter(
                store=self.store, status__in=[Campaign.Status.SCHEDULED, Campaign.Status.SENDING]
            ).exists()
        if self.broadcasts:
            stages.append("prepare")
        if self.offers:
            stages.append("offers")
        if daily:
            stages += ["products", "reconcile", "retention"]
        return stages

    def callbacks(self, at: datetime) -> None:
        """The provider's status callback for each text it took: delivered, or why not."""
        taken = list(self.gateway.taken)[self.answered :]
        self.answered += len(taken)
        if not taken:
            return
        # By SID alone: the simulated provider took only this store's texts, and the store's own
        # index would walk all of its texts. Only what the answers and the recipients read.
        sent = (
            Message.objects.filter(status=Message.Status.SENT, provider_sid__in=taken)
            .select_related("customer", "flow_run", "flow_step__flow")
            .only(*ANSWERED)
        )
        answers = []
        for message in sent:
            message.store = self.store
            answer = self.gateway.fetch(sid=message.provider_sid)
            answers.append((message, answer.status, answer.error_code))
        moved = messages_status_apply(answers=answers, now=at)
        self.recipients.delivered([m for m in moved if m.status == Message.Status.DELIVERED])


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
    end = now - timedelta(minutes=1)
    with tasks_held(), transaction.atomic():
        asked = _confirmations_ask(store, start)
        moment = replay.next_moment(start, end)
        while moment < end:
            replay.play(moment)
            moment = replay.next_moment(moment, end)
        replay.play(end, last=True)
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
        asked=asked,
        confirmed=replay.recipients.confirmed,
    )


def _confirmations_ask(store: Store, start: datetime) -> int:
    """The sign-ups waiting to confirm as the weeks begin get their "Reply Y to confirm": the task
    their import queued (held while the past is played) does this at once."""
    requested = ConsentRecord.objects.filter(
        store=store, action=ConsentRecord.Action.REQUESTED, customer__sms_consent=Customer.Consent.PENDING
    ).values_list("pk", flat=True)
    return len(confirmations_send(record_ids=list(requested), now=start))


def _entries_due(timeline: Timeline, flows: list[Flow]) -> list[datetime]:
    """When the first step of each run the timeline's events would start is due (ignoring step
    windows, which only make it later), in time order. A run that the timeline's own exit event
    ends before then (a cart ordered within the hour) needs no moment of its own."""
    by_customer: dict[str, list[dict]] = defaultdict(list)
    for event in timeline.events:
        by_customer[event["customer"]["external_id"]].append(event)
    due = []
    for flow in flows:
        steps = sorted(flow.steps.all(), key=lambda step: step.position)
        if flow.trigger not in EVENT_TRIGGERS or not steps:
            continue
        offset = steps[0].delay
        if flow.trigger == Flow.Trigger.POST_PURCHASE:
            offset += timedelta(days=flow.days_after)
        kind, exit_types = entry_event_type(flow), set(flow.exit_event_types)
        for event in timeline.events:
            if event["type"] == kind and not _ended(event, by_customer, exit_types, offset):
                due.append(_at(event) + offset)
    return sorted(due)


def _ended(event: dict, by_customer: dict[str, list[dict]], exit_types: set[str], within: timedelta) -> bool:
    props, entered = event["properties"], _at(event)
    entry = Entry(
        customer_id=0,
        trigger_key="",
        entered_at=entered,
        cart_id=str(props.get("cart_id") or ""),
        checkout_id=str(props.get("checkout_id") or ""),
    )
    return any(
        other["type"] in exit_types
        and entered <= _at(other) <= entered + within
        and exit_matches(entry, _at(other), other["properties"])
        for other in by_customer[event["customer"]["external_id"]]
    )


def _at(event: dict) -> datetime:
    return datetime.fromisoformat(event["occurred_at"])


def _moment(value: datetime | str) -> datetime:
    """A time as the database gave it back: SQLite's is text in UTC."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _first_after(times: list[datetime], after: datetime) -> datetime | None:
    at = bisect.bisect_right(times, after)
    return times[at] if at < len(times) else None
