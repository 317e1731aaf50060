"""The tick: everything due, as a list of named stages run in order.

    enrol       events no queued check has taken yet (cart, order, ...: entries and exits), then
                date-based triggers (win-back, replenishment, dates), each flow once an hour
    products    price and stock changes no queued check has taken yet: back in stock, price drop
    advance     due flow runs, a flow at a time
    prepare     due broadcasts become outbox texts, a campaign at a time
    offers      unique offer codes that held texts wait for are created in the shop
    release     held texts whose time came go through the guardrails again
    send        due texts go to the provider
    reconcile   texts a crashed worker left `sending`, sent ones whose callback never came
    retention   the wording of texts older than their store keeps it, blanked (once an hour)
    predict     each store's predictions retrained and its customers scored, offer uplift included
                (once a day)

`manage.py tick` runs the stages in this process and sends in it (cron, no cluster needed). The
django-q2 schedule runs `tick_task`, which queues each stage as its own task; there the send
stage hands batches to the workers. A flow or campaign that raises is paused with its error
stored and shown in the admin; the others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from campaigns.broadcasts.materialize import campaign_materialize
from campaigns.broadcasts.states import campaigns_due, campaigns_finish
from campaigns.content.offer_issue import offer_codes_issue
from campaigns.flows import advance, date_triggers, enrol, event_triggers, product_triggers
from campaigns.flows.loaded import LoadedFlows
from campaigns.isolation import campaign_pause_on_error, flow_pause_on_error
from campaigns.models import Flow, FlowRun
from campaigns.privacy import message_bodies_expire
from campaigns.reports.uplift import prediction_run_finish
from campaigns.sending.answers import messages_reconcile
from campaigns.sending.deliver import messages_send_ids
from campaigns.sending.gateways import Gateway
from campaigns.sending.queue import foreground, messages_due, messages_release_held
from customers.predictions.refresh import prediction_run_start, predictions_due
from customers.task_queue import task_enqueue

logger = logging.getLogger(__name__)

DATE_TRIGGERS = [Flow.Trigger.WIN_BACK, Flow.Trigger.REPLENISHMENT, Flow.Trigger.DATE_PROPERTY]
DATE_TRIGGER_EVERY = timedelta(hours=1)


@dataclass
class TickReport:
    runs_enrolled: int = 0
    runs_advanced: int = 0
    messages_created: int = 0
    campaigns_started: int = 0
    offer_codes: int = 0
    messages_released: int = 0
    messages_sent: int = 0
    reconciled: dict[str, int] = field(default_factory=dict)
    bodies_blanked: int = 0
    stores_predicted: int = 0
    paused: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{self.runs_advanced} runs advanced, {self.messages_created} messages created, "
            f"{self.campaigns_started} broadcasts started, {self.messages_sent} messages sent"
        )
        return text + (f"; paused after an error: {', '.join(self.paused)}" if self.paused else "")


# --- the stages ------------------------------------------------------------------------------


def stage_enrol(
    *,
    now: datetime,
    report: TickReport,
    in_process: bool,
    gateway: Gateway | None = None,
    loaded: LoadedFlows | None = None,
) -> None:
    loaded = loaded or LoadedFlows()
    # Without a cluster the task queued on ingestion never runs: the tick checks those events itself.
    report.runs_enrolled += event_triggers.events_check_pending(now=now, loaded=loaded)
    # A check stamped later than `now` came from a run acting at a future `--now`: not this moment's.
    stale = Q(dates_checked_at__isnull=True) | Q(dates_checked_at__lte=now - DATE_TRIGGER_EVERY)
    stale |= Q(dates_checked_at__gt=now)
    for flow in [f for f in loaded.live(DATE_TRIGGERS) if _dates_stale(f, now)]:
        if not Flow.objects.filter(stale, pk=flow.pk, status=Flow.Status.LIVE).update(dates_checked_at=now):
            continue  # another worker took it, or it was paused since the tick read it
        flow.dates_checked_at = now
        try:
            with transaction.atomic():
                report.runs_enrolled += enrol.runs_enroll(
                    flow=flow, entries=date_triggers.daily_entries(flow, now=now), now=now
                )
        except Exception as error:
            flow_pause_on_error(flow_id=flow.pk, error=error, now=now)
            report.paused.append(f"flow {flow.name}")


def _dates_stale(flow: Flow, now: datetime) -> bool:
    at = flow.dates_checked_at
    return at is None or at <= now - DATE_TRIGGER_EVERY or at > now


def stage_products(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    # Without a cluster the task queued on a product change never runs: the tick checks it.
    report.runs_enrolled += product_triggers.product_changes_check_pending(now=now)


def stage_advance(
    *,
    now: datetime,
    report: TickReport,
    in_process: bool,
    gateway: Gateway | None = None,
    loaded: LoadedFlows | None = None,
) -> None:
    due = FlowRun.objects.filter(
        state=FlowRun.State.ACTIVE, next_due_at__lte=now, flow__status=Flow.Status.LIVE
    )
    for flow_id in due.order_by().values_list("flow_id", flat=True).distinct():
        try:
            runs, created = advance.runs_advance_due(now=now, flow_id=flow_id, loaded=loaded)
        except Exception as error:
            flow_pause_on_error(flow_id=flow_id, error=error, now=now)
            report.paused.append(f"flow {Flow.objects.get(pk=flow_id).name}")
            continue
        report.runs_advanced += runs
        report.messages_created += created


PREPARE_TASK = "campaigns.tick.campaign_prepare_task"


def stage_prepare(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    for campaign_id in campaigns_due(now=now):
        report.campaigns_started += 1
        if in_process:
            report.messages_created += campaign_prepare(campaign_id=campaign_id, now=now)
        else:  # a large campaign takes a while: one task each
            transaction.on_commit(lambda pk=campaign_id: task_enqueue(PREPARE_TASK, pk))
    campaigns_finish(now=now)


def campaign_prepare(*, campaign_id: int, now: datetime) -> int:
    try:
        return campaign_materialize(campaign_id=campaign_id, now=now)
    except Exception as error:
        campaign_pause_on_error(campaign_id=campaign_id, error=error, now=now)
        return 0


def campaign_prepare_task(campaign_id: int) -> int:
    return campaign_prepare(campaign_id=campaign_id, now=timezone.now())


def stage_offers(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    report.offer_codes += offer_codes_issue(now=now)


def stage_release(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    report.messages_released += messages_release_held(now=now)


def stage_send(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    if in_process:
        report.messages_sent += messages_send_ids(
            message_ids=messages_due(now=now, enqueue=False), now=now, gateway=gateway
        )
    else:
        messages_due(now=now, enqueue=True)


def stage_reconcile(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    report.reconciled = messages_reconcile(now=now, gateway=gateway)


def stage_retention(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    report.bodies_blanked += message_bodies_expire(now=now)


PREDICT_TASK = "campaigns.tasks.predictions_refresh_task"


def stage_predict(
    *, now: datetime, report: TickReport, in_process: bool, gateway: Gateway | None = None
) -> None:
    for store_id in predictions_due(now=now):
        run = prediction_run_start(store_id=store_id, now=now)
        if run is None:
            continue  # another worker started it
        report.stores_predicted += 1
        if not in_process:  # minutes for a large store: one task each
            transaction.on_commit(lambda pk=run.pk: task_enqueue(PREDICT_TASK, pk))
            continue
        try:
            prediction_run_finish(run_id=run.pk)
        except Exception:  # the run stays unfinished, which the model page shows
            logger.exception("predictions for store %s failed", store_id)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[..., None]
    reads_flows: bool = False  # takes the tick's flows (`loaded`), read once for every such stage


STAGES = [
    Stage("enrol", stage_enrol, reads_flows=True),
    Stage("products", stage_products),
    Stage("advance", stage_advance, reads_flows=True),
    Stage("prepare", stage_prepare),
    Stage("offers", stage_offers),
    Stage("release", stage_release),
    Stage("send", stage_send),
    Stage("reconcile", stage_reconcile),
    Stage("retention", stage_retention),
    Stage("predict", stage_predict),
]


SENDING = ("offers", "release", "send", "reconcile")


def tick(
    *,
    now: datetime,
    in_process: bool = True,
    stages: Iterable[str] | None = None,
    gateway: Gateway | None = None,
    loaded: LoadedFlows | None = None,
) -> TickReport:
    """Run every stage at `now`, or only the `stages` named (in the tick's order).

    In process, texts are sent here (through `gateway`, else the configured one) and no task is
    queued. `loaded`: the flows as a caller read them for an earlier tick, when it knows nothing
    changed them since (a replay of past weeks, the only writer); else the tick reads its own.
    """
    names = {s.name for s in STAGES}
    unknown = set(stages or ()) - names
    if unknown:
        raise ValueError(f"no such stage: {', '.join(sorted(unknown))} (stages: {', '.join(names)})")
    report = TickReport()
    with foreground() if in_process else nullcontext():
        for stage in STAGES:
            if stages is None or stage.name in stages:
                extra = {}
                if stage.reads_flows:
                    loaded = loaded or LoadedFlows()
                    extra["loaded"] = loaded
                stage.run(now=now, report=report, in_process=in_process, gateway=gateway, **extra)
    return report


# --- django-q2 -------------------------------------------------------------------------------


HEARTBEAT = "tick:heartbeat"


def tick_heartbeat(*, at: datetime) -> None:
    """When a live tick last started (the schedule's or cron's): the readiness check reads it."""
    cache.set(HEARTBEAT, at.isoformat(), timeout=None)


def tick_last_heartbeat() -> datetime | None:
    value = cache.get(HEARTBEAT)
    return datetime.fromisoformat(value) if value else None


def stage_task(name: str) -> str:
    """One stage as a task: a stage that fails (and is retried) holds up no other."""
    [stage] = [s for s in STAGES if s.name == name]
    report = TickReport()
    stage.run(now=timezone.now(), report=report, in_process=False)
    return str(report)


def tick_task() -> int:
    """The per-minute schedule: queue each stage as its own task."""
    tick_heartbeat(at=timezone.now())
    for stage in STAGES:
        async_task("campaigns.tick.stage_task", stage.name)
    return len(STAGES)
