from .broadcasts import Campaign
from .conversations import Conversation
from .event_checks import EventCheckedAhead, EventCheckMark
from .experiments import (
    Attribution,
    Experiment,
    ExperimentDecision,
    ExperimentExposure,
    ExperimentVariant,
    OptOutAttribution,
)
from .flows import Flow, FlowRun, FlowStep, FlowStepVisit, FlowTriggerFilter
from .guardrails import GuardrailDecision, QuietHoursRule, Reason, SendRateBucket, UndeliverableNumber
from .inbound import InboundMessage, Keyword
from .outbox import Message, ProviderCircuit
from .templates import Link, MessageTemplate

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
    "ProviderCircuit",
    "MessageTemplate",
    "QuietHoursRule",
    "Reason",
    "SendRateBucket",
    "UndeliverableNumber",
]
