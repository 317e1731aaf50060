"""A verified webhook is stored once per delivery id and its work queued: the shop gets its 200 in
milliseconds, and a retried delivery (same id) is stored once and processed once."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from customers.connections.models import ShopConnection, WebhookDelivery
from customers.models import Store
from customers.task_queue import task_enqueue_gathered

PROCESS_TASK = "customers.tasks.webhook_deliveries_process_task"
Status = WebhookDelivery.Status


def delivery_key(delivery_id: str, body: bytes) -> str:
    """The delivery's id as stored: the shop's own, or the body's hash when it sends none."""
    return (delivery_id or "body:" + hashlib.sha256(body).hexdigest())[:100]


def delivery_receive(
    *, connection: ShopConnection, delivery_id: str, topic: str, body: bytes, now: datetime
) -> WebhookDelivery | None:
    """Store the delivery and queue its processing after commit, gathered with the connection's other
    deliveries of the same short window into one task (the request commits once); None for a
    delivery already stored."""
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                connection=connection,
                delivery_id=delivery_key(delivery_id, body),
                topic=topic[:64],
                body=body.decode(),
                received_at=now,
            )
            _queue(connection.pk, delivery.pk)
    except IntegrityError:
        return None
    return delivery


def delivery_receive_known(
    *,
    seen: tuple[int, str],
    platform: str,
    name: str,
    delivery_id: str,
    topic: str,
    body: bytes,
    now: datetime,
) -> int | None:
    """`delivery_receive` in one statement, for a connection seen before: `seen` is its (id,
    webhook secret) then, `name` how the webhook names it (a Shopify shop's domain, a WooCommerce
    connection's store slug). The delivery's id, or None when it was stored already or the connection
    is no longer so named or keyed (the caller then takes `delivery_receive`'s path, which tells
    those apart)."""
    deliveries, connections = WebhookDelivery._meta.db_table, ShopConnection._meta.db_table
    named = "c.shop_domain = %s"
    if platform != ShopConnection.Platform.SHOPIFY:
        named = f"c.store_id IN (SELECT id FROM {Store._meta.db_table} WHERE slug = %s)"
    columns = ("connection_id", "delivery_id", "topic", "body", "status", "note", "received_at")
    sql = (
        f"INSERT INTO {deliveries} ({', '.join(columns)}) SELECT c.id, %s, %s, %s, %s, '', %s "
        f"FROM {connections} c WHERE c.id = %s AND c.webhook_secret = %s AND {named} "
        "ON CONFLICT (connection_id, delivery_id) DO NOTHING RETURNING id"
    )
    received = connection.ops.adapt_datetimefield_value(now)
    params = [delivery_key(delivery_id, body), topic[:64], body.decode(), Status.RECEIVED, received]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *seen, name])
        stored = cursor.fetchone()
    if stored is None:
        return None
    _queue(seen[0], stored[0])
    return stored[0]


def _queue(connection_id: int, delivery_pk: int) -> None:
    transaction.on_commit(lambda: task_enqueue_gathered(PROCESS_TASK, connection_id, [delivery_pk]))
