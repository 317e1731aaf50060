"""Best hour to text: each customer's own hour from their clicks, pulled toward the store's pattern,
judged on later clicks against one fixed hour."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from customers.admin.predictions import customer_predictions
from customers.models import Customer, CustomerPrediction, Event
from customers.predictions import best_hour
from customers.predictions.refresh import store_predictions_refresh
from customers.tests.stores import NOW, store_make

pytestmark = pytest.mark.django_db

ZONES = ("America/New_York", "America/Los_Angeles", "America/Chicago")


def clicks_at_known_hours(store, customers: int = 150, seed: int = 5) -> dict[int, int]:
    """Each customer clicks at their own local hour (give or take one), now and then at any hour."""
    rng = np.random.default_rng(seed)
    preferred, events = {}, []
    for i in range(customers):
        zone = ZONES[i % len(ZONES)]
        customer = Customer.objects.create(
            store=store, phone=f"+1555100{i:04d}", timezone=zone, timezone_source="given"
        )
        hour = int(rng.integers(8, 22))
        preferred[customer.pk] = hour
        for n in range(12):
            local_hour = hour + int(rng.integers(-1, 2)) if rng.random() < 0.8 else int(rng.integers(0, 24))
            day = (NOW - timedelta(days=float(rng.uniform(1, 200)))).astimezone(ZoneInfo(zone))
            at = day.replace(hour=local_hour % 24, minute=int(rng.integers(0, 60)))
            events.append(
                Event(
                    store=store,
                    customer=customer,
                    type="sms_clicked",
                    occurred_at=at,
                    received_at=at,
                    idempotency_key=f"c{customer.pk}-{n}",
                )
            )
    Event.objects.bulk_create(events)
    return preferred


def test_each_customer_gets_their_own_hour_where_it_beats_one_fixed_hour():
    store = store_make("hours")
    preferred = clicks_at_known_hours(store)

    run = store_predictions_refresh(store=store, now=NOW).run

    verdict = run.evaluation["best_hour"]
    assert verdict["used"], verdict
    assert verdict["model"]["share_near"] > verdict["rule"]["share_near"] + 0.3
    chosen = dict(CustomerPrediction.objects.filter(store=store).values_list("customer_id", "best_hour"))
    near = [abs(chosen[pk] - hour) <= 1 for pk, hour in preferred.items()]
    assert sum(near) / len(near) > 0.85  # SQLite reads summer hours at the offset of the run's day


def test_without_clicks_there_is_no_best_hour_and_the_run_says_why():
    store = store_make("quiet")
    ann = Customer.objects.create(store=store, phone="+15550000001", timezone="UTC", timezone_source="store")
    Event.objects.create(
        store=store,
        customer=ann,
        type="product_viewed",
        occurred_at=NOW - timedelta(days=1),
        received_at=NOW,
        idempotency_key="v1",
    )

    run = store_predictions_refresh(store=store, now=NOW).run

    assert run.evaluation["best_hour"]["why"] == (
        "needs 50 clicks or orders after texts in the last 60 days; you have 0 from customers seen before"
    )
    assert CustomerPrediction.objects.get(customer=ann).best_hour is None


def test_the_customer_page_gives_the_hour_with_its_strongest_reasons_in_words():
    store = store_make("hour-reasons")
    preferred = clicks_at_known_hours(store)
    store_predictions_refresh(store=store, now=NOW)
    pk, _ = next(iter(preferred.items()))
    customer = Customer.objects.get(pk=pk)
    hour = CustomerPrediction.objects.get(customer=customer).best_hour

    [line] = [line for line in customer_predictions(customer) if line["kind"] == "best_hour"]

    assert line["value"] == f"{hour}:00 their time"
    assert 2 <= len(line["reasons"]) <= 3
    own = line["reasons"][0]
    assert own.endswith(f"of their 12 clicks and orders after texts within an hour of {hour}:00")
    assert int(own.split()[0]) >= 6
    assert "the store's customers click and order most around" in line["reasons"][-1]


def test_a_local_hour_stays_the_same_across_summer_time():
    store = store_make("summer")
    ann = Customer.objects.create(
        store=store, phone="+15551990000", timezone="America/New_York", timezone_source="given"
    )
    zone = ZoneInfo("America/New_York")  # 19:30 there is 23:30 UTC in summer, 00:30 the next day in winter
    for n, day in enumerate(("2026-07-10", "2026-08-20", "2026-11-10", "2026-11-20")):
        at = datetime.fromisoformat(f"{day}T19:30").replace(tzinfo=zone)
        Event.objects.create(
            store=store, customer=ann, type="sms_clicked", occurred_at=at, received_at=at,
            idempotency_key=f"s{n}",
        )

    ids, counts = best_hour._counts(store, NOW)

    assert ids.tolist() == [ann.pk] and counts[0][19] == 4
