"""How the demo's recipients answer the texts they get, decided by a fixed hash of each text.

A share opts out (a STOP through the inbound path), most sign-ups asked to confirm reply Y (the
same path), a share taps the link (through the
short-link redirect's own service), some tapping twice; some who tap order the cart or product
the text was about, a few order after a delivery without tapping (through ingestion). The
personal cart reminder is tapped about twice as often as the plain one, so the experiment has a
winner to find.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from campaigns.content.links import link_click
from campaigns.inbound.keywords import inbound_receive
from campaigns.models import Flow, Link, Message
from campaigns.sending.gateways import fixed_share as share
from customers.ingest.events import events_ingest
from customers.models import Event, Store
from customers.senders import store_sender

# Shares of delivered marketing texts; a tap's share is by what the text is.
OPT_OUT = 0.012
TAP = {"plain": 0.08, "personal": 0.17, "step": 0.07, "offer": 0.14, "back_in_stock": 0.18}
TAP_AGAIN = 0.25
ORDER_AFTER_TAP = 0.3
ORDER_AFTER_DELIVERY = 0.02
# Of those asked "Reply Y to confirm", the share who do; the others stay pending.
CONFIRM = 0.7
CONFIRMATION = "optin:"


def _minutes(low: int, high: int, *parts: object) -> timedelta:
    return timedelta(minutes=low + int(share("delay", *parts) * (high - low)))


@dataclass(order=True)
class Answer:
    at: datetime
    seq: int
    act: Callable[[datetime], None] = field(compare=False)


@dataclass
class Recipients:
    """The answers still to come, in time order; `answer_until` acts on those due."""

    store: Store
    pending: list[Answer] = field(default_factory=list)
    taps: int = 0
    orders: int = 0
    stops: int = 0
    confirmed: int = 0
    _seq: int = 0

    def next_at(self) -> datetime | None:
        return self.pending[0].at if self.pending else None

    @property
    def _number(self) -> str:
        """The number the texts came from, as a reply names it."""
        return self.store.from_number or settings.TWILIO_FROM_NUMBER

    def answer_until(self, moment: datetime) -> None:
        while self.pending and self.pending[0].at <= moment:
            answer = heapq.heappop(self.pending)
            answer.act(answer.at)

    def _later(self, at: datetime, act: Callable[[datetime], None]) -> None:
        self._seq += 1
        heapq.heappush(self.pending, Answer(at, self._seq, act))

    def delivered(self, messages: list[Message]) -> None:
        """Decide, once, what each delivered marketing text or "Reply Y to confirm" leads to."""
        links = {link.message_id: link for link in Link.objects.filter(message__in=messages)}
        for message in messages:
            if message.idempotency_key.startswith(CONFIRMATION):
                key = _key(message)
                if share("confirm", key) < CONFIRM:
                    replied = message.delivered_at + _minutes(1, 45, "confirm", key)
                    self._later(replied, self._reply(message, "Y"))
                continue
            if message.kind != Message.Kind.MARKETING:
                continue
            key = _key(message)
            if share("stop", key) < OPT_OUT:
                self._later(message.delivered_at + _minutes(5, 90, "stop", key), self._reply(message, "STOP"))
            elif message.pk in links and share("tap", key) < TAP[_what(message)]:
                tapped = message.delivered_at + _minutes(2, 180, "tap", key)
                self._later(tapped, self._tap(links[message.pk]))
                if share("again", key) < TAP_AGAIN:
                    self._later(tapped + _minutes(1, 40, "again", key), self._tap(links[message.pk]))
                if share("order", key) < ORDER_AFTER_TAP:
                    self._later(tapped + _minutes(15, 240, "order", key), self._order(message))
            elif share("order", key) < ORDER_AFTER_DELIVERY:
                self._later(message.delivered_at + _minutes(60, 540, "order", key), self._order(message))

    def _tap(self, link: Link) -> Callable[[datetime], None]:
        def act(at: datetime) -> None:
            link_click(link=link, now=at, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)")
            self.taps += 1

        return act

    def _reply(self, message: Message, body: str) -> Callable[[datetime], None]:
        """A text back to the number `message` came from, through the inbound webhook's path."""

        def act(at: datetime) -> None:
            sid = "SM" + hashlib.sha256(f"{body.lower()}|{_key(message)}".encode()).hexdigest()[:32]
            params = {"MessageSid": sid, "From": message.to, "To": self._number, "Body": body}
            sender = store_sender(self.store)
            if sender.startswith("MG"):  # sent through a Messaging Service: the reply names it
                params["MessagingServiceSid"] = sender
            inbound_receive(params=params, now=at)
            if body == "STOP":
                self.stops += 1
            else:
                self.confirmed += 1

        return act

    def _order(self, message: Message) -> Callable[[datetime], None]:
        def act(at: datetime) -> None:
            items = _items(message)
            total = sum(Decimal(str(i["price"])) * i["quantity"] for i in items)
            run = message.flow_run
            code = hashlib.sha256(_key(message).encode()).hexdigest()[:10].upper()
            properties = {"order_id": f"D-{code}", "items": items, "total": float(total)}
            if run is not None and run.cart_id:
                properties["cart_id"] = run.cart_id
            payload = {
                "id": f"demo-order-{code}", "type": "order_placed", "occurred_at": at.isoformat(),
                "customer": {"external_id": message.customer.external_id}, "properties": properties,
            }  # fmt: skip
            self.orders += events_ingest(store=self.store, payloads=[payload], now=at).accepted

        return act


def _key(message: Message) -> str:
    """What a text is, without database ids: the same history gives the same answers."""
    step = message.flow_step
    where = f"{step.flow.slug}.{step.position}" if step is not None else "-"
    return f"{message.customer.external_id}|{where}|{message.created_at.isoformat()}"


def _what(message: Message) -> str:
    step = message.flow_step
    if step is not None and step.flow.trigger == Flow.Trigger.BACK_IN_STOCK:
        return "back_in_stock"
    if message.variant:
        return "personal" if message.variant.endswith(".B") else "plain"
    if step is not None and step.offer_code:
        return "offer"
    return "step"


def _items(message: Message) -> list[dict]:
    """What the text was about: the run's cart, else the product it named."""
    run = message.flow_run
    trigger = Event.objects.filter(pk=run.trigger_event_id).first() if run and run.trigger_event_id else None
    items = (trigger.properties.get("items") if trigger else None) or []
    if items:
        return items
    product = message.store.products.filter(name=(run.context if run else {}).get("product_name", "")).first()
    if product is None:
        return [{"product_id": "gift-card", "name": "Gift card", "price": 25.0, "quantity": 1}]
    return [{"product_id": product.external_id, "name": product.name, "price": float(product.price),
             "quantity": 1, "url": product.url}]  # fmt: skip
