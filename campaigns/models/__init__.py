from .broadcasts import Campaign
from .flows import Flow, FlowRun, FlowStep, FlowStepVisit, FlowTriggerFilter
from .outbox import Message
from .templates import Link, MessageTemplate

__all__ = [
    "Campaign",
    "Flow",
    "FlowRun",
    "FlowStep",
    "FlowStepVisit",
    "FlowTriggerFilter",
    "Link",
    "Message",
    "MessageTemplate",
]
