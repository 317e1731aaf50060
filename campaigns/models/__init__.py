"""The tables of campaigns: templates and links, flows and runs, broadcasts, the outbox and its
decisions, experiments, inbound texts and conversations, and the reports' daily rollups.

Models hold data and the rules about one row; they import no service (checks that need one live in
the form or the service that saves). `outbox.py` owns every move of `Message.status`, `broadcasts.py`
every move of `Campaign.status`.
"""

from campaigns.models.broadcasts import Campaign
from campaigns.models.conversations import Conversation
from campaigns.models.event_checks import (
    EventCheckedAhead,
    EventCheckMark,
    ProductChangeCheckedAhead,
    ProductChangeCheckMark,
)
from campaigns.models.experiments import (
    Attribution,
    Experiment,
    ExperimentDecision,
    ExperimentExposure,
    ExperimentVariant,
    OptOutAttribution,
)
from campaigns.models.flows import Flow, FlowRun, FlowStep, FlowStepVisit, FlowTriggerFilter
from campaigns.models.guardrails import (
    GuardrailDecision,
    QuietHoursRule,
    Reason,
    SendRateBucket,
    UndeliverableNumber,
)
from campaigns.models.inbound import InboundMessage, Keyword
from campaigns.models.offers import Offer, OfferCode
from campaigns.models.outbox import Message, ProviderCircuit
from campaigns.models.rollups import ReportDay, ReportDayCounted, ReportDayMark, ReportReach
from campaigns.models.templates import Link, MessageTemplate

__all__ = [
    "Attribution",
    "Experiment",
    "ExperimentDecision",
    "ExperimentExposure",
    "ExperimentVariant",
    "OptOutAttribution",
    "Campaign",
    "Conversation",
    "EventCheckMark",
    "EventCheckedAhead",
    "Flow",
    "FlowRun",
    "FlowStep",
    "FlowStepVisit",
    "FlowTriggerFilter",
    "GuardrailDecision",
    "InboundMessage",
    "Keyword",
    "Link",
    "Message",
    "ReportDay",
    "ReportDayCounted",
    "ReportDayMark",
    "ReportReach",
    "Offer",
    "OfferCode",
    "ProductChangeCheckMark",
    "ProductChangeCheckedAhead",
    "ProviderCircuit",
    "MessageTemplate",
    "QuietHoursRule",
    "Reason",
    "SendRateBucket",
    "UndeliverableNumber",
]
