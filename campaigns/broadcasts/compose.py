"""A broadcast composed on one page: who it reaches and what the sending policy would do with each
text now, the text as the first recipients will get it (short link and all), then the campaign
created, or a scheduled one edited, and scheduled in one step.

The forecast runs the policy's dry run (`guardrails.dry_run`, as the backtest does) at each
recipient's own send time; a large audience is judged on a random sample and scaled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils.text import slugify

from campaigns.broadcasts.materialize import C, CampaignStateError, campaign_recipients, send_time
from campaigns.broadcasts.states import campaign_schedule
from campaigns.content.audience import measure_template
from campaigns.content.checks import broadcast_error
from campaigns.content.meter import cost
from campaigns.content.rendering import render_messages
from campaigns.glossary import reason_words
from campaigns.models import Campaign, Message, MessageTemplate
from campaigns.sending import guardrails, policy
from customers.models import Segment, Store
from customers.segments import Reach, members, reach

FORECAST_SAMPLE = 5_000
SAMPLE_TEXTS = 3
EDITABLE = (C.DRAFT, C.SCHEDULED)


@dataclass
class Draft:
    """What the compose page says the campaign is, before anything is stored."""

    store: Store
    name: str
    segment: Segment
    body: str
    send_at: datetime
    template: MessageTemplate | None = None
    local_send_time: time | None = None
    valid_hours: int = 6

    @property
    def text(self) -> str:
        return self.body if self.body.strip() else (self.template.body if self.template else "")

    def as_campaign(self) -> Campaign:
        return Campaign(
            store=self.store, segment=self.segment, name=self.name, send_at=self.send_at,
            local_send_time=self.local_send_time, valid_hours=self.valid_hours,
        )  # fmt: skip


@dataclass
class Forecast:
    customers: int
    reachable: int  # by SMS: subscribed
    recipients: int = 0  # who would get it: the reachable outside the store's control group
    outcomes: list[tuple[int, str]] = field(default_factory=list)
    samples: list[dict] = field(default_factory=list)
    meter: dict | None = None
    sampled: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "customers": self.customers,
            "reachable": self.reachable,
            "recipients": self.recipients,
            "audience": str(Reach(self.customers, self.reachable)),
            "outcomes": [{"count": n, "label": label} for n, label in self.outcomes],
            "samples": self.samples,
            "meter": self.meter,
            "sampled": self.sampled,
        }


def campaign_forecast(*, draft: Draft, now: datetime) -> Forecast:
    campaign = draft.as_campaign()
    counted = reach(members(draft.segment, now=now))
    recipients = campaign_recipients(campaign, now=now)
    forecast = Forecast(counted.customers, counted.reachable, recipients=recipients.count())
    many = forecast.recipients > FORECAST_SAMPLE
    chosen = recipients.order_by("?")[:FORECAST_SAMPLE] if many else recipients
    rows = list(chosen.values_list("pk", "timezone"))
    forecast.sampled = len(rows) if forecast.recipients > len(rows) else 0
    forecast.outcomes = _outcomes(draft, campaign, rows, scale=forecast.recipients / max(len(rows), 1))
    if forecast.recipients < forecast.reachable:
        held_back = forecast.reachable - forecast.recipients
        forecast.outcomes.append((held_back, "are in the store's control group: none, to measure lift"))
    if draft.text.strip():
        measured = measure_template(draft.text, store=draft.store)
        price = cost(measured.segments * forecast.recipients, draft.store.price_per_segment)
        forecast.meter = {**measured.as_dict(), "cost": f"{price} {draft.store.currency}"}
        forecast.samples = _samples(draft, list(recipients.order_by("pk")[:SAMPLE_TEXTS]))
    return forecast


def _outcomes(draft: Draft, campaign: Campaign, rows: list[tuple[int, str]], scale: float) -> list:
    times = {tz: send_time(campaign, tz or draft.store.default_timezone) for tz in {tz for _, tz in rows}}
    texts = [
        (
            times[tz],
            policy.Proposal(
                customer_id=pk, store_id=draft.store.pk, kind=Message.Kind.MARKETING, priority=20,
                valid_until=times[tz] + timedelta(hours=draft.valid_hours),
            ),
        )
        for pk, tz in rows
    ]  # fmt: skip
    guardrails.dry_run(texts=texts)
    counted = Counter((p.verdict.outcome, str(p.verdict.reason)) for _, p in texts)
    found = []
    for (outcome, reason), n in counted.most_common():
        n = round(n * scale)
        if outcome == policy.Outcome.ALLOW:
            found.append((n, "will be sent at their send time"))
        elif outcome == policy.Outcome.HOLD:
            found.append((n, f"wait, then go: {reason_words(reason)}"))
        else:
            found.append((n, f"will not get it: {reason_words(reason)}"))
    return found


def _samples(draft: Draft, customers: list) -> list[dict]:
    """The text as the first recipients would get it, the short link as sent and where it leads."""
    rendered = render_messages(
        template_body=draft.text, customers=customers, utm_campaign="preview", utm_content="broadcast"
    )
    return [
        {
            "customer": f"{c.first_name} {c.last_name}".strip() or c.phone,
            "body": r.body,
            "links": [link.target_url for link in r.links],
            "meter": r.measure.as_dict(),
        }
        for c, r in zip(customers, rendered, strict=True)
    ]


def campaign_compose(*, draft: Draft, now: datetime, campaign: Campaign | None = None) -> Campaign:
    """Store the composed campaign (a new one, or a draft or scheduled one not yet started) and
    schedule it. A written text becomes a template of its own, named after the campaign."""
    refused = broadcast_error(draft.text)
    if refused:
        raise CampaignStateError(refused)
    with transaction.atomic():
        template = draft.template
        if draft.body.strip() and (template is None or template.body != draft.body):
            template = MessageTemplate.objects.create(
                store=draft.store, name=_unique_template_name(draft), body=draft.body
            )
        fields = {
            "name": draft.name, "template": template, "segment": draft.segment, "send_at": draft.send_at,
            "local_send_time": draft.local_send_time, "valid_hours": draft.valid_hours,
        }  # fmt: skip
        if campaign is None:
            campaign = Campaign.objects.create(store=draft.store, slug=_unique_slug(draft), **fields)
        else:
            not_started = Campaign.objects.filter(
                pk=campaign.pk, materialized_at__isnull=True, preparing_until__isnull=True
            )
            moved = not_started.move(source=EDITABLE, target=C.DRAFT, **fields)
            if not moved:
                raise CampaignStateError("It has started sending: it can be paused or cancelled, not edited.")
            campaign.refresh_from_db()
        return campaign_schedule(campaign=campaign)


def _unique_slug(draft: Draft) -> str:
    base = slugify(draft.name)[:80] or "campaign"
    slugs = Campaign.objects.filter(store=draft.store, slug__startswith=base).values_list("slug", flat=True)
    return _first_free(base, set(slugs), "-")


def _unique_template_name(draft: Draft) -> str:
    base = f"{draft.name} (broadcast)"[:90]
    names = MessageTemplate.objects.filter(store=draft.store, name__startswith=base)
    return _first_free(base, set(names.values_list("name", flat=True)), " ")


def _first_free(base: str, taken: set[str], sep: str) -> str:
    """`base`, else `base` with the first number from 2 that makes it new."""
    n, name = 2, base
    while name in taken:
        name, n = f"{base}{sep}{n}", n + 1
    return name
