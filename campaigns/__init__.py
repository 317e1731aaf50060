"""Campaigns: when a text goes out (flows, broadcasts), what it says, and its one way out.

Packages, top to bottom (an import only goes down; `pyproject.toml` holds the contracts):
admin, public, tick, tasks, receivers → flows, broadcasts, inbound → reports → sending → content
→ models. Campaigns imports customers; customers never imports campaigns.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Task modules by the dotted paths they had before the packages: django-q2 stores a task's
# function as a path, so tasks queued by an earlier version still find theirs.
MOVED_TASK_MODULES = {
    "send_tasks": "campaigns.tasks",
    "flow_tasks": "campaigns.tasks",
    "report_tasks": "campaigns.tasks",
    "signup": "campaigns.tasks",
}


def __getattr__(name: str) -> ModuleType:
    if name in MOVED_TASK_MODULES:
        return importlib.import_module(MOVED_TASK_MODULES[name])
    raise AttributeError(f"module 'campaigns' has no attribute {name!r}")
