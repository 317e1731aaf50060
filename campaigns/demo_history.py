"""Past texts for the demo store, so the reports show real numbers on a fresh install.

Six weeks of the cart recovery and back-in-stock flows: runs, texts (a few failed or undelivered),
clicks, orders after clicks and after deliveries, opt-outs, and one finished copy experiment on
the cart reminder. Everything is written set-based: INSERT ... SELECT over the store's
subscribers and over the rows written before, with the customer's or message's hash bucket
deciding who is texted, who clicks and who orders; the same seed gives the same history. Orders
and opt-outs are then credited by the same attribution code as live ones, and the experiment is
decided by the same test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, JSONObject, Mod

from campaigns.bulk import select_insert
from campaigns.flows.recipes import recipe_live
from campaigns.models import (
    Experiment,
    ExperimentDecision,
    ExperimentVariant,
    Flow,
    FlowRun,
    FlowStep,
    FlowStepVisit,
    Link,
    Message,
)
from campaigns.reports.attribution import attributions_refresh, opt_outs_attribute
from campaigns.reports.decisions import experiment_evaluate
from campaigns.reports.experiments import bucket_sql
from customers.ingest.metrics import customer_metrics_refresh
from customers.models import ConsentRecord, Customer, Event, Store

DAYS = 42
KEY = "demo-history"
TEXT = {
    "A": "Your cart is saved, {first}. Finish checkout: {link} Reply STOP to opt out.",
    "B": "{first}, your picks are still in your cart. Finish checkout: {link} Reply STOP to opt out.",
}
# Shares in 1/10,000 of a bucket.
CART_ENTRY, BACK_IN_STOCK_ENTRY = 450, 700
FAILED, UNDELIVERED = 150, 300
CLICKS = {"A": 800, "B": 1600, "step": 700, "back_in_stock": 1600}
ORDER_AFTER_CLICK, ORDER_AFTER_DELIVERY, OPT_OUT = 3500, 200, 110


@dataclass
class Base:
    """Ids that buckets are taken relative to, so the same seed gives the same history."""

    store: Store
    customer: int
    message: int
    salts: dict


@dataclass
class HistorySummary:
    texts: int
    clicks: int
    orders: int
    opt_outs: int
    credited: int
    decision: ExperimentDecision | None

    def lines(self) -> list[str]:
        won = f"; experiment decided: {self.decision.reason}" if self.decision else ""
        return [
            f"  Past texts: {self.texts} sent by cart recovery and back in stock, {self.clicks} clicks, "
            f"{self.orders} orders after them, {self.credited} orders credited to a text, "
            f"{self.opt_outs} opt-outs{won}"
        ]


def _flow(store: Store, recipe: str) -> Flow:
    return recipe_live(store=store, name=recipe)


def _experiment(store: Store, step: FlowStep, started: datetime) -> Experiment:
    experiment = Experiment.objects.create(
        store=store,
        name="Cart reminder: plain vs personal",
        lever=Experiment.Lever.COPY,
        hypothesis="Naming the shopper and their picks gets more clicks than a plain reminder.",
        flow_step=step,
        goal=Experiment.Goal.CLICKS,
        min_recipients=150,
        started_at=started,
    )
    ExperimentVariant.objects.bulk_create(
        [
            ExperimentVariant(experiment=experiment, key="A", name="Plain reminder", is_control=True),
            ExperimentVariant(
                experiment=experiment,
                key="B",
                name="Personal",
                body=TEXT["B"].format(first='{{ first_name|default:"Hi" }}', link="{{ cart_link }}"),
            ),
        ]
    )
    return experiment


def _body(kind: str, link_field: str = "pk"):
    short = Concat(Value("https://sms.example.com/l/d"), Cast(F(link_field), CharField()))
    first = F("customer__first_name")
    if kind == "back_in_stock":
        return Concat(Value("Back in stock, "), first, Value(": the piece you wanted. Shop it: "), short)
    a, b = TEXT["A"].split("{first}"), TEXT["B"].split("{first}")
    a_mid, a_end = a[1].split("{link}")
    b_mid, b_end = b[1].split("{link}")
    return Case(
        When(variant__endswith=".B", then=Concat(first, Value(b_mid), short, Value(b_end))),
        default=Concat(Value(a[0]), first, Value(a_mid), short, Value(a_end)),
        output_field=CharField(),
    )


def _runs(flow: Flow, base: Base, at: datetime, wave: int, share: int) -> int:
    chosen = (
        Customer.objects.filter(store=base.store, sms_consent=Customer.Consent.SUBSCRIBED)
        .alias(b=bucket_sql(base.salts[flow.trigger] + wave, offset=base.customer))
        .filter(b__lt=share)
        .annotate(
            a_flow=Value(flow.pk),
            a_state=Value(FlowRun.State.DONE.value),
            a_at=Value(at),
            a_key=Value(f"{KEY}:{wave}"),
            a_blank=Value(""),
            a_context=JSONObject(),
            a_done=Value(at + timedelta(days=1)),
        )
        .values_list(
            "a_flow",
            "pk",
            "a_state",
            "a_at",
            "a_key",
            "a_at",
            "a_blank",
            "a_blank",
            "a_context",
            "a_blank",
            "a_done",
        )
    )
    columns = [
        "flow", "customer", "state", "created_at", "trigger_key", "entered_at", "cart_id", "checkout_id",
        "context", "exit_reason", "finished_at",
    ]  # fmt: skip
    return select_insert(model=FlowRun, columns=columns, queryset=chosen.order_by("pk"))


def _texts(runs: QuerySet[FlowRun], step: FlowStep, kind: str, delay: timedelta, variant) -> int:
    """One text per run at the run's entry plus `delay`, delivered (failures are set afterwards)."""
    at = F("entered_at") + delay
    rows = runs.annotate(
        a_store=F("flow__store_id"),
        a_to=F("customer__phone"),
        a_step=Value(step.pk),
        variant=variant,
        a_kind=Value(Message.Kind.MARKETING.value),
        a_status=Value(Message.Status.DELIVERED.value),
        a_key=Concat(Value(f"{KEY}:run:"), Cast(F("pk"), CharField()), Value(f":step:{step.pk}")),
        a_at=at,
        a_blank=Value(""),
        a_one=Value(1),
        a_priority=Value(step.flow.priority),
        a_false=Value(False),
        a_gsm=Value(Message.Encoding.GSM7.value),
        a_delivered=Value("delivered"),
    ).annotate(a_body=_body(kind))
    columns = [
        "store", "customer", "to", "body", "flow_run", "flow_step", "variant", "kind", "status", "reason",
        "idempotency_key", "send_after", "provider_sid", "error_code", "attempts", "created_at", "sent_at",
        "updated_at", "priority", "confirms_opt_out", "encoding", "segments", "planned_at", "sender",
        "provider_status", "error_message", "enqueued_at", "delivered_at", "status_changed_at",
    ]  # fmt: skip
    values = [
        "a_store", "customer_id", "a_to", "a_body", "pk", "a_step", "variant", "a_kind", "a_status",
        "a_blank", "a_key", "a_at", "a_blank", "a_blank", "a_one", "a_at", "a_at", "a_at", "a_priority",
        "a_false", "a_gsm", "a_one", "a_at", "a_blank", "a_delivered", "a_blank", "a_at", "a_at", "a_at",
    ]  # fmt: skip
    return select_insert(model=Message, columns=columns, queryset=rows.order_by("pk").values_list(*values))


def _waves(base: Base, now: datetime, experiment: Experiment, cart: Flow, back: Flow) -> None:
    """Each day a share of subscribers enters cart recovery (every fifth day, back in stock too).

    The experiment is finished by the end of the history, so its arms here need not match live
    assignment: they are buckets of ids relative to the store's first, so a rebuilt demo store
    gets the same history."""
    steps = {s.position: s for s in cart.steps.all()}
    back_step = back.steps.order_by("position").first()
    code = experiment.variant_code("")
    arm = Case(
        When(Q(b__lt=5000), then=Value(f"{code}A")), default=Value(f"{code}B"), output_field=CharField()
    )
    for day in range(DAYS, 1, -1):
        at = (now - timedelta(days=day)).replace(hour=16, minute=0, second=0, microsecond=0)
        _runs(cart, base, at, day, CART_ENTRY)
        runs = FlowRun.objects.filter(flow=cart, trigger_key=f"{KEY}:{day}")
        first = runs.alias(b=bucket_sql(4_242, "customer_id", base.customer))
        _texts(first, steps[1], "cart", timedelta(hours=1), arm)
        later = runs.alias(b=bucket_sql(200 + day, "customer_id", base.customer))
        _texts(later.filter(b__lt=7000), steps[2], "cart", timedelta(hours=5), Value(""))
        _texts(later.filter(b__lt=2000), steps[4], "cart", timedelta(hours=24), Value(""))
        if day % 5 == 0:
            _runs(back, base, at, day, BACK_IN_STOCK_ENTRY)
            back_runs = FlowRun.objects.filter(flow=back, trigger_key=f"{KEY}:{day}")
            _texts(back_runs, back_step, "back_in_stock", timedelta(0), Value(""))


def _outcomes(base: Base) -> None:
    """Failures, links and clicks, decided per message by its own hash bucket."""
    store = base.store
    texts = Message.objects.filter(store=store, idempotency_key__startswith=KEY)
    failing = texts.alias(b=bucket_sql(301, offset=base.message))
    failing.filter(b__lt=FAILED).update(
        status=Message.Status.FAILED, error_code="30007", delivered_at=None, provider_status="failed"
    )
    failing.filter(b__gte=FAILED, b__lt=UNDELIVERED).update(
        status=Message.Status.UNDELIVERED,
        error_code="30003",
        delivered_at=None,
        provider_status="undelivered",
    )
    share = Case(
        When(variant__endswith=".A", then=Value(CLICKS["A"])),
        When(variant__endswith=".B", then=Value(CLICKS["B"])),
        When(flow_step__flow__trigger=Flow.Trigger.BACK_IN_STOCK, then=Value(CLICKS["back_in_stock"])),
        default=Value(CLICKS["step"]),
        output_field=IntegerField(),
    )
    clicked_at = F("created_at") + timedelta(minutes=25)
    rows = texts.alias(b=bucket_sql(401, offset=base.message), share=share).annotate(
        a_code=Concat(Value("d"), Cast(F("pk"), CharField())),
        a_url=Concat(Value(store.site_url), Value("/cart")),
        a_campaign=F("flow_step__flow__slug"),
        a_content=Concat(Value("step-"), Cast(F("flow_step__position"), CharField())),
        a_clicks=Case(
            When(Q(status=Message.Status.DELIVERED, b__lt=F("share")), then=Value(1)), default=Value(0)
        ),
        a_first=Case(
            When(Q(status=Message.Status.DELIVERED, b__lt=F("share")), then=clicked_at), default=None
        ),
    )
    columns = [
        "store", "customer", "message", "code", "target_url", "utm_campaign", "utm_content", "created_at",
        "clicks", "first_clicked_at", "last_clicked_at",
    ]  # fmt: skip
    select_insert(
        model=Link,
        columns=columns,
        queryset=rows.order_by("pk").values_list(
            "store_id", "customer_id", "pk", "a_code", "a_url", "a_campaign", "a_content", "created_at",
            "a_clicks", "a_first", "a_first",
        ),
    )  # fmt: skip


def _event_rows(qs: QuerySet, kind: str, at, properties, key: str) -> QuerySet:
    return qs.annotate(
        a_type=Value(kind),
        a_at=at,
        a_props=properties,
        a_key=Concat(Value(f"{KEY}:{key}:"), Cast(F("pk"), CharField())),
    ).values_list("store_id", "customer_id", "a_type", "a_at", "a_at", "a_props", "a_key")


EVENT_COLUMNS = ["store", "customer", "type", "occurred_at", "received_at", "properties", "idempotency_key"]


def _behaviour(base: Base) -> None:
    """Click events, orders after clicks and after deliveries, opt-outs after a customer's last text."""
    store = base.store
    links = Link.objects.filter(store=store, message__idempotency_key__startswith=KEY, clicks__gt=0)
    select_insert(
        model=Event,
        columns=EVENT_COLUMNS,
        queryset=_event_rows(
            links, "sms_clicked", F("first_clicked_at"),
            JSONObject(link_code=F("code"), message_id=F("message_id"), url=F("target_url")), "click",
        ),
    )  # fmt: skip
    total = Value(18) + Mod((F("message_id") - Value(base.message)) * Value(37), Value(70))
    buyers = links.alias(b=bucket_sql(501, "message_id", base.message)).filter(b__lt=ORDER_AFTER_CLICK)
    select_insert(
        model=Event,
        columns=EVENT_COLUMNS,
        queryset=_event_rows(
            buyers, "order_placed", F("first_clicked_at") + timedelta(hours=2),
            JSONObject(order_id=Concat(Value("D"), Cast(F("pk"), CharField())), total=total), "click-order",
        ),
    )  # fmt: skip
    delivered = Message.objects.filter(
        store=store, idempotency_key__startswith=KEY, status=Message.Status.DELIVERED
    )
    unclicked = delivered.exclude(Exists(links.filter(message=OuterRef("pk"))))
    select_insert(
        model=Event,
        columns=EVENT_COLUMNS,
        queryset=_event_rows(
            unclicked.alias(b=bucket_sql(601, offset=base.message), message_id=F("pk"))
            .filter(b__lt=ORDER_AFTER_DELIVERY), "order_placed",
            F("delivered_at") + timedelta(hours=9),
            JSONObject(order_id=Concat(Value("T"), Cast(F("pk"), CharField())), total=total),
            "delivery-order",
        ),
    )  # fmt: skip
    later = Message.objects.filter(customer=OuterRef("customer"), created_at__gt=OuterRef("created_at"))
    leaving = (
        delivered.alias(b=bucket_sql(701, offset=base.message)).filter(b__lt=OPT_OUT).exclude(Exists(later))
    )
    rows = leaving.annotate(
        a_action=Value(ConsentRecord.Action.OPT_OUT.value),
        a_source=Value("keyword"),
        a_keyword=Value("STOP"),
        a_blank=Value(""),
        a_at=F("delivered_at") + timedelta(minutes=40),
    ).values_list(
        "store_id", "customer_id", "a_action", "a_source", "a_blank", "a_keyword", "a_blank", "a_at", "a_at"
    )
    columns = [
        "store",
        "customer",
        "action",
        "source",
        "wording",
        "keyword",
        "user_agent",
        "occurred_at",
        "recorded_at",
    ]
    select_insert(model=ConsentRecord, columns=columns, queryset=rows)


def customers_refresh(store: Store) -> None:
    left = ConsentRecord.objects.filter(
        store=store, customer=OuterRef("pk"), action=ConsentRecord.Action.OPT_OUT
    )
    Customer.objects.filter(store=store).filter(Exists(left)).update(
        sms_consent=Customer.Consent.UNSUBSCRIBED,
        sms_consent_at=Subquery(left.order_by("-occurred_at").values("occurred_at")[:1]),
    )
    clicks = Event.objects.filter(customer=OuterRef("pk"), type="sms_clicked").order_by().values("customer")
    Customer.objects.filter(store=store).filter(Exists(clicks)).update(
        last_sms_click_at=Subquery(clicks.annotate(last=Max("occurred_at")).values("last"))
    )
    buyers = list(
        Event.objects.filter(store=store, type="order_placed", idempotency_key__startswith=KEY)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    for start in range(0, len(buyers), 1000):
        customer_metrics_refresh(customer_ids=buyers[start : start + 1000])


def demo_history_build(*, store: Store, now: datetime) -> HistorySummary:
    """Write the demo store's past texts and what followed them; does nothing the second time."""
    with transaction.atomic():
        cart, back = _flow(store, "cart_recovery"), _flow(store, "back_in_stock")
        if Message.objects.filter(store=store, idempotency_key__startswith=KEY).exists():
            return HistorySummary(0, 0, 0, 0, 0, None)
        experiment = _experiment(store, cart.steps.get(position=1), now - timedelta(days=DAYS))
        first_customer = Customer.objects.filter(store=store).aggregate(first=Min("pk"))["first"] or 0
        salts = {cart.trigger: 9_100, back.trigger: 9_200}
        base = Base(store=store, customer=first_customer, message=0, salts=salts)
        _waves(base, now, experiment, cart, back)
        base.message = Message.objects.filter(store=store, idempotency_key__startswith=KEY).aggregate(
            first=Min("pk")
        )["first"]
        _outcomes(base)
        _behaviour(base)
        texts = Message.objects.filter(store=store, idempotency_key__startswith=KEY)
        select_insert(
            model=FlowStepVisit,
            columns=["run", "step", "outcome", "reason", "at"],
            queryset=texts.annotate(a_outcome=Value("sent"), a_blank=Value("")).values_list(
                "flow_run_id", "flow_step_id", "a_outcome", "a_blank", "created_at"
            ),
        )
        customers_refresh(store)
        since = now - timedelta(days=DAYS + 1)
        credited = attributions_refresh(now=now, store_ids=[store.pk], since=since)
        opt_outs_attribute(now=now, store_ids=[store.pk], since=since)
        decisions = experiment_evaluate(experiment=experiment, now=now)
        events = Event.objects.filter(store=store, idempotency_key__startswith=KEY)
        return HistorySummary(
            texts=texts.count(),
            clicks=events.filter(type="sms_clicked").count(),
            orders=events.filter(type="order_placed").count(),
            # Each opt-out once, if its customer had a demo text (a join to the texts would count
            # it once per text, and plans badly before the new rows are analysed).
            opt_outs=ConsentRecord.objects.filter(
                store=store, action="opt_out", customer_id__in=texts.values("customer_id")
            ).count(),
            credited=credited,
            decision=next((d for d in decisions if d.kind == ExperimentDecision.Kind.WINNER), None),
        )
