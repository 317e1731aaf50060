"""A verified webhook is stored once per delivery id and its work queued: the shop gets its 200 in
milliseconds, and a retried delivery (same id) is stored once and processed once."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import IntegrityError, transaction

from customers.connections.models import ShopConnection, WebhookDelivery
from customers.task_queue import task_enqueue_gathered

PROCESS_TASK = "customers.tasks.webhook_deliveries_process_task"


def delivery_receive(
    *, connection: ShopConnection, delivery_id: str, topic: str, body: bytes, now: datetime
) -> WebhookDelivery | None:
    """Store the delivery and queue its processing after commit, gathered with the connection's other
    deliveries of the same short window into one task (the request commits once); None for a
    delivery already stored."""
    delivery_id = (delivery_id or "body:" + hashlib.sha256(body).hexdigest())[:100]
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                connection=connection,
                delivery_id=delivery_id,
                topic=topic[:64],
                body=body.decode(),
                received_at=now,
            )
            transaction.on_commit(
                lambda: task_enqueue_gathered(PROCESS_TASK, connection.pk, [delivery.pk])
            )
    except IntegrityError:
        return None
    return delivery
