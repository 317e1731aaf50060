"""Every recipe on the store `bootstrap` makes, with its default settings, driven through the tick
to the loopback Twilio server: which texts arrive there, and when."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from io import StringIO
from itertools import count
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from campaigns.flows.date_triggers import replenishment_windows
from campaigns.flows.event_triggers import events_check
from campaigns.flows.product_triggers import product_changes_check
from campaigns.flows.recipes import recipe_install, recipe_live
from campaigns.tests.conftest import SERVICE_SID
from campaigns.tick import SENDING, tick
from customers.demo import SLUG
from customers.ingest.customers import customers_upsert
from customers.ingest.events import events_ingest
from customers.ingest.products import products_upsert
from customers.models import Store
from smsmarketing.management.commands import bootstrap

NEW_YORK = ZoneInfo("America/New_York")
# The demo's history ends at the root conftest's `now` (2026-06-02 15:00 UTC); the day after at 10:00
# in New York is inside the default 08:00–21:00 window.
DEMO_NOW = datetime(2026, 6, 2, 15, 0, tzinfo=ZoneInfo("UTC"))
T0 = datetime.combine(DEMO_NOW.date() + timedelta(days=1), time(10, 0), tzinfo=NEW_YORK)
WORDING = "Yes, send me texts from Juniper Market. Reply STOP to cancel."
_phones = count(1)


@pytest.fixture(scope="module")
def bootstrapped(django_db_setup, django_db_blocker, tmp_path_factory):
    """`manage.py bootstrap` once for the module (the demo store is slow to build); flushed after."""
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(bootstrap, "PASSWORD_FILE", tmp_path_factory.mktemp("boot") / "password")
        with time_machine.travel(DEMO_NOW, tick=False):  # rows stamped by the database's clock too
            call_command("load_demo", now=DEMO_NOW.isoformat(), stdout=StringIO())  # bootstrap keeps it
            call_command("bootstrap", stdout=StringIO())
        yield
        call_command("flush", "--noinput", stdout=StringIO())


@pytest.fixture
def store(bootstrapped, db, twilio_backend):
    demo = Store.objects.get(slug=SLUG)
    # Pacing waits in real time; the sending tests cover it. Every other setting is bootstrap's; the
    # store sends through a Messaging Service here instead of its fictional number.
    Store.objects.filter(id=demo.id).update(send_rate_per_second=0, messaging_service_sid=SERVICE_SID)
    demo.refresh_from_db()
    with time_machine.travel(T0, tick=False):  # what stamps rows itself (auto_now) stamps T0
        yield demo


def subscriber(store: Store, *, at: datetime = T0 - timedelta(days=200), **fields) -> str:
    phone = f"+1212555{next(_phones):04d}"
    payload = {
        "external_id": f"delivery-{phone}",
        "phone": phone,
        "first_name": "Ana",
        "timezone": "America/New_York",
        "sms_consent": {"status": "subscribed", "source": "checkout_checkbox", "wording": WORDING},
        **fields,
    }
    customers_upsert(store=store, payloads=[payload], now=at)
    return phone


def happen(store: Store, phone: str, type: str, at: datetime, check_at: datetime | None = None, **props):
    """An event through ingestion, then the trigger check its task runs."""
    result = events_ingest(
        store=store,
        payloads=[
            {
                "id": f"{type}-{phone}-{at.isoformat()}",
                "type": type,
                "occurred_at": at.isoformat(),
                "customer": {"phone": phone},
                "properties": props,
            }
        ],
        now=at,
    )
    events_check(store_id=store.id, event_ids=result.event_ids, now=check_at or at)


class Phone:
    """What reached the loopback Twilio server for one number, and at which tick."""

    def __init__(self, server, phone: str) -> None:
        self.server, self.phone, self.arrived = server, phone, []

    def at(self, moment: datetime) -> list[str]:
        return [body for when, body in self.arrived if when == moment]


def drive(*moments: datetime, phones: list[Phone]) -> None:
    """The tick and a send pass at each moment; records what each phone received then."""
    for moment in moments:
        before = {p.phone: len(p.server.sent_to(p.phone)) for p in phones}
        tick(now=moment)
        tick(now=moment, stages=SENDING)
        for p in phones:
            p.arrived += [(moment, form["Body"]) for form in p.server.sent_to(p.phone)[before[p.phone] :]]


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


MUG = [{"product_id": "mug", "name": "Mug", "price": 40, "quantity": 1}]


def cart_items() -> dict:
    return {"cart_url": "https://shop.example.com/cart/c1", "items": MUG}


def test_cart_recovery_sends_all_three_texts_to_the_offer_sensitive(store, twilio_backend):
    recipe_live(store=store, name="cart_recovery")
    bargain = subscriber(store)
    for n in range(2):
        happen(store, bargain, "order_placed", T0 - timedelta(days=30 + n), order_id=f"o{n}",
               discount_code="SAVE15", total=30, items=MUG)  # fmt: skip
    plain = subscriber(store)
    phones = {p: Phone(twilio_backend, p) for p in (bargain, plain)}
    for phone in phones:
        happen(store, phone, "cart_updated", T0, cart_id="c1", **cart_items())

    moments = [T0 + minutes(59), T0 + minutes(60), T0 + timedelta(hours=5), T0 + timedelta(hours=24)]
    drive(*moments, phones=list(phones.values()))

    for phone in phones.values():
        assert phone.at(T0 + minutes(59)) == []
        [first] = phone.at(T0 + minutes(60))
        # The demo's cart reminder carries its copy test's winner, so the wording is not pinned here.
        assert "Finish checkout: https://sms.example.com/l/" in first
        [second] = phone.at(T0 + timedelta(hours=5))
        assert second.startswith("Need help with size or shipping? Reply SIZE or SHIPPING.")
    [offer] = phones[bargain].at(T0 + timedelta(hours=24))
    assert offer.startswith("Take 10% off for 2 hours: CART10. Checkout: ")
    assert phones[plain].at(T0 + timedelta(hours=24)) == []
    assert len(phones[bargain].arrived) == 3
    assert twilio_backend.sent_to(bargain)[0]["MessagingServiceSid"] == SERVICE_SID


def test_cart_recovery_sends_nothing_after_the_carts_order(store, twilio_backend):
    recipe_live(store=store, name="cart_recovery")
    ana = Phone(twilio_backend, subscriber(store))
    happen(store, ana.phone, "cart_updated", T0, cart_id="c1", **cart_items())
    drive(T0 + minutes(60), phones=[ana])
    ordered = T0 + timedelta(hours=2)
    happen(store, ana.phone, "order_placed", ordered, order_id="o1", cart_id="c1", total=40, items=MUG)

    drive(T0 + timedelta(hours=5), T0 + timedelta(hours=24), phones=[ana])

    assert [when for when, _ in ana.arrived] == [T0 + minutes(60)]


def test_an_evening_cart_text_of_a_ten_to_six_store_waits_for_the_next_morning(store, twilio_backend):
    Store.objects.filter(id=store.id).update(send_window_start=time(10), send_window_end=time(18))
    recipe_live(store=store, name="cart_recovery")
    ana = Phone(twilio_backend, subscriber(store))
    evening = T0.replace(hour=17, minute=30)  # step 1 due 18:30, after the store's 18:00 close
    happen(store, ana.phone, "cart_updated", evening, cart_id="c1", **cart_items())
    morning = T0 + timedelta(days=1)  # 10:00, more than 14 h later

    drive(evening + minutes(60), morning - minutes(1), morning, phones=[ana])

    assert [when for when, _ in ana.arrived] == [morning]
    assert "Finish checkout: https://sms.example.com/l/" in ana.arrived[0][1]


def test_checkout_abandon_sends_at_45_minutes_and_the_next_day(store, twilio_backend):
    recipe_install(store=store, name="checkout_abandon", live=True)
    ana = Phone(twilio_backend, subscriber(store))
    happen(store, ana.phone, "checkout_started", T0, checkout_id="k1",
           checkout_url="https://shop.example.com/checkout/k1", total=40, items=MUG)  # fmt: skip

    drive(T0 + minutes(44), T0 + minutes(45), T0 + timedelta(days=1, minutes=45), phones=[ana])

    assert [(when - T0, body.split(":")[0]) for when, body in ana.arrived] == [
        (minutes(45), "You're one step away. Complete your order"),
        (timedelta(days=1, minutes=45), "Still want it? Your checkout is waiting"),
    ]


def line(product) -> list[dict]:
    return [{"product_id": product.external_id, "name": product.name, "price": 20, "quantity": 1}]


def restock(store: Store, product_id: str, at: datetime, **values) -> list[int]:
    return products_upsert(store=store, payloads=[{"id": product_id, **values}], now=at).change_ids


def test_back_in_stock_texts_who_asked_when_stock_returns(store, twilio_backend):
    recipe_install(store=store, name="back_in_stock", live=True)
    asked = Phone(twilio_backend, subscriber(store))
    other = Phone(twilio_backend, subscriber(store))
    serum = "vitamin-c-serum"  # out of stock in the demo catalogue
    happen(store, asked.phone, "back_in_stock_requested", T0 - timedelta(days=2), product_id=serum)

    product_changes_check(store_id=store.id, change_ids=restock(store, serum, T0, stock=40), now=T0)
    drive(T0, phones=[asked, other])

    [(when, body)] = asked.arrived
    assert when == T0 and body.startswith("It's back ✅ Vitamin C Serum is in stock again.")
    assert other.arrived == []


def test_price_drop_texts_the_viewer_inside_the_steps_window(store, twilio_backend):
    recipe_install(store=store, name="price_drop", live=True)
    viewer = Phone(twilio_backend, subscriber(store))
    happen(store, viewer.phone, "product_viewed", T0 - timedelta(days=2), product_id="everyday-hoodie")
    early = T0.replace(hour=8, minute=30)  # the store's window is open, the step's (10:00–19:00) not yet
    product = store.products.get(external_id="everyday-hoodie")
    changes = restock(store, "everyday-hoodie", early, price=str(product.price * 8 / 10))
    product_changes_check(store_id=store.id, change_ids=changes, now=early)

    drive(early, T0 - minutes(1), T0, phones=[viewer])

    [(when, body)] = viewer.arrived
    assert when == T0
    assert body.startswith("Good news: Everyday Hoodie just dropped in price.")


def test_post_purchase_tip_arrives_three_days_after_delivery(store, twilio_backend):
    recipe_install(store=store, name="post_purchase", live=True)
    ana = Phone(twilio_backend, subscriber(store))
    product = store.products.filter(usage_tip__gt="").first()
    ordered = T0 - timedelta(days=5)
    happen(store, ana.phone, "order_placed", ordered, order_id="o1", total=20, items=line(product))
    happen(store, ana.phone, "order_delivered", T0 - timedelta(days=3), order_id="o1")

    drive(T0, phones=[ana])

    [(when, body)] = ana.arrived
    assert when == T0
    assert body.startswith(f"Pro tip for your {product.name}: {product.usage_tip}")


def test_replenishment_reminds_when_the_consumable_runs_low(store, twilio_backend):
    recipe_install(store=store, name="replenishment", live=True)
    ana = Phone(twilio_backend, subscriber(store))
    product = store.products.filter(consumable=True, reorder_window_days__isnull=False).first()
    windows, _ = replenishment_windows(store_id=store.id, products=[product], default_days=30, now=T0)
    bought = T0 - timedelta(days=windows[product.id][0])
    happen(store, ana.phone, "order_placed", bought, order_id="o1", total=20, items=line(product))

    tick(now=T0, stages=["enrol"])
    drive(T0, phones=[ana])

    [(when, body)] = ana.arrived
    assert when == T0
    assert body.startswith(f"Running low on {product.name}? Reorder in one tap: ")


def test_win_back_names_the_last_orders_category_then_asks_five_days_later(store, twilio_backend):
    recipe_install(store=store, name="win_back", live=True)
    ana = Phone(twilio_backend, subscriber(store))
    hoodie = store.products.select_related("category").get(external_id="everyday-hoodie")
    bought = [{"product_id": hoodie.external_id, "name": hoodie.name, "price": 40, "quantity": 1}, *MUG]
    happen(store, ana.phone, "order_placed", T0 - timedelta(days=91), order_id="o1", total=80, items=bought)
    later = T0 + timedelta(days=5)

    tick(now=T0, stages=["enrol"])
    drive(T0, later - minutes(1), later, phones=[ana])

    assert [(when, body.split(":")[0]) for when, body in ana.arrived] == [
        (T0, f"New in {hoodie.category.name}"),
        (later, "Want fewer texts, or different ones? Reply DEALS, DROPS or RESTOCKS, or pick here"),
    ]


def test_loyalty_nudge_arrives_when_the_balance_crosses_ten(store, twilio_backend):
    recipe_install(store=store, name="loyalty_nudge", live=True)
    ana = Phone(twilio_backend, subscriber(store))
    happen(store, ana.phone, "reward_balance_changed", T0 - timedelta(days=1), balance=4)
    happen(store, ana.phone, "reward_balance_changed", T0, balance=12.5)

    drive(T0, phones=[ana])

    [(when, body)] = ana.arrived
    assert when == T0
    assert body.startswith("You've got $12.50 ready to use. Want to apply it today? Redeem: ")

