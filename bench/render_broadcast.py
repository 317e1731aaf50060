"""How fast a broadcast renders: render_messages (bulk lookups) against render_message per customer.

    python bench/render_broadcast.py [customers]        # default 20000

Uses its own SQLite file (bench/render_broadcast.sqlite3), rebuilt on every run. Prints the time of
each path, the ratio, the queries each ran, and the audience meter over the same customers.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = ROOT / "bench" / "render_broadcast.sqlite3"
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")

import django  # noqa: E402

BODY = ('Hi {{ first_name|default:"there" }}, new in {{ last_category_bought|default:"the shop" }}: '
        "top picks just dropped. {{ product_link }} Reply STOP to opt out")


def setup(count: int):
    from django.core.management import call_command

    from campaigns.tests.fields_support import NOW, make_product, make_store
    from customers.models import Customer, Event

    call_command("migrate", verbosity=0)
    store = make_store()
    products = [make_product(store, f"Item {i}", category=f"Category {i % 7}") for i in range(50)]
    Customer.objects.bulk_create([
        Customer(store=store, phone=f"+1415{i:07d}", first_name="" if i % 5 == 0 else f"Name{i}",
                 timezone="America/New_York", timezone_source="store", prefs_token=f"t{i}")
        for i in range(count)
    ], batch_size=2000)
    ids = list(Customer.objects.values_list("pk", flat=True))
    Event.objects.bulk_create([
        Event(store=store, customer_id=pk, type="order_placed", occurred_at=NOW, received_at=NOW,
              product=products[pk % 50], idempotency_key=f"o{pk}")
        for pk in ids
    ], batch_size=2000)
    return store, {pk: {"product_id": products[pk % 50].pk} for pk in ids}


def timed(label, fn):
    from django.db import connection, reset_queries

    reset_queries()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<42} {seconds:8.2f} s  {len(connection.queries):>7} queries")
    return seconds, result


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    DB.unlink(missing_ok=True)
    django.setup()
    from django.conf import settings

    settings.DEBUG = True  # count queries
    from campaigns.content import audience
    from campaigns.content.rendering import render_message, render_messages
    from customers.models import Customer

    store, snapshots = setup(count)
    customers = list(Customer.objects.all())
    print(f"{count} customers, template: {BODY}")
    sample = customers[:1000]
    baseline, _ = timed(f"render_message x {len(sample)}, one at a time", lambda: [
        render_message(template_body=BODY, customer=c, snapshot=snapshots[c.pk], utm_campaign="b",
                       utm_content="1") for c in sample])
    same, _ = timed(f"render_messages x {len(sample)}, one call", lambda: render_messages(
        template_body=BODY, customers=sample, snapshots=snapshots, utm_campaign="b", utm_content="1"))
    print(f"ratio on the same customers: render_messages is {baseline / same:.1f}x faster")
    _, rendered = timed(f"render_messages x {count}, chunks of 2000", lambda: [
        r for i in range(0, count, 2000)
        for r in render_messages(template_body=BODY, customers=customers[i:i + 2000], snapshots=snapshots,
                                 utm_campaign="b", utm_content="1")])
    _, measured = timed("audience meter", lambda: audience.audience_meter(
        template_body=BODY, store=store, customers=Customer.objects.all()))
    print({k: v for k, v in measured.as_dict().items() if k != "template"})
    assert len(rendered) == count
    DB.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
