"""Unique codes from a pool: a campaign gives each recipient the pool's next code, a text keeps its
code when drafted again, and a recipient the pool has none left for is held, never texted a code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from campaigns.broadcasts.materialize import campaign_materialize
from campaigns.content.offers import PENDING, offer_codes_give, offer_pool_add
from campaigns.models import Campaign, Message, MessageTemplate, Offer, OfferCode, Reason
from campaigns.tests.inbound_helpers import everyone, make_store, subscribed
from campaigns.tick import tick

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 11:00 in New York


@pytest.fixture
def store():
    return make_store("juniper")


@pytest.fixture
def pool(store):
    offer = Offer.objects.create(store=store, name="Spring pool", source=Offer.Source.POOL)
    assert offer_pool_add(offer=offer, codes=["SPRING-A", "SPRING-B", " SPRING-A ", "SPRING-C", ""]) == 3
    return offer


def campaign_with(store, offer) -> Campaign:
    template = MessageTemplate.objects.create(store=store, name="Spring", body="Your code: {{ offer_code }}")
    return Campaign.objects.create(
        store=store,
        name="Spring",
        slug="spring",
        template=template,
        segment=everyone(store),
        send_at=NOW,
        status=Campaign.Status.SCHEDULED,
        offer=offer,
    )


def test_each_recipient_gets_the_pools_next_code_and_the_last_is_held(store, pool):
    people = [subscribed(store, f"+1415555{100 + i:04d}", NOW - timedelta(days=1)) for i in range(4)]
    campaign = campaign_with(store, pool)

    campaign_materialize(campaign_id=campaign.pk, now=NOW)
    tick(now=NOW + timedelta(minutes=1))

    texts = {m.customer_id: m for m in Message.objects.filter(campaign=campaign)}
    sent = [texts[p.pk] for p in people[:3]]
    assert sorted(m.body for m in sent) == [
        "Your code: SPRING-A",
        "Your code: SPRING-B",
        "Your code: SPRING-C",
    ]
    assert all(m.status == Message.Status.SENT for m in sent)
    last = texts[people[3].pk]
    assert (last.status, last.reason) == (Message.Status.HELD, Reason.OFFER_CODE_REFUSED)
    assert OfferCode.objects.filter(offer=pool, status=OfferCode.Status.AVAILABLE).count() == 0


def test_a_text_drafted_again_keeps_its_code(store):
    offer = Offer.objects.create(store=store, name="Cart 10", code_prefix="CART")
    customer = subscribed(store, "+14155550199", NOW)

    first = offer_codes_give(offer=offer, recipients=[("run:1:step:1", customer.pk)], now=NOW)
    again = offer_codes_give(offer=offer, recipients=[("run:1:step:1", customer.pk)], now=NOW)

    assert first == again
    assert first["run:1:step:1"].code.startswith("CART-") and len(first["run:1:step:1"].code) == 13
    assert first["run:1:step:1"].state == PENDING
    assert OfferCode.objects.count() == 1


def test_a_shop_offer_without_a_shop_that_creates_codes_holds_its_texts(store):
    offer = Offer.objects.create(store=store, name="Cart 10", code_prefix="CART")
    subscribed(store, "+14155550198", NOW - timedelta(days=1))
    campaign = campaign_with(store, offer)

    campaign_materialize(campaign_id=campaign.pk, now=NOW)
    tick(now=NOW + timedelta(minutes=1))

    text = Message.objects.get(campaign=campaign)
    assert (text.status, text.reason) == (Message.Status.HELD, Reason.OFFER_CODE_REFUSED)
    assert OfferCode.objects.get().error == "no shop connected that can create codes"


@pytest.mark.browser
def test_an_offer_with_a_pool_is_made_in_the_admin_and_its_figures_listed(admin_page, transactional_db):
    store = make_store("juniper", brand_name="Juniper")
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/campaigns/offer/add/")

    page.select_option("#id_store", str(store.pk))
    page.fill("#id_name", "Spring pool")
    page.select_option("#id_source", "pool")
    page.fill("#id_pool", "SPRING-A\nSPRING-B\nSPRING-C")
    page.click("input[name=_save]")

    page.get_by_text("3 codes added to the pool.").wait_for()
    row = page.locator("#result_list tbody tr").first
    assert "10% off, for 2 h" in row.inner_text()
    assert row.locator("td.field-left").inner_text() == "3"


def test_an_experiments_offer_arm_gives_its_recipients_codes_and_the_control_none():
    from campaigns.models import Experiment, ExperimentVariant
    from campaigns.tests.flowkit import T0, make_customer
    from campaigns.tests.flowkit import make_store as flow_store
    from campaigns.tests.test_flow_engine import enrol, make_flow

    store = flow_store("offers")
    pool = Offer.objects.create(store=store, name="Arm B pool", source=Offer.Source.POOL)
    offer_pool_add(offer=pool, codes=[f"ARMB-{i}" for i in range(40)])
    flow = make_flow(store)
    step = flow.steps.get(position=1)
    step.body = 'Welcome! {{ offer_code|default:"no code" }}'
    step.save()
    experiment = Experiment.objects.create(
        store=store, name="offer", lever="offer", flow_step=step, started_at=T0
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="No offer", is_control=True)
    ExperimentVariant.objects.create(experiment=experiment, key="B", name="Unique code", offer=pool)
    people = [make_customer(store) for _ in range(30)]
    enrol(flow, people)

    tick(now=T0 + timedelta(minutes=1))

    texts = Message.objects.filter(flow_step=step)
    arm_b = [m.body for m in texts if m.variant.endswith(".B")]
    arm_a = [m.body for m in texts if m.variant.endswith(".A")]
    assert arm_a and arm_b and len(arm_a) + len(arm_b) == 30
    assert all(body == "Welcome! no code" for body in arm_a)
    assert len({body for body in arm_b}) == len(arm_b) and all("ARMB-" in body for body in arm_b)
