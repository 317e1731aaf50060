"""Shopify's webhooks, one event per request, against the app's own single-event API path.

    python bench/shopify_webhooks.py [--events 2000]

Shopify sends each order as its own signed request and retries an answer slower than a few
seconds, so the endpoint only verifies, stores the delivery and queues its work. Measured, on the
configured database, with a WSGI server on a real socket in this process:
  1. N `orders/create` bodies in Shopify's shape POSTed to /webhooks/shopify/, one per request:
     the answer's time (median and 99th percentile) and rate;
  2. the queued work, as a worker runs it: each delivery mapped and ingested (`delivery_process`);
  3. the floor: the same N orders as single events POSTed to /api/v1/events, one per request.
It prints each rate and the webhook path's (answer + work) ratio to the floor, measured in the same
run. Everything lives in a throwaway store deleted at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsmarketing.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from wsgiref.simple_server import WSGIRequestHandler, make_server  # noqa: E402

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.models import OrmQ  # noqa: E402

from customers.api.auth import api_key_create  # noqa: E402
from customers.connections.models import ShopConnection, WebhookDelivery  # noqa: E402
from customers.connections.process import delivery_process  # noqa: E402
from customers.connections.signing import body_signature  # noqa: E402
from customers.models import Store  # noqa: E402
from harness.shop_payloads import shopify_customer, shopify_line, shopify_order  # noqa: E402

SECRET = "bench-webhook-key"
GOAL_ANSWER_MS = 50  # Shopify waits 5 s; a median far below keeps retries away under load
GOAL_RATIO = 0.5  # answer + work against the API's single event, per event


class _Quiet(WSGIRequestHandler):
    disable_nagle_algorithm = True  # see bench/ingest.py

    def log_message(self, *args) -> None:
        pass


def orders(count: int, now) -> list[dict]:
    line = [shopify_line(632910392, "IPod Nano - 8GB", "199.00")]
    return [
        shopify_order(
            10_000_000 + i,
            shopify_customer(20_000_000 + i % 500, f"+1212{200 + i % 500 // 100:03d}{i % 100:04d}", now),
            now - timedelta(seconds=i),
            line,
            checkout_token=uuid.uuid4().hex,
        )
        for i in range(count)
    ]


def as_event(order: dict) -> dict:
    return {
        "id": f"api:{order['id']}",
        "type": "order_placed",
        "occurred_at": order["created_at"],
        "customer": {"external_id": str(order["customer"]["id"]), "phone": order["customer"]["phone"]},
        "properties": {
            "order_id": str(order["id"]),
            "total": 199.0,
            "checkout_id": order["checkout_token"],
            "items": [{"product_id": "632910392", "price": 199.0, "quantity": 1}],
        },
    }


def post_each(port: int, requests: list[tuple[str, bytes, dict]]) -> list[float]:
    """One request at a time on a kept connection, as a shop's deliveries arrive; each one's seconds."""
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    took = []
    for path, body, headers in requests:
        started = time.perf_counter()
        client.request("POST", path, body=body, headers=headers)
        response = client.getresponse()
        answer = response.read()
        took.append(time.perf_counter() - started)
        if response.status >= 300:
            sys.exit(f"{path} answered {response.status}: {answer[:300]!r}")
    client.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=1)
    tag = uuid.uuid4().hex[:8]
    store = Store.objects.create(
        slug=f"bench-shopify-{tag}", brand_name="Bench", site_url="https://bench.example.com"
    )
    shop = f"bench-{tag}.myshopify.com"
    ShopConnection.objects.create(
        store=store,
        platform="shopify",
        shop_domain=shop,
        webhook_secret=SECRET,
        webhooks_only=True,
        connected_at=now,
    )
    _, key = api_key_create(store=store, name="benchmark")
    queued_before = OrmQ.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        webhooks, floor = [], []
        for order in orders(args.events, now):
            raw = json.dumps(order).encode()
            webhooks.append(
                (
                    "/webhooks/shopify/",
                    raw,
                    {
                        "Content-Type": "application/json",
                        "X-Shopify-Topic": "orders/create",
                        "X-Shopify-Shop-Domain": shop,
                        "X-Shopify-Hmac-Sha256": body_signature(raw, SECRET),
                        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                        "X-Shopify-API-Version": "2024-10",
                    },
                )
            )
            floor.append(
                (
                    "/api/v1/events",
                    json.dumps({"events": [as_event(order)]}).encode(),
                    {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                )
            )
        post_each(server.server_port, webhooks[:20] + floor[:20])  # warm: URLconf, connections; not timed
        WebhookDelivery.objects.filter(connection__store=store).delete()

        answers = post_each(server.server_port, webhooks[20:])
        ids = list(WebhookDelivery.objects.filter(connection__store=store).values_list("pk", flat=True))
        started = time.perf_counter()
        for delivery_id in ids:
            delivery_process(delivery_id=delivery_id, now=timezone.now())
        work = time.perf_counter() - started
        api = post_each(server.server_port, floor[20:])

        n = len(answers)
        answer_ms = statistics.median(answers) * 1000
        p99_ms = sorted(answers)[int(n * 0.99) - 1] * 1000
        webhook_rate, work_rate, api_rate = n / sum(answers), n / work, n / sum(api)
        whole = n / (sum(answers) + work)
        print(
            f"Shopify webhooks, one event per request: {n:,} orders on {connection.vendor}; "
            f"load {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        print(f"{'path':<46}{'events/s':>10}{'x floor':>9}")
        print(
            f"{'webhook answer (verify, store, queue)':<46}{webhook_rate:>10,.0f}"
            f"{webhook_rate / api_rate:>9.2f}"
            f"  median {answer_ms:.1f} ms, p99 {p99_ms:.1f} ms "
            f"{'PASS' if answer_ms <= GOAL_ANSWER_MS else 'MISS'} (goal: median <= {GOAL_ANSWER_MS} ms)"
        )
        print(f"{'its queued work (map, ingest)':<46}{work_rate:>10,.0f}{work_rate / api_rate:>9.2f}")
        print(
            f"{'webhook, answer + work':<46}{whole:>10,.0f}{whole / api_rate:>9.2f}  "
            f"{'PASS' if whole / api_rate >= GOAL_RATIO else 'MISS'} (goal: >= {GOAL_RATIO}x the floor)"
        )
        print(f"{'  its floor: /api/v1/events, one event each':<46}{api_rate:>10,.0f}{1:>9.2f}")
    finally:
        server.shutdown()
        OrmQ.objects.filter(pk__gt=queued_before).delete()
        with connection.cursor() as cursor:
            for model in ("eventitem", "eventlast", "event"):
                cursor.execute(f"DELETE FROM customers_{model} WHERE store_id = %s", [store.pk])
        store.delete()


if __name__ == "__main__":
    main()
