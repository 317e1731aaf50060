"""Customers: who the customer is and what they did, and the one way data comes in.

Packages: admin, api → ingest, segments → models and the top-level facts (phones, engagement,
senders, links, signals). Customers never imports campaigns: news goes out as signals.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# Task modules by the dotted paths they had before the packages (see campaigns/__init__.py).
MOVED_TASK_MODULES = {"imports": "customers.ingest.csv_import"}


def __getattr__(name: str) -> ModuleType:
    if name in MOVED_TASK_MODULES:
        return importlib.import_module(MOVED_TASK_MODULES[name])
    raise AttributeError(f"module 'customers' has no attribute {name!r}")
