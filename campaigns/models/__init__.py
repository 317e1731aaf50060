from .broadcasts import Campaign
from .conversations import Conversation
from .event_checks import EventCheckedAhead, EventCheckMark
from .flows import Flow, FlowRun, FlowStep, FlowStepVisit, FlowTriggerFilter
from .guardrails import GuardrailDecision, QuietHoursRule, Reason, SendRateBucket, UndeliverableNumber
from .inbound import InboundMessage, Keyword
from .outbox import Message, ProviderCircuit
from .templates import Link, MessageTemplate

__all__ = [
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
