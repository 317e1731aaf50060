from .broadcasts import Campaign
from .conversations import Conversation
from .flows import Flow, FlowRun, FlowStep, FlowStepVisit, FlowTriggerFilter
from .guardrails import GuardrailDecision, QuietHoursRule, Reason, SendRateBucket, UndeliverableNumber
from .inbound import InboundMessage, Keyword
from .outbox import Message, ProviderCircuit
from .templates import Link, MessageTemplate

__all__ = [
    "Campaign",
    "Conversation",
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
