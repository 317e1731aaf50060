"""Which hosts a store's links may point to: the one check behind "no open redirect".

Pure and importable from both apps: the product API/admin refuses a foreign product URL with it,
campaigns refuses a foreign link in a template and in the short-link redirect.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from customers.models import Store

UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f]")


def allowed_hosts(store: Store) -> frozenset[str]:
    """The store's allowed_link_domains plus its own site's host, lowercased."""
    domains = store.allowed_link_domains if isinstance(store.allowed_link_domains, list) else []
    return _allowed_hosts(tuple(str(d) for d in domains), store.site_url or "")


@lru_cache(maxsize=256)
def _allowed_hosts(domains: tuple[str, ...], site_url: str) -> frozenset[str]:
    hosts = {d.strip().lower().rstrip(".") for d in domains if d.strip()}
    site = urlsplit(site_url).hostname
    if site:
        hosts.add(site.lower())
    return frozenset(hosts)


def host_matches(host: str, allowed: frozenset[str] | set[str]) -> bool:
    """Exact host match; an entry written "*.example.com" also allows its subdomains."""
    host = host.lower().rstrip(".")
    if host in allowed:
        return True
    wildcards = [entry[1:] for entry in allowed if entry.startswith("*.")]
    return any(host.endswith(suffix) or host == suffix[1:] for suffix in wildcards)


def link_domain_error(store: Store, url: str, *, extra_hosts: set[str] | None = None) -> str | None:
    """Why `url` may not be linked from this store's texts, or None when it may."""
    if UNSAFE.search(url):
        return f"{url!r} contains spaces or backslashes."
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"{url} must start with https:// or http://."
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return f"{url} carries a user name; links may not contain '@' before the host."
    if not parts.hostname:
        return f"{url} has no host."
    allowed = allowed_hosts(store) | (extra_hosts or set())
    if not host_matches(parts.hostname, allowed):
        listed = ", ".join(sorted(allowed)) or "none yet"
        return (f"{parts.hostname} is not one of the store's allowed link domains ({listed}); "
                "add it to the store's allowed link domains if it is yours.")
    return None


def check_link_domain(store: Store, url: str) -> None:
    """Raise ValidationError unless `url` is an http(s) link on one of the store's allowed hosts."""
    error = link_domain_error(store, url)
    if error:
        raise ValidationError(error, code="foreign_link")
