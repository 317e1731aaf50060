"""Store API keys: shown once, kept only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction

from customers.models import ApiKey, Store

KEY_PREFIX = "sk_"
# Writing last_used_at on every request would serialize a busy API on one row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_secret_fill(api_key: ApiKey) -> str:
    """Give an unsaved key its secret; returns the raw key, which is not kept anywhere."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key.prefix, api_key.key_hash = raw[:12], key_hash(raw)
    return raw


def api_key_create(*, store: Store, name: str = "API key") -> tuple[ApiKey, str]:
    """A new key for the store; the raw key is returned here and never again."""
    api_key = ApiKey(store=store, name=name)
    raw = api_key_secret_fill(api_key)
    with transaction.atomic():
        api_key.save()
    return api_key, raw


def api_key_authenticate(*, raw: str, now: datetime) -> ApiKey | None:
    """The live key matching `raw`, or None; notes when it was last used."""
    if not raw or len(raw) > 200:
        return None
    api_key = ApiKey.objects.select_related("store").filter(key_hash=key_hash(raw), revoked=False).first()
    if api_key is None:
        return None
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# When this process last had a statement note each key's use (by hash): within the resolution the
# next statements only read the key. Cleared when it grows past what a store's keys could fill.
_noted: dict[str, datetime] = {}
NOTED_MAX = 1000


def api_key_store_sql(*, raw: str, now: datetime) -> tuple[str, str, list] | None:
    """The store of the live key `raw`, for a statement to find by itself (PostgreSQL): a WITH clause
    that also notes the key's use (as `api_key_authenticate` does, once a minute, a process that
    noted it within the minute leaving that part out), the expression of the store's id, and their
    parameters. None for a key no store could have."""
    if not raw or len(raw) > 200:
        return None
    table, hashed = ApiKey._meta.db_table, key_hash(raw)
    with_clause = f"WITH api_key AS (SELECT id, store_id, last_used_at FROM {table} "
    with_clause += "WHERE key_hash = %s AND NOT revoked)"
    noted = _noted.get(hashed)
    if noted is not None and timedelta(0) <= now - noted < LAST_USED_RESOLUTION:
        return with_clause, "(SELECT store_id FROM api_key)", [hashed]
    if len(_noted) >= NOTED_MAX:
        _noted.clear()
    _noted[hashed] = now
    with_clause += (
        f", api_key_used AS (UPDATE {table} SET last_used_at = %s WHERE id IN (SELECT id FROM api_key "
        "WHERE last_used_at IS NULL OR last_used_at <= %s) RETURNING id)"
    )
    return with_clause, "(SELECT store_id FROM api_key)", [hashed, now, now - LAST_USED_RESOLUTION]
