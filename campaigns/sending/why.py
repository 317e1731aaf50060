"""Why a customer got each text, and why not: the answers the "Why this text" admin page shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.urls import NoReverseMatch, reverse

from campaigns.models import Campaign, ExperimentVariant, Message
from customers.models import Customer, Segment
from customers.segments import members
from customers.segments.explain import explain as segment_explain

RECENT_CAMPAIGNS = 20


@dataclass
class SegmentCheck:
    segment: Segment
    member_now: bool
    summary: str = ""
    conditions: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def admin_url(self) -> str:
        try:
            return reverse("admin:customers_segment_change", args=[self.segment.pk])
        except NoReverseMatch:  # the segment admin is not installed
            return ""


@dataclass
class Explained:
    message: Message
    trigger: str
    segments: list[SegmentCheck] = field(default_factory=list)
    variant: str = ""  # the experiment arm in words: "variant B (Personal) of “Cart reminder”"


@dataclass
class Missed:
    campaign: Campaign
    reason: str


def _leaves(node: dict) -> list[tuple[str, bool]]:
    if node.get("type") == "group":
        return [leaf for child in node.get("children", []) for leaf in _leaves(child)]
    return [(node.get("description", ""), bool(node.get("matched")))]


def _check(segment: Segment, customer: Customer, now: datetime) -> SegmentCheck:
    try:
        tree = segment_explain(customer, segment.rules, store=segment.store, now=now)
    except ValueError:  # rules saved before a schema change: fall back to membership
        return SegmentCheck(segment, members(segment, now=now).filter(pk=customer.pk).exists())
    return SegmentCheck(segment, bool(tree["matched"]), tree.get("summary", ""), _leaves(tree))


def _membership(
    segment: Segment, customer: Customer, now: datetime, cache: dict[int, SegmentCheck]
) -> SegmentCheck:
    if segment.pk not in cache:
        cache[segment.pk] = _check(segment, customer, now)
    return cache[segment.pk]


def _trigger(message: Message) -> str:
    if message.campaign_id:
        return f"Campaign “{message.campaign.name}”"
    if message.flow_run_id:
        step = f", step {message.flow_step.position}" if message.flow_step_id else ""
        return f"Flow “{message.flow_run.flow.name}”{step}"
    if message.kind == Message.Kind.TRANSACTIONAL:
        return "Transactional (a confirmation the customer asked for)"
    return "Sent directly"


def segments_of(message: Message) -> list[Segment]:
    """The segments that chose this customer for the message; flows add theirs here."""
    return [message.campaign.segment] if message.campaign_id else []


def messages_explained(customer: Customer, *, now: datetime) -> list[Explained]:
    messages = (
        Message.objects.filter(customer=customer)
        .select_related("campaign__segment__store", "flow_run__flow", "flow_step")
        .order_by("-created_at", "-pk")
    )
    if hasattr(Message, "decisions"):  # the guardrails' stored decisions, one query for all messages
        messages = messages.prefetch_related("decisions")
    messages = list(messages)
    cache: dict[int, SegmentCheck] = {}
    arms = _arms_in_words({m.variant for m in messages if m.variant})
    return [
        Explained(
            m,
            _trigger(m),
            [_membership(s, customer, now, cache) for s in segments_of(m)],
            arms.get(m.variant, ""),
        )
        for m in messages
    ]


def _arms_in_words(codes: set[str]) -> dict[str, str]:
    """Message.variant codes ("e7.B") as words, one query for all of them."""
    wanted = {}
    for code in codes:
        experiment, _, key = code.partition(".")
        if experiment[1:].isdigit():
            wanted[code] = (int(experiment[1:]), key)
    variants = ExperimentVariant.objects.filter(experiment_id__in={e for e, _ in wanted.values()})
    variants = variants.select_related("experiment")
    names = {(v.experiment_id, v.key): (v.name, v.experiment.name) for v in variants}
    found = {}
    for code, (experiment_id, key) in wanted.items():
        if (experiment_id, key) in names:
            variant, experiment = names[(experiment_id, key)]
            found[code] = f"variant {key} ({variant}) of “{experiment}”"
    return found


def campaigns_missed(customer: Customer, *, now: datetime) -> list[Missed]:
    """Recent campaigns of the store that created no text for this customer, and the likely reason."""
    campaigns = (
        Campaign.objects.filter(store_id=customer.store_id, materialized_at__isnull=False)
        .exclude(messages__customer=customer)
        .select_related("segment__store")
        .order_by("-materialized_at")[:RECENT_CAMPAIGNS]
    )
    cache: dict[int, SegmentCheck] = {}
    missed = []
    for campaign in campaigns:
        if not _membership(campaign.segment, customer, now, cache).member_now:
            reason = f"Not in the segment “{campaign.segment.name}” (as of now)."
        elif not customer.is_subscribed:
            reason = f"Not subscribed (consent: {customer.get_sms_consent_display().lower()})."
        else:
            reason = "In the segment and subscribed now; was not when the campaign was prepared."
        missed.append(Missed(campaign, reason))
    return missed
