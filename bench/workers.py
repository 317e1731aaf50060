"""Benchmark: what one more worker adds — N texts through real `qcluster` processes.

    DATABASE_URL=postgres://... python bench/workers.py [--texts 3000] [--latency-ms 0]

Sends N queued texts (one broadcast's fan-out task, split into batches by a worker, as in
production) to the loopback Twilio server running in a process of its own, with:

1. one cluster of 1 worker (ORM broker),
2. one cluster of 2 workers (ORM broker),
3. one cluster of 1 worker, then two clusters of 1 worker each, sharing a Redis queue (when
   `redis-server` is installed; the script starts its own on a free port).

Each run is timed from the enqueue to the last text recorded as sent, after a warm-up that
starts every worker and opens its connection. Tasks left in the database queue (by earlier runs)
are purged first: run it on a database of its own. Printed beside a plain HTTP loop posting the same
requests from one process (the single-connection floor) and the ratio of each run to 1 worker.
With `--latency-ms` every text takes that long at the server, as across the internet: the
workers then wait on the provider rather than on the machine's cores. PostgreSQL only: the
workers are other processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from contextlib import ExitStack

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("bench/workers.py needs DATABASE_URL=postgres://...: the workers are other processes")

import common  # noqa: E402

common.django_setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from django_q.conf import Conf  # noqa: E402
from django_q.tasks import async_task  # noqa: E402
from send import ACCOUNT_SID, TEMPLATE, bench_store, clear, loopback_process, plain_http_loop  # noqa: E402

from campaigns.content.templating import render  # noqa: E402
from campaigns.models import Message  # noqa: E402
from campaigns.sending.outbox import MessageDraft, messages_create  # noqa: E402
from campaigns.sending.queue import foreground  # noqa: E402
from harness.clusters import database_url, qcluster_start, qcluster_stop, redis_server  # noqa: E402


def queue_texts(store, count: int, run: str) -> list[int]:
    """`count` queued texts, left for the caller to enqueue."""
    clear(store)
    customers = store.customers.order_by("id")[:count].only("id", "store_id", "phone", "first_name", "city")
    drafts = [
        MessageDraft(customer=c, body=body(store, c.first_name, c.city), idempotency_key=f"w:{run}:{c.pk}")
        for c in customers
    ]
    with foreground():
        messages_create(drafts=drafts, now=timezone.now())
    queued = Message.objects.filter(store=store, status="queued").order_by("id")
    return list(queued.values_list("id", flat=True))


def body(store, first_name: str, city: str) -> str:
    return render(TEMPLATE, {"store_name": store.brand_name, "first_name": first_name, "city": city})


def wait_sent(store, count: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while (sent := Message.objects.filter(store=store, status="sent").count()) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {sent} of {count} sent")
        time.sleep(0.05)  # polling other processes


def use_broker(redis_url: str | None) -> None:
    """Where this process enqueues: the clusters' broker."""
    Conf.ORM, Conf.REDIS = (None, redis_url) if redis_url else ("default", {})


def run(store, *, texts: int, clusters: int, workers: int, server_url: str, redis_url: str | None) -> float:
    """Messages per second for `texts` sent by `clusters` clusters of `workers` workers each."""
    ids = queue_texts(store, texts + 2 * clusters * workers, str(time.time_ns()))
    warm, timed = ids[: 2 * clusters * workers], ids[2 * clusters * workers :]
    env = {
        "DATABASE_URL": database_url(connection.settings_dict),
        "Q_BROKER": "redis" if redis_url else "orm",
        "REDIS_URL": redis_url or "",
        "Q_WORKERS": str(workers),
        "Q_SYNC": "false",
        "Q_SCHEDULER": "false",  # the tick's own tasks would take turns with the sends timed here
        "SMS_BACKEND": "twilio",
        "SMS_RATE_LIMIT": "false",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_API_BASE_URL": server_url,
        "PUBLIC_BASE_URL": "https://sms.example.com",
        "LOG_LEVEL": "WARNING",
    }
    use_broker(redis_url)
    with ExitStack() as stack:
        for _ in range(clusters):
            stack.callback(qcluster_stop, qcluster_start(env))
        for message_id in warm:  # one text per task: every worker starts and opens its connection
            async_task("campaigns.tasks.send_batch", [message_id])
        wait_sent(store, len(warm))
        started = time.perf_counter()
        async_task("campaigns.tasks.send_fan_out", timed)
        wait_sent(store, len(ids))
        elapsed = time.perf_counter() - started
    return len(timed) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--latency-ms", type=float, default=0, help="how long the server takes per text")
    args = parser.parse_args()
    Conf.SYNC = False
    call_command("migrate", verbosity=0)
    use_broker(None)
    # Tasks other runs left in the database queue would be worked off first and timed with ours.
    get_broker().purge_queue()
    store = bench_store(args.texts + 8)
    server_url, control, process = loopback_process(latency=args.latency_ms / 1000)
    try:
        sample = [Message(to=f"+1212{i:07d}", body=body(store, f"Cust{i}", "Austin"))
                  for i in range(args.texts)]
        floor = len(sample) / plain_http_loop(server_url, sample)
        print(f"{connection.vendor}, {args.texts} texts, {os.cpu_count()} cores, ", end="")
        print(f"batches of {settings.SMS_SEND_BATCH_SIZE}, server latency {args.latency_ms:.0f} ms, ", end="")
        print(f"load average {os.getloadavg()[0]:.1f}")
        print(f"plain HTTP loop, 1 connection   {floor:7.0f} msg/s (floor for one worker)")
        kwargs = {"store": store, "texts": args.texts, "server_url": server_url}
        one = run(clusters=1, workers=1, redis_url=None, **kwargs)
        print(f"1 cluster x 1 worker (ORM)      {one:7.0f} msg/s   {one / floor:4.2f}x the floor")
        two = run(clusters=1, workers=2, redis_url=None, **kwargs)
        print(f"1 cluster x 2 workers (ORM)     {two:7.0f} msg/s   {two / one:4.2f}x 1 worker")
        if shutil.which("redis-server"):
            with redis_server() as redis_url:
                alone = run(clusters=1, workers=1, redis_url=redis_url, **kwargs)
                print(f"1 cluster x 1 worker (Redis)    {alone:7.0f} msg/s   {alone / floor:4.2f}x the floor")
                shared = run(clusters=2, workers=1, redis_url=redis_url, **kwargs)
            print(f"2 clusters x 1 worker (Redis)   {shared:7.0f} msg/s   {shared / alone:4.2f}x 1 on Redis")
        else:
            print("2 clusters on Redis: skipped (no redis-server; apt-get install redis-server)")
        again = run(clusters=1, workers=1, redis_url=None, **kwargs)
        print(f"1 worker again (load drift)     {again:7.0f} msg/s   {again / one:4.2f}x the first run")
    finally:
        control.send("stop")
        process.join(timeout=5)
        clear(store)


if __name__ == "__main__":
    main()
