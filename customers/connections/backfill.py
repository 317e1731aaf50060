"""A shop's history read through its API: customers with their SMS consent, products, then 180
days of orders, a page per task.

Each page is fetched with no transaction open, then written in one transaction together with the
cursor of the next page; the next page's task is queued after that commit. A backfill that
stopped (a worker lost, the shop down) resumes from its cursor: nothing is read or written twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django_q.tasks import async_task

from customers.connections import shopify_client, woo_client, writes
from customers.connections.models import Backfill, ShopConnection
from customers.connections.shopify_client import ShopApiError

ORDERS_DAYS = 180
PAGE_TASK = "customers.tasks.backfill_page_task"
Phase = Backfill.Phase
Status = Backfill.Status
Platform = ShopConnection.Platform
NEXT_PHASE = {Phase.CUSTOMERS: Phase.PRODUCTS, Phase.PRODUCTS: Phase.ORDERS, Phase.ORDERS: Phase.FINISHED}
Writer = Callable[[ShopConnection, list[dict], datetime], writes.Written]
WRITERS: dict[tuple[str, str], Writer] = {
    (Platform.SHOPIFY, Phase.CUSTOMERS): writes.shopify_customers_write,
    (Platform.SHOPIFY, Phase.PRODUCTS): writes.shopify_products_write,
    (Platform.SHOPIFY, Phase.ORDERS): writes.shopify_orders_write,
    (Platform.WOOCOMMERCE, Phase.CUSTOMERS): writes.woo_customers_write,
    (Platform.WOOCOMMERCE, Phase.PRODUCTS): writes.woo_products_write,
    (Platform.WOOCOMMERCE, Phase.ORDERS): writes.woo_orders_write,
}
CLIENTS = {Platform.SHOPIFY: shopify_client, Platform.WOOCOMMERCE: woo_client}


def _queue_page(backfill_id: int) -> None:
    def queue() -> None:
        with transaction.atomic():  # on this connection (see receive.py)
            async_task(PAGE_TASK, backfill_id)

    transaction.on_commit(queue)


def backfill_start(*, connection: ShopConnection, now: datetime) -> Backfill:
    with transaction.atomic():
        backfill = Backfill.objects.create(
            connection=connection,
            orders_since=now - timedelta(days=ORDERS_DAYS),
            started_at=now,
            updated_at=now,
        )
        _queue_page(backfill.pk)
    return backfill


def backfill_resume(*, backfill: Backfill, now: datetime) -> bool:
    """Go on from the saved cursor (after a failure, or a worker that was lost); False if done."""
    with transaction.atomic():
        moved = (
            Backfill.objects.filter(pk=backfill.pk)
            .exclude(status=Status.DONE)
            .update(status=Status.RUNNING, error="", updated_at=now)
        )
        if moved:
            _queue_page(backfill.pk)
    return bool(moved)


def backfill_page(*, backfill_id: int, now: datetime) -> bool:
    """Fetch and write the backfill's next page; True when there is more to do."""
    backfill = Backfill.objects.select_related("connection__store").filter(pk=backfill_id).first()
    if backfill is None or backfill.status != Status.RUNNING:
        return False
    connection, phase, cursor = backfill.connection, backfill.phase, backfill.cursor
    try:
        rows, following = CLIENTS[connection.platform].resource_page(
            connection, phase, cursor=cursor, since=backfill.orders_since
        )
    except ShopApiError as error:
        Backfill.objects.filter(pk=backfill_id, status=Status.RUNNING).update(
            status=Status.FAILED, error=str(error)[:1000], updated_at=now
        )
        return False
    with transaction.atomic():
        current = Backfill.objects.select_for_update().get(pk=backfill_id)
        if (current.status, current.phase, current.cursor) != (Status.RUNNING, phase, cursor):
            return False  # another run wrote this page first
        written = WRITERS[(connection.platform, phase)](connection, rows, now)
        _advance(current, phase, following, written, now)
        current.save()
        if current.status == Status.RUNNING:
            _queue_page(backfill_id)
    return current.status == Status.RUNNING


def _advance(backfill: Backfill, phase: str, following: str, written: writes.Written, now: datetime) -> None:
    backfill.customers += written.customers
    backfill.products += written.products
    backfill.orders += written.events if phase == Phase.ORDERS else 0
    backfill.pages += 1
    backfill.updated_at = now
    backfill.cursor = following
    if not following:
        backfill.phase = NEXT_PHASE[phase]
        if backfill.phase == Phase.FINISHED:
            backfill.status, backfill.finished_at = Status.DONE, now
