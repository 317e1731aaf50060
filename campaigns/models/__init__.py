from .broadcasts import Campaign
from .flows import Flow, FlowRun, FlowStep
from .outbox import Message
from .templates import Link, MessageTemplate

__all__ = ["Campaign", "Flow", "FlowRun", "FlowStep", "Link", "Message", "MessageTemplate"]
