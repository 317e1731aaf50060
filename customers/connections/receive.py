"""A verified webhook is stored once per delivery id and its work queued: the shop gets its 200 in
milliseconds, and a retried delivery (same id) is stored once and processed once."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import IntegrityError, transaction
from django_q.tasks import async_task

from customers.connections.models import ShopConnection, WebhookDelivery

PROCESS_TASK = "customers.tasks.webhook_delivery_process_task"


def _queue(delivery_id: int) -> None:
    # In a block, django-q2's ORM broker writes on the connection this request holds, rather than
    # closing it first (see campaigns/task_queue.py).
    with transaction.atomic():
        async_task(PROCESS_TASK, delivery_id)


def delivery_receive(
    *, connection: ShopConnection, delivery_id: str, topic: str, body: bytes, now: datetime
) -> WebhookDelivery | None:
    """Store the delivery and queue its processing after commit; None for a delivery already stored."""
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
            transaction.on_commit(lambda: _queue(delivery.pk))
    except IntegrityError:
        return None
    return delivery
