"""A deterministic demo store, built through the same ingestion path as the API.

Sixty days of shop life before `now`: browsing (with repeat views of one product), carts,
checkouts, orders with and without discount codes, deliveries, back-in-stock requests and
restocks, reward balance changes, preference replies, and clicks on texts of an earlier SMS tool,
so every seed segment (high intent, value, preference, engagement, offer-sensitive) has members.

What happened before the last `HISTORY_DAYS` is stored at once. The weeks after are a `Timeline`
handed to whoever listens to `demo_loaded` (campaigns plays them forward with its engine: each
event is stored at its own time, between ticks); what nobody played is stored at the end.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.db import models, transaction
from django.test.utils import override_settings

from customers.ingest.customers import customers_upsert
from customers.ingest.events import events_ingest
from customers.ingest.products import products_upsert
from customers.models import Store
from customers.segments.presets import presets_install
from customers.signals import demo_loaded
from customers.task_queue import tasks_held

SLUG = "demo"
SITE = "https://shop.example.com"
# Numbers 555-0100..0199 are fictional: the demo store's own sender, so replies find it.
SENDER = "+12025550100"
BATCH = 1000
MAX_CUSTOMERS = 1600
HISTORY_DAYS = 42
# (days before `now`, product): each out-of-stock product comes back once, then sells out again.
RESTOCKS = [
    (24, "burr-coffee-grinder"), (17, "everyday-hoodie"), (10, "vitamin-c-serum"),
    (4, "matcha-ceremonial-grade-30g"),
]  # fmt: skip
SOLD_OUT_AFTER = timedelta(days=2)

# (area code, city, state): numbers 555-0100..0199 are reserved for fiction in every area code.
AREAS = [
    ("305", "Miami", "FL"), ("212", "New York", "NY"), ("617", "Boston", "MA"), ("404", "Atlanta", "GA"),
    ("615", "Nashville", "TN"), ("312", "Chicago", "IL"), ("512", "Austin", "TX"), ("713", "Houston", "TX"),
    ("303", "Denver", "CO"), ("602", "Phoenix", "AZ"), ("702", "Las Vegas", "NV"),
    ("213", "Los Angeles", "CA"), ("415", "San Francisco", "CA"), ("206", "Seattle", "WA"),
    ("503", "Portland", "OR"), ("808", "Honolulu", "HI"),
]  # fmt: skip
FIRST_NAMES = (
    "Ana Ben Chloe Diego Emma Farah Gabe Hana Isaac Jade Kai Lena Marco Nina Omar Priya Quinn Rosa Sam "
    "Tara Uma Victor Wren Xavier Yara Zoe Aiden Bella Caleb Daisy Eli Fiona Grant Holly Ivan Julia Kofi "
    "Lucy Mateo Nora Owen Paige Rafael Sofia Theo Valeria Will Ximena Yusuf Zara"
).split()
LAST_NAMES = (
    "Garcia Smith Nguyen Johnson Patel Kim Brown Lopez Davis Chen Wilson Martinez Clark Lewis Walker Young "
    "Hall Rivera Scott Green Baker Adams Torres Flores Reed"
).split()

# (category, consumable, reorder days, margin, products: (name, price, usage tip))
CATALOG = [
    ("Coffee & Tea", True, 30, "medium", [
        ("House Blend Coffee Beans 12oz", "16.00", "Grind just before brewing: 2 tbsp per 6 oz water."),
        ("Cold Brew Pouches (6)", "14.00", "Steep 18 hours in the fridge, then dilute 1:1."),
        ("Single Origin Ethiopia 12oz", "19.50", "Brew at 200°F for its bright, citrus notes."),
        ("Decaf Swiss Water 12oz", "17.00", "Store airtight, away from light and heat."),
        ("Jasmine Green Tea Tin", "12.00", "Steep 2–3 minutes at 175°F; hotter water turns it bitter."),
        ("Earl Grey Loose Leaf", "11.00", "One teaspoon per cup, 4 minutes at a boil."),
        ("Matcha Ceremonial Grade 30g", "28.00", "Sift before whisking to avoid clumps."),
        ("Chai Concentrate 32oz", "9.50", "Mix 1:1 with milk and heat gently."),
        ("Espresso Roast 2lb", "32.00", "Rest beans 5 days after roasting for best crema."),
        ("Herbal Sleep Tea", "10.00", "Steep 5 minutes covered to keep the oils in."),
    ]),
    ("Skincare", True, 45, "high", [
        ("Daily Gel Cleanser", "18.00", "Massage for 60 seconds on damp skin, then rinse."),
        ("Vitamin C Serum", "34.00", "Apply in the morning before sunscreen."),
        ("Hyaluronic Moisturizer", "29.00", "Apply to damp skin to lock in moisture."),
        ("Mineral Sunscreen SPF 50", "24.00", "Reapply every two hours outdoors."),
        ("Retinol Night Cream", "38.00", "Start twice a week and build up slowly."),
        ("Lip Repair Balm", "8.00", "Apply a thick layer overnight."),
        ("Exfoliating Toner", "22.00", "Use at night, three times a week at most."),
        ("Eye Cream", "31.00", "Tap gently with your ring finger."),
    ]),
    ("Supplements", True, 30, "high", [
        ("Daily Multivitamin (60)", "22.00", "Take with breakfast for better absorption."),
        ("Magnesium Glycinate (90)", "19.00", "Take an hour before bed."),
        ("Omega-3 Fish Oil (60)", "26.00", "Keep in the fridge after opening."),
        ("Vitamin D3 + K2", "16.00", "Take with a meal that contains fat."),
        ("Collagen Peptides 20oz", "35.00", "Stir into hot coffee; it dissolves fully."),
        ("Electrolyte Mix (30)", "24.00", "One stick per 16 oz of water after a workout."),
        ("Probiotic 50B (30)", "29.00", "Take on an empty stomach in the morning."),
    ]),
    ("Apparel", False, None, "low", [
        ("Organic Cotton Tee", "24.00", ""), ("Merino Crew Socks", "16.00", ""),
        ("Everyday Hoodie", "58.00", ""), ("Relaxed Chinos", "64.00", ""),
        ("Rain Shell Jacket", "120.00", ""), ("Knit Beanie", "22.00", ""),
        ("Performance Leggings", "68.00", ""), ("Linen Button-Down", "72.00", ""),
        ("Canvas Sneakers", "79.00", ""),
    ]),
    ("Home & Kitchen", False, None, "medium", [
        ("Pour-Over Coffee Set", "45.00", ""), ("Insulated Tumbler 20oz", "29.00", ""),
        ("Ceramic Mug Set (4)", "36.00", ""), ("Burr Coffee Grinder", "89.00", ""),
        ("Glass Tea Kettle", "42.00", ""), ("Linen Napkins (4)", "28.00", ""),
        ("Soy Candle — Cedar", "26.00", ""), ("Bamboo Cutting Board", "34.00", ""),
    ]),
    ("Outdoor", False, None, "low", [
        ("Trail Water Bottle", "25.00", ""), ("Packable Daypack", "55.00", ""),
        ("Camp Hammock", "69.00", ""), ("Headlamp 300lm", "32.00", ""),
        ("Picnic Blanket", "48.00", ""), ("Travel French Press", "38.00", ""),
        ("Hiking Socks (3)", "30.00", ""), ("Sun Hat", "34.00", ""),
    ]),
]  # fmt: skip
OUT_OF_STOCK = {"vitamin-c-serum", "everyday-hoodie", "matcha-ceremonial-grade-30g", "burr-coffee-grinder"}
WORDING = {
    "checkout_checkbox": "Yes, send me texts about offers and my orders from Juniper Market. Msg frequency "
    "varies. Msg & data rates may apply. Reply HELP for help, STOP to cancel.",
    "popup": "Get 10% off: enter your number to receive recurring automated marketing texts from Juniper "
    "Market. Consent is not a condition of purchase. Reply STOP to cancel.",
    "keyword": "Reply Y to confirm you want recurring marketing texts from Juniper Market. "
    "Msg & data rates may apply. Reply STOP to cancel.",
}
DISCOUNT_CODES = ["WELCOME10", "SAVE15", "VIP20", "FREESHIP"]
LOYALTY = ["", "", "Member", "Member", "Silver", "Gold"]
QUIZ_GOALS = ["better sleep", "more energy", "glowing skin", "great coffee at home"]


@dataclass(frozen=True)
class DemoSummary:
    store: Store
    customers: int
    subscribed: int
    products: int
    categories: int
    events: Counter
    history: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.events.items()))
        return [
            f"Demo store {self.store.slug!r} ({self.store.brand_name}, {self.store.site_url})",
            f"  {self.customers} customers, {self.subscribed} subscribed to SMS",
            f"  {self.products} products in {self.categories} categories",
            f"  {sum(self.events.values())} events: {kinds}",
            *self.history,
        ]


def slugify(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def products_payload() -> list[dict]:
    payload = []
    for category, consumable, reorder, margin, items in CATALOG:
        for name, price, tip in items:
            external_id = slugify(name)
            payload.append({
                "id": external_id, "name": name, "url": f"{SITE}/products/{external_id}", "price": price,
                "stock": 0 if external_id in OUT_OF_STOCK else 25 + len(name) * 3, "category": category,
                "consumable": consumable, "reorder_window_days": reorder, "margin_class": margin,
                "usage_tip": tip,
            })  # fmt: skip
    return payload


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class _Builder:
    """Customers and their histories, drawn from one seeded random generator."""

    def __init__(self, *, now: datetime, size: int, seed: int):
        self.now = now
        self.start = now - timedelta(days=HISTORY_DAYS)
        self.rng = random.Random(seed)
        self.size = size
        self.products = products_payload()
        self.events: list[dict] = []
        self.points: dict[str, int] = {}

    def customers(self) -> list[dict]:
        return [self._customer(i) for i in range(self.size)]

    def _customer(self, i: int) -> dict:
        rng = self.rng
        area, city, state = AREAS[i % len(AREAS)]
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], rng.choice(LAST_NAMES)
        customer = {
            "external_id": f"cust-{i + 1:05d}", "phone": f"+1{area}55501{i // len(AREAS):02d}",
            "first_name": first, "last_name": last, "email": f"{first}.{last}{i}@example.com".lower(),
            "city": city, "region": state, "loyalty_status": rng.choice(LOYALTY),
        }  # fmt: skip
        if rng.random() < 0.6:
            customer["birthday"] = (
                f"{rng.randint(1960, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            )
        if rng.random() < 0.3:
            customer["attributes"] = {"quiz_goal": rng.choice(QUIZ_GOALS)}
        if i % 11 == 0:
            customer["preferred_store"] = rng.choice(["Online", "Downtown", "Airport"])
        roll = rng.random()
        joined = self.now - timedelta(days=rng.randint(HISTORY_DAYS + 21, 400))
        if roll < 0.86:
            source = rng.choice(list(WORDING))
            customer["sms_consent"] = {
                "status": "subscribed", "source": source, "wording": WORDING[source], "at": _iso(joined),
            }  # fmt: skip
            if source == "keyword":
                customer["sms_consent"]["keyword"] = "JOIN"
        elif roll < 0.92:
            customer["sms_consent"] = {"status": "unsubscribed", "source": "keyword", "keyword": "STOP",
                                       "at": _iso(joined + timedelta(days=20))}  # fmt: skip
        elif roll < 0.94:
            # signed up at the pop-up as the weeks begin: the engine texts them "Reply Y to confirm"
            customer["sms_consent"] = {
                "status": "pending",
                "source": "popup",
                "at": _iso(self.start - timedelta(minutes=20)),
            }
        self._history(customer["external_id"], i)
        return customer

    # --- events

    def _add(self, kind: str, who: str, at: datetime, properties: dict | None = None) -> None:
        self.events.append({
            "id": f"demo-{len(self.events) + 1:07d}", "type": kind, "occurred_at": _iso(at),
            "customer": {"external_id": who}, "properties": properties or {},
        })  # fmt: skip

    def _ago(self, low_days: float, high_days: float) -> datetime:
        seconds = self.rng.uniform(low_days * 86400, high_days * 86400)
        return (self.now - timedelta(seconds=seconds)).replace(microsecond=0)

    def _item(self, product: dict, quantity: int = 1) -> dict:
        return {"product_id": product["id"], "name": product["name"], "price": float(product["price"]),
                "quantity": quantity, "url": product["url"], "category": product["category"]}  # fmt: skip

    def _history(self, who: str, i: int) -> None:
        rng = self.rng
        persona = rng.choices(["browser", "buyer", "repeat", "deal_hunter", "lapsed"], [35, 25, 15, 15, 10])[
            0
        ]
        favourite = rng.choice(CATALOG)[0]
        liked = [p for p in self.products if p["category"] == favourite]
        for _ in range(rng.randint(1, 8)):
            product = rng.choice(liked if rng.random() < 0.7 else self.products)
            self._add(
                "product_viewed",
                who,
                self._ago(0, 60),
                {"product_id": product["id"], "name": product["name"], "url": product["url"]},
            )
        if rng.random() < 0.18:  # came back to the same product several times this week
            product = rng.choice(liked)
            for _ in range(rng.randint(3, 5)):
                self._add(
                    "product_viewed",
                    who,
                    self._ago(0, 6),
                    {"product_id": product["id"], "name": product["name"], "url": product["url"]},
                )
        orders = {"browser": 0, "buyer": 1, "repeat": rng.randint(3, 6), "deal_hunter": rng.randint(2, 4),
                  "lapsed": rng.randint(1, 2)}[persona]  # fmt: skip
        window = (45, 60) if persona == "lapsed" else (1, 58)
        for n in range(orders):
            self._order(
                who, i, n, liked, self._ago(*window), discount=persona == "deal_hunter" and rng.random() < 0.8
            )
        if rng.random() < 0.3:
            self._abandoned(who, i, liked)
        for n in range(rng.choice([0, 0, 1, 1, 2, 3])):
            self._left_cart(who, f"c{i}-w{n}", liked)
        if rng.random() < 0.08:
            product = rng.choice([p for p in self.products if p["id"] in OUT_OF_STOCK])
            self._add("back_in_stock_requested", who, self._ago(0, 30), {"product_id": product["id"]})
        if rng.random() < 0.3:
            topics = rng.sample(["deals", "drops", "restocks"], rng.randint(1, 2))
            self._add("preference_set", who, self._ago(0, 60), {"topics": topics, "categories": [favourite]})
        self._clicks(who)

    def _cart(self, who: str, cart_id: str, items: list[dict], at: datetime) -> None:
        self._add(
            "cart_updated",
            who,
            at,
            {
                "cart_id": cart_id,
                "cart_url": f"{SITE}/cart/{cart_id}",
                "items": items,
                "total": sum(x["price"] * x["quantity"] for x in items),
            },
        )

    def _order(self, who: str, i: int, n: int, liked: list[dict], at: datetime, *, discount: bool) -> None:
        rng = self.rng
        items = [
            self._item(p, rng.randint(1, 2)) for p in rng.sample(liked, min(len(liked), rng.randint(1, 3)))
        ]
        total = sum(x["price"] * x["quantity"] for x in items)
        cart_id, checkout_id, order_id = f"c{i}-{n}", f"k{i}-{n}", f"{1000 + i}-{n}"
        self._cart(who, cart_id, items, at - timedelta(minutes=25))
        self._add("checkout_started", who, at - timedelta(minutes=10), {
            "checkout_id": checkout_id, "cart_id": cart_id, "checkout_url": f"{SITE}/checkout/{checkout_id}",
            "items": items, "total": total,
        })  # fmt: skip
        properties = {"order_id": order_id, "cart_id": cart_id, "checkout_id": checkout_id, "items": items}
        if discount:
            properties["discount_code"] = rng.choice(DISCOUNT_CODES)
            total = round(total * 0.85, 2)
        self._add("order_placed", who, at, {**properties, "total": round(total, 2)})
        delivered = at + timedelta(days=rng.randint(2, 5))
        if delivered < self.now:
            self._add("order_delivered", who, delivered, {"order_id": order_id})
        if rng.random() < 0.5:
            # Points earned on the order; the balance is their dollar value.
            points = self.points[who] = self.points.get(who, 0) + int(total) * 10
            self._add(
                "reward_balance_changed",
                who,
                at + timedelta(minutes=1),
                {"balance": points / 100, "points": points},
            )

    def _abandoned(self, who: str, i: int, liked: list[dict]) -> None:
        """A cart with no order after it: recent for a share, so cart-recovery segments have members."""
        rng = self.rng
        at = self._ago(0, 1) if rng.random() < 0.35 else self._ago(1, 20)
        items = [self._item(rng.choice(liked))]
        cart_id = f"c{i}-open"
        self._cart(who, cart_id, items, at)
        if rng.random() < 0.5:
            checkout_id = f"k{i}-open"
            self._add("checkout_started", who, at + timedelta(minutes=4), {
                "checkout_id": checkout_id, "cart_id": cart_id,
                "checkout_url": f"{SITE}/checkout/{checkout_id}", "items": items, "total": items[0]["price"],
            })  # fmt: skip

    def _left_cart(self, who: str, cart_id: str, liked: list[dict]) -> None:
        """A cart left during the played-forward weeks, at shopping hours: cart recovery's traffic."""
        rng = self.rng
        day = self.now - timedelta(days=rng.uniform(0.3, HISTORY_DAYS - 0.5))
        at = day.replace(hour=rng.randint(13, 23), minute=rng.randint(0, 59), second=0, microsecond=0)
        if at >= self.now:
            at -= timedelta(days=1)
        items = [self._item(p) for p in rng.sample(liked, min(len(liked), rng.randint(1, 2)))]
        self._cart(who, cart_id, items, at)

    def _clicks(self, who: str) -> None:
        """Clicks on texts of the SMS tool used before this app: they end where its history starts."""
        roll = self.rng.random()
        if roll < 0.4:
            window = (HISTORY_DAYS + 1, 60)
        elif roll < 0.65:
            window = (61, 120)
        else:
            return
        for _ in range(self.rng.randint(1, 3)):
            product = self.rng.choice(self.products)
            self._add("sms_clicked", who, self._ago(*window), {"url": product["url"]})


@dataclass
class Timeline:
    """The shop's side of the played-forward weeks: events and stock changes in time order.

    `store_until(moment)` stores, through ingestion, everything that happened up to `moment`, at
    `moment`; it returns the ids of the product changes it recorded."""

    store: Store
    start: datetime
    events: list[dict]
    stock: list[tuple[datetime, dict]]
    _event: int = 0
    _stock: int = 0

    def __post_init__(self) -> None:
        self._times = [datetime.fromisoformat(e["occurred_at"]) for e in self.events]

    def next_at(self) -> datetime | None:
        """When the next thing not yet stored happened."""
        times = []
        if self._event < len(self.events):
            times.append(self._times[self._event])
        if self._stock < len(self.stock):
            times.append(self.stock[self._stock][0])
        return min(times, default=None)

    def store_until(self, moment: datetime) -> list[int]:
        due = []
        while self._event < len(self.events) and self._times[self._event] <= moment:
            due.append(self.events[self._event])
            self._event += 1
        for start in range(0, len(due), BATCH):
            events_ingest(store=self.store, payloads=due[start : start + BATCH], now=moment)
        changes = []
        while self._stock < len(self.stock) and self.stock[self._stock][0] <= moment:
            payload = self.stock[self._stock][1]
            self._stock += 1
            changes += products_upsert(store=self.store, payloads=[payload], now=moment).change_ids
        return changes


def _restocks(now: datetime) -> list[tuple[datetime, dict]]:
    changes = []
    for days, product in RESTOCKS:
        back = (now - timedelta(days=days)).replace(hour=15, minute=0, second=0, microsecond=0)
        changes.append((back, {"id": product, "stock": 12}))
        changes.append((back + SOLD_OUT_AFTER, {"id": product, "stock": 0}))
    return sorted(changes, key=lambda change: change[0])


def demo_store_create() -> Store:
    """The demo store sends from a fictional number of its own, so the replies of its played-forward
    weeks find it whatever the default sender; set a real sender on the store to text real phones."""
    return Store.objects.create(
        slug=SLUG,
        brand_name="Juniper Market",
        site_url=SITE,
        allowed_link_domains=["shop.example.com"],
        default_timezone="America/New_York",
        help_text="Juniper Market: help at shop.example.com/help or hello@shop.example.com.",
        contact_email="hello@shop.example.com",
        rewards_url=f"{SITE}/rewards",
        from_number=SENDER,
    )


def demo_store_delete(store: Store) -> None:
    """Rows of the store that hold others with PROTECT (flows hold segments and templates) go
    first: PROTECT refuses even when the protected row is being deleted with the store."""
    for model in apps.get_models():
        fields = model._meta.fields
        owned = any(f.name == "store" and f.related_model is Store for f in fields)
        if owned and any(f.many_to_one and f.remote_field.on_delete is models.PROTECT for f in fields):
            model._base_manager.filter(store=store).delete()
    store.delete()


def demo_load(
    *, now: datetime, customers: int = 1000, seed: int = 2026, reset: bool = False
) -> DemoSummary | None:
    """Build the demo store; None when it already exists and `reset` is off. Nothing is queued
    for a worker: the past's ticks and reports do that work at its own times, and the live tick
    takes the last minute's events."""
    if not 1 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS}")
    # With DEBUG on, Django formats each query for its log of the last 9,000 (on SQLite with a
    # query of its own): over the build's ~70,000 that is a sixth of its time, for a log no one reads.
    with tasks_held(), override_settings(DEBUG=False):
        return _demo_load(now=now, customers=customers, seed=seed, reset=reset)


def _demo_load(*, now: datetime, customers: int, seed: int, reset: bool) -> DemoSummary | None:
    with transaction.atomic():
        existing = Store.objects.filter(slug=SLUG).first()
        if existing and not reset:
            return None
        if existing:
            demo_store_delete(existing)
        store = demo_store_create()
        presets_install(store=store)
        builder = _Builder(now=now, size=customers, seed=seed)
        start = builder.start
        products_upsert(store=store, payloads=builder.products, now=start)
        people = builder.customers()
        for first in range(0, len(people), BATCH):
            customers_upsert(store=store, payloads=people[first : first + BATCH], now=start)
        events = sorted(builder.events, key=lambda e: e["occurred_at"])
        timeline = Timeline(store=store, start=start, events=events, stock=_restocks(now))
        timeline.store_until(start)
    # The weeks are played forward in transactions of their own (the engine's, as live).
    answers = demo_loaded.send(Store, store=store, now=now, timeline=timeline)
    with transaction.atomic():
        timeline.store_until(now)
    history = [line for _, lines in answers for line in lines or []]
    return DemoSummary(
        store=store,
        customers=store.customers.count(),
        subscribed=store.customers.filter(sms_consent="subscribed").count(),
        products=store.products.count(),
        categories=store.categories.count(),
        events=Counter(e["type"] for e in builder.events),
        history=tuple(history),
    )
