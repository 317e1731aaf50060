"""Batches: the chunk sizes ingestion writes in, and an item's path for error messages."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

CHUNK = 500


def item_path(root: str, index: int) -> str:
    return f"{root}[{index}]" if root else ""


def chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def param_limit() -> int:
    return connection.features.max_query_params or 30_000
