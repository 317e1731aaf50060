from .broadcasts import Campaign
from .flows import Flow, FlowRun, FlowStep
from .inbound import InboundMessage, Keyword
from .outbox import Message
from .templates import Link, MessageTemplate

__all__ = [
    "Campaign",
    "Flow",
    "FlowRun",
    "FlowStep",
    "InboundMessage",
    "Keyword",
    "Link",
    "Message",
    "MessageTemplate",
]
