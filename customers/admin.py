"""Admin registrations of the customers app."""

from . import segment_admin  # noqa: F401
