from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from customers.api.auth import api_key_authenticate, api_key_create, key_hash
from customers.models import ApiKey
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db


def test_only_the_hash_of_a_new_key_is_stored():
    api_key, raw = api_key_create(store=store_make(), name="shop")
    assert raw.startswith("sk_") and len(raw) > 40
    stored = ApiKey.objects.get()
    assert stored.key_hash == key_hash(raw) and raw not in (stored.key_hash, stored.prefix)
    assert stored.prefix == raw[:12]


def test_a_key_authenticates_to_its_store_and_notes_its_use():
    store = store_make()
    _, raw = api_key_create(store=store)
    assert api_key_authenticate(raw=raw, now=NOW).store == store
    assert ApiKey.objects.get().last_used_at == NOW
    api_key_authenticate(raw=raw, now=NOW + timedelta(seconds=10))
    assert ApiKey.objects.get().last_used_at == NOW


def test_a_revoked_or_unknown_key_does_not_authenticate():
    _, raw = api_key_create(store=store_make())
    ApiKey.objects.update(revoked=True)
    assert api_key_authenticate(raw=raw, now=NOW) is None
    assert api_key_authenticate(raw="sk_nope", now=NOW) is None


def test_the_command_prints_the_key_once(capsys):
    store_make("demo")
    call_command("create_api_key", "--store", "demo", "--name", "Shopify")
    out = capsys.readouterr().out
    raw = next(word for word in out.split() if word.startswith("sk_"))
    assert ApiKey.objects.get(name="Shopify").key_hash == key_hash(raw)


def test_the_quiet_command_prints_only_the_key(capsys):
    store_make("demo")
    call_command("create_api_key", "--store", "demo", "--quiet")
    raw = capsys.readouterr().out.strip()
    assert api_key_authenticate(raw=raw, now=NOW) is not None


def test_an_unknown_store_is_a_command_error():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no store"):
        call_command("create_api_key", "--store", "nope")
