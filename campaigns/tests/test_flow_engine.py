from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from campaigns.flows.advance import runs_advance_due
from campaigns.models import Flow, FlowRun, FlowStep, FlowStepVisit, Message
from campaigns.tests.flowkit import T0, make_customer, make_store
from campaigns.tick import tick
from customers.models import Customer


def make_flow(store, status="live", **steps_extra):
    flow = Flow.objects.create(
        store=store, name="Welcome", slug="welcome", status=status, event_type="signed_up"
    )
    FlowStep.objects.create(flow=flow, position=1, kind="send", body="Hi {{ first_name }}, welcome!")
    FlowStep.objects.create(flow=flow, position=2, kind="wait", delay_value=1, delay_unit="days")
    FlowStep.objects.create(
        flow=flow, position=3, kind="send", body="Day two, {{ first_name }}.", **steps_extra
    )
    return flow


def enrol(flow, customers, at=T0):
    first = flow.steps.get(position=1)
    FlowRun.objects.bulk_create(
        FlowRun(
            flow=flow,
            customer=c,
            trigger_key=f"test:{c.id}",
            entered_at=at,
            created_at=at,
            current_step=first,
            next_due_at=at,
        )
        for c in customers
    )


@pytest.mark.django_db
def test_running_the_same_tick_twice_sends_nothing_twice():
    store = make_store()
    flow = make_flow(store)
    enrol(flow, [make_customer(store, first_name=n) for n in ("Ana", "Bo", "Cy")])

    first = tick(now=T0 + timedelta(minutes=1))
    again = tick(now=T0 + timedelta(minutes=1))

    assert (first.runs_advanced, first.messages_created) == (3, 3)
    assert (again.runs_advanced, again.messages_created) == (0, 0)
    assert sorted(Message.objects.values_list("body", flat=True)) == [
        "Hi Ana, welcome!",
        "Hi Bo, welcome!",
        "Hi Cy, welcome!",
    ]
    assert set(FlowRun.objects.values_list("next_due_at", flat=True)) == {T0 + timedelta(days=1)}


@pytest.mark.django_db
def test_a_run_walks_every_due_step_in_one_tick_and_finishes():
    store = make_store()
    flow = make_flow(store)
    enrol(flow, [make_customer(store)])

    tick(now=T0 + timedelta(days=1, minutes=30))

    run = FlowRun.objects.get()
    assert run.state == FlowRun.State.DONE  # step 1 was a day late: skipped; step 3 was on time: sent
    assert list(run.visits.order_by("step__position").values_list("outcome", flat=True)) == [
        "skipped",
        "waited",
        "sent",
    ]
    assert list(Message.objects.values_list("body", flat=True)) == ["Day two, Ana."]


@pytest.mark.django_db
def test_it_batches_and_uses_the_outboxs_idempotency_key():
    store = make_store()
    flow = make_flow(store)
    people = [make_customer(store) for _ in range(7)]
    enrol(flow, people)

    runs, _ = runs_advance_due(now=T0, batch_size=3)

    assert runs == 7
    keys = set(Message.objects.values_list("idempotency_key", flat=True))
    step = flow.steps.get(position=1)
    assert keys == {f"run:{r.id}:step:{step.id}" for r in FlowRun.objects.all()}


@pytest.mark.django_db
def test_paused_flows_do_not_advance():
    store = make_store()
    flow = make_flow(store, status="paused")
    enrol(flow, [make_customer(store)])

    assert tick(now=T0).runs_advanced == 0
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_local_time_window_waits_for_the_customers_morning():
    store = make_store()
    flow = make_flow(store, window_start=time(10), window_end=time(12))
    tokyo = make_customer(store, timezone="Asia/Tokyo")
    enrol(flow, [tokyo])

    tick(now=T0)
    tick(now=T0 + timedelta(days=1))

    # The wait ends at 15:00 UTC, midnight in Tokyo; the 10:00 Tokyo window opens at 01:00 UTC.
    run = FlowRun.objects.get()
    assert run.next_due_at == datetime(2026, 11, 4, 1, 0, tzinfo=UTC)
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_ticks_racing_on_postgresql_create_no_duplicate_messages():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED needs PostgreSQL (SQLite serialises writers); CI runs this on PostgreSQL")
    store = make_store()
    flow = make_flow(store)
    Customer.objects.bulk_create(
        Customer(store=store, phone=f"+1415666{i:04d}", timezone="America/New_York", timezone_source="given")
        for i in range(400)
    )
    enrol(flow, list(Customer.objects.all()))
    barrier = threading.Barrier(2)
    reports = []

    def worker():
        try:
            barrier.wait()
            reports.append(runs_advance_due(now=T0, batch_size=25)[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert Message.objects.count() == 400
    assert Message.objects.values("customer").distinct().count() == 400
    assert sum(reports) == 400
    assert all(runs > 0 for runs in reports), "both workers should have shared the work"
    assert FlowStepVisit.objects.count() == 400


@pytest.mark.django_db
def test_a_split_sends_each_branch_its_own_way():
    from customers.models import Segment

    store = make_store()
    austin = Segment.objects.create(
        store=store,
        name="Austin",
        slug="austin",
        rules={"type": "profile", "field": "city", "op": "eq", "value": "Austin"},
    )
    flow = Flow.objects.create(store=store, name="Local", slug="local", status="live", event_type="x")
    FlowStep.objects.create(flow=flow, position=1, kind="split", segment=austin, no_next=3)
    FlowStep.objects.create(flow=flow, position=2, kind="send", body="Hi Austin")
    FlowStep.objects.create(flow=flow, position=3, kind="send", body="Hi all")
    FlowStep.objects.create(flow=flow, position=4, kind="end")
    FlowStep.objects.create(flow=flow, position=5, kind="send", body="never reached")
    local, remote = make_customer(store, city="Austin"), make_customer(store, city="Reno")
    enrol(flow, [local, remote])

    with CaptureQueriesContext(connection) as captured:
        tick(now=T0)

    # The split's segment comes with the tick's steps: it is not read again to sort the runs.
    by_id = 'FROM "customers_segment" INNER JOIN "customers_store"'
    assert not [q for q in captured.captured_queries if by_id in q["sql"]]
    bodies = {
        c: list(Message.objects.filter(customer=c).order_by("id").values_list("body", flat=True))
        for c in (local, remote)
    }
    assert bodies == {local: ["Hi Austin", "Hi all"], remote: ["Hi all"]}
    assert set(FlowRun.objects.values_list("state", flat=True)) == {"done"}


@pytest.mark.django_db
def test_a_tick_costs_the_same_queries_for_five_runs_as_for_fifty():
    def queries_for(count: int) -> int:
        store = make_store(slug=f"shop-{count}")
        flow = make_flow(store)
        enrol(flow, [make_customer(store) for _ in range(count)])
        with CaptureQueriesContext(connection) as captured:
            tick(now=T0, in_process=False)  # sending costs a provider call per text anyway
        assert Message.objects.filter(flow_run__flow=flow).count() == count
        Flow.objects.filter(id=flow.id).update(status="paused")
        return len(captured)

    assert queries_for(5) == queries_for(50)
