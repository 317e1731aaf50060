"""The consent ledger: every change of a customer's SMS consent goes through `consent_change`.

It lives with the other ways in (customers/ingest.py), so an opt-out is also an event on the
customer's timeline; ConsentRecord itself refuses to be changed or deleted.
"""

from __future__ import annotations

from .ingest import STATUS_AFTER, consent_change

__all__ = ["STATUS_AFTER", "consent_change"]
