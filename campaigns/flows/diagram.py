"""The flow editor's diagram: trigger → wait → message → split → ..., with live counts per step."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count

from campaigns.content.rendering import render_message
from campaigns.content.templating import format_money
from campaigns.flows.entries import product_context
from campaigns.glossary import event_words, reason_words
from campaigns.models import Flow, FlowRun, FlowStep, FlowStepVisit, Message
from customers.models import Customer


@dataclass
class StepNode:
    step: FlowStep
    wait_label: str
    at_label: str
    preview: str = ""
    waiting: int = 0
    sent: int = 0
    yes: int = 0
    no: int = 0
    passed: int = 0
    moved_on: int = 0  # waits and ends: visits that neither text nor split
    exited: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    texts: Counter = field(default_factory=Counter)  # this step's texts by status

    @property
    def entered(self) -> int:
        return self.passed + self.waiting + sum(self.exited.values())

    @property
    def parts(self) -> list[tuple[int, str]]:
        """Where everyone who entered the step is now: the parts add up to `entered`. A text the step
        made is sent (the provider took it), held (still to go), suppressed or refused."""
        texts = self.texts
        parts = [
            (sum(texts[s] for s in Message.ACCEPTED), "sent"),
            (sum(texts[s] for s in Message.WAITING), "held"),
            (texts[Message.Status.SUPPRESSED], "suppressed"),
            (texts[Message.Status.FAILED], "refused by the provider"),
            (self.yes, "yes"),
            (self.no, "no"),
            (self.moved_on, "moved on"),
        ]
        parts += [(n, f"skipped ({reason_words(reason)})") for reason, n in self.skipped.items()]
        parts += [(n, f"exited ({reason_words(reason)})") for reason, n in self.exited.items()]
        parts.append((self.waiting, "waiting"))
        shown = [(n, label) for n, label in parts if n]
        # A text since deleted leaves its visit: named, so the parts still add up.
        rest = self.entered - sum(n for n, _ in shown)
        return shown + ([(rest, "texts no longer stored")] if rest > 0 else [])

    @property
    def yes_target(self) -> str:
        return f"step {self.step.yes_next}" if self.step.yes_next else "next step"

    @property
    def no_target(self) -> str:
        return f"step {self.step.no_next}" if self.step.no_next else "end"


def trigger_label(flow: Flow) -> str:
    T = Flow.Trigger
    labels = {
        T.EVENT: f"a customer {event_words(flow.event_type)}" if flow.event_type else "(no event chosen)",
        T.BACK_IN_STOCK: "a product is back in stock → who asked"
        f"{' or viewed' if flow.include_viewers else ''} in {flow.lookback_days} days",
        T.PRICE_DROP: f"a price falls ≥ {flow.price_drop_percent.normalize()} % → who viewed or carted it "
        f"in {flow.lookback_days} days",
        T.POST_PURCHASE: f"{flow.days_after} days after an order is delivered",
        T.REPLENISHMENT: f"reorder window after an order with a consumable (default {flow.days_after} days)",
        T.WIN_BACK: f"no order for {flow.winback_multiplier.normalize()} × own gap "
        f"(default gap {flow.winback_default_gap_days} days)",
        T.REWARD_THRESHOLD: "reward balance crosses "
        f"{format_money(flow.reward_threshold, flow.store.currency)} up",
        T.DATE_PROPERTY: f"{flow.date_property}, in the customer's timezone",
    }
    label = labels[flow.trigger]
    scope = flow.product or flow.category
    return f"{label} ({scope})" if scope and flow.trigger in (T.POST_PURCHASE, T.REPLENISHMENT) else label


def sample_context(flow: Flow) -> dict[str, object]:
    store, site = flow.store, flow.store.site_url.rstrip("/")
    context: dict[str, object] = {
        "cart_link": f"{site}/cart",
        "checkout_link": f"{site}/checkout",
        "redeem_link": store.rewards_url or site,
        "reward_amount": format_money(flow.reward_threshold + Decimal(5), store.currency),
        "last_category_bought": "",
    }
    product = flow.product or store.products.select_related("category").order_by("id").first()
    if product:
        context |= product_context(product)
        context["last_category_bought"] = context["category_name"]
    return context


def sample_customer(flow: Flow) -> Customer:
    found = flow.store.customers.filter(sms_consent=Customer.Consent.SUBSCRIBED).order_by("id").first()
    return found or Customer(store=flow.store, first_name="Alex", phone="+14155550100", timezone="UTC")


def step_preview(step: FlowStep, *, customer: Customer, context: dict) -> str:
    if step.kind != FlowStep.Kind.SEND:
        return ""
    try:
        return render_message(
            template_body=step.text,
            customer=customer,
            snapshot=context,
            utm_campaign=step.flow.slug,
            utm_content=f"step-{step.position}",
            offer_code=step.offer_code,
        ).body
    except Exception as error:  # a template with a mistake must still open in the editor
        return f"(cannot render: {error})"


def _duration(minutes: int) -> str:
    if minutes % 1440 == 0 and minutes:
        return f"{minutes // 1440} d"
    if minutes % 60 == 0 and minutes:
        return f"{minutes // 60} h"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def flow_diagram(flow: Flow) -> dict:
    steps = list(flow.steps.order_by("position").select_related("template", "segment", "flow__store"))
    customer, context = sample_customer(flow), sample_context(flow)
    nodes, elapsed = [], 0
    for step in steps:
        elapsed += int(step.delay.total_seconds() // 60)
        wait = step.delay_label() if (step.delay_value or step.window_start or step.best_hour_within) else ""
        at = f"T + {_duration(elapsed)}" if elapsed else "T"
        nodes.append(StepNode(step, wait, at, preview=step_preview(step, customer=customer, context=context)))
    by_id = {n.step.id: n for n in nodes}
    _count(flow, by_id)
    # Plain dicts: a template's `.items` on a Counter would look up the key "items" and get 0.
    for node in nodes:
        node.exited, node.skipped, node.statuses = dict(node.exited), dict(node.skipped), dict(node.statuses)
    runs = dict(FlowRun.objects.filter(flow=flow).values_list("state").annotate(n=Count("id")))
    return {
        "flow": flow,
        "trigger": trigger_label(flow),
        "nodes": nodes,
        "runs": runs,
        "runs_total": sum(runs.values()),
        "sample_customer": customer,
    }


def _count(flow: Flow, by_id: dict[int, StepNode]) -> None:
    visits = FlowStepVisit.objects.filter(step__flow=flow).values_list("step_id", "outcome", "reason")
    for step_id, outcome, reason, n in visits.annotate(n=Count("id")):
        node = by_id[step_id]
        node.passed += n
        if outcome == FlowStepVisit.Outcome.SENT:
            node.sent += n
        elif outcome == FlowStepVisit.Outcome.YES:
            node.yes += n
        elif outcome == FlowStepVisit.Outcome.NO:
            node.no += n
        elif outcome == FlowStepVisit.Outcome.SKIPPED:
            node.skipped[_reason_group(reason)] += n
        else:
            node.moved_on += n
    here = FlowRun.objects.filter(flow=flow, current_step__isnull=False).exclude(state=FlowRun.State.DONE)
    for step_id, state, reason, n in here.values_list("current_step_id", "state", "exit_reason").annotate(
        n=Count("id")
    ):
        if step_id not in by_id:
            continue
        if state == FlowRun.State.ACTIVE:
            by_id[step_id].waiting += n
        elif state == FlowRun.State.EXITED:
            by_id[step_id].exited[reason or "exited"] += n
    statuses = Message.objects.filter(flow_step__flow=flow).values_list("flow_step_id", "status", "reason")
    grouped: dict[int, Counter] = defaultdict(Counter)
    for step_id, status, reason, n in statuses.annotate(n=Count("id")):
        grouped[step_id][f"{status}: {reason}" if reason else status] += n
        if step_id in by_id:
            by_id[step_id].texts[status] += n
    for step_id, counter in grouped.items():
        if step_id in by_id:
            by_id[step_id].statuses = counter


def _reason_group(reason: str) -> str:
    return "late" if reason.startswith("late") else (reason or "skipped")
