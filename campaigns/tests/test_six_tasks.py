"""Six everyday tasks of a new marketer, in a real browser at 1440 × 900, each from the admin home,
with its clicks counted (a choice in a dropdown and a file picked count as clicks; typing does not).
Screenshots of each task's end are kept under artifacts/screenshots/, the counts in
artifacts/six-tasks-clicks.txt."""

from __future__ import annotations

from datetime import timedelta

import pytest

from campaigns.models import Campaign, Experiment, ExperimentDecision, ExperimentVariant
from campaigns.tests.inbound_helpers import AUTH_TOKEN, inbound_params, make_store, signed_post, subscribed
from campaigns.tests.test_flow_engine import make_flow
from campaigns.tick import SENDING, tick
from conftest import SCREENSHOTS
from customers.models import Customer, Event, Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLICKS_FILE = SCREENSHOTS.parent / "six-tasks-clicks.txt"


class Counted:
    """The page, with each click, dropdown choice and file pick counted."""

    def __init__(self, page, task: str) -> None:
        self.page, self.task, self.clicks = page, task, 0

    def click(self, selector: str) -> None:
        self.clicks += 1
        self.page.click(selector)

    def choose(self, selector: str, value: str) -> None:
        self.clicks += 1
        self.page.select_option(selector, value)

    def pick_file(self, selector: str, name: str, content: bytes) -> None:
        self.clicks += 1
        self.page.set_input_files(selector, files=[{"name": name, "mimeType": "text/csv", "buffer": content}])

    def done(self, limit: int) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = self.task.lower().replace(" ", "-")
        self.page.screenshot(path=str(SCREENSHOTS / f"six-tasks-{slug}.png"), full_page=True)
        lines = CLICKS_FILE.read_text().splitlines() if CLICKS_FILE.exists() else []
        lines = [line for line in lines if not line.startswith(f"{self.task}:")]
        lines.append(f"{self.task}: {self.clicks}")
        CLICKS_FILE.write_text("\n".join(sorted(lines)) + "\n")
        assert self.clicks <= limit


@pytest.fixture
def home(admin_page, frozen_now):
    admin_page.set_viewport_size({"width": 1440, "height": 900})
    admin_page.goto(f"{admin_page.live_server_url}/admin/")
    return admin_page


@pytest.fixture
def store(db, frozen_now):
    store = make_store(allowed_link_domains=["shop.example.com"])
    for n, name in enumerate(["Ana", "Ben", "Cy"]):
        city = "Austin" if name == "Ana" else "Boston"
        subscribed(store, f"+1415555010{n}", frozen_now - timedelta(days=40), first_name=name, city=city)
    return store


def happened(customer: Customer, kind: str, at, **properties) -> None:
    Event.objects.create(
        store=customer.store, customer=customer, type=kind, occurred_at=at, received_at=at,
        idempotency_key=f"{customer.pk}-{kind}-{at:%s}", properties=properties,
    )  # fmt: skip


def test_1_build_carted_and_not_ordered_in_24_hours_and_see_its_count(home, store, frozen_now):
    ana, ben, _ = Customer.objects.filter(store=store).order_by("pk")
    happened(ana, "cart_updated", frozen_now - timedelta(hours=2))
    happened(ben, "cart_updated", frozen_now - timedelta(hours=3))
    happened(ben, "order_placed", frozen_now - timedelta(hours=1))
    page = Counted(home, "1 segment")

    page.click("tr.model-segment a.addlink")
    home.fill("#id_name", "Carted, not ordered")
    page.choose(".sb-group[data-path=''] > .sb-group-foot .sb-add-type", "sequence")
    page.click(".sb-group[data-path=''] > .sb-group-foot .sb-add-condition")
    page.choose(".sb-condition[data-path='children[0]'] select.sb-event", "cart_updated")
    home.wait_for_function("document.querySelector('#sp-count').textContent === '1'")
    page.click("input[name=_continue]")

    home.wait_for_selector(".messagelist .success")
    assert Segment.objects.filter(store=store, name="Carted, not ordered").exists()
    page.done(limit=6)


def test_2_install_a_recipe_and_read_its_backtest_with_example_texts(home, store, frozen_now):
    ana = Customer.objects.get(store=store, first_name="Ana")
    cart = "https://shop.example.com/cart/c1"
    happened(ana, "cart_updated", frozen_now - timedelta(days=3), cart_id="c1", cart_url=cart)
    page = Counted(home, "2 recipe and backtest")

    page.click("#campaigns-flow a")
    page.click("text=Install a recipe")
    page.click("button[value=cart_recovery]")
    page.click("text=Backtest")

    examples = home.locator("#backtest-examples").inner_text()
    assert "Ana" in examples and "Your cart is saved. Finish checkout: " in examples
    assert "Sent " in examples or "Held until " in examples or "Not sent: " in examples
    page.done(limit=4)


def test_3_compose_a_broadcast_to_a_small_segment_and_see_it_arrive(home, store, frozen_now, twilio_backend):
    Segment.objects.create(store=store, name="Austin", slug="austin", rules={
        "type": "group", "match": "all",
        "children": [{"type": "profile", "field": "city", "op": "eq", "value": "Austin"}],
    })  # fmt: skip
    page = Counted(home, "3 compose and send")

    page.click("tr.model-campaign a.addlink")
    home.fill("#id_name", "Trail sale")
    page.choose("#id_segment", str(Segment.objects.get(slug="austin").pk))
    text = 'Hi {{ first_name|default:"there" }}, trail sale today: https://shop.example.com/sale Reply STOP.'
    home.fill("#id_body", text)
    counts = "document.getElementById('audience-counts').textContent"
    home.wait_for_function(f"{counts}.includes('1 reachable by SMS')")
    samples = "document.getElementById('message-samples').textContent"
    home.wait_for_function(f"{samples}.includes('Hi Ana, trail sale today: https://sms.example.com/l/')")
    page.click("#review-button")
    assert home.inner_text("#send-button") == "Send to 1 person"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    home.screenshot(path=str(SCREENSHOTS / "six-tasks-3-compose-review.png"), full_page=True)
    page.click("#send-button")
    home.wait_for_url("**/progress/")

    tick(now=frozen_now)
    tick(now=frozen_now, stages=SENDING)
    [sent] = twilio_backend.sent_to("+14155550100")
    assert sent["Body"].startswith("Hi Ana, trail sale today: https://sms.example.com/l/")
    assert Campaign.objects.get().recipients_count == 1
    home.reload()
    home.wait_for_function("document.getElementById('count-materialized').textContent === '1'")
    page.done(limit=4)


def test_4_reply_in_the_inbox(home, store, frozen_now, client, settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    params = inbound_params("Do you ship to Canada?", "+14155550101")
    public = "https://sms.example.com/webhooks/twilio/inbound"
    settings.PUBLIC_BASE_URL = "https://sms.example.com"
    answered = signed_post(client, "/webhooks/twilio/inbound", params, signed_url=public)
    assert answered.status_code == 200, answered.content
    settings.PUBLIC_BASE_URL = "https://sms.example.com"
    home.reload()
    page = Counted(home, "4 inbox reply")

    page.click("#open-conversations a")
    page.click("table.inbox a:has-text('Ben')")
    home.fill("#reply-form textarea", "Yes, we ship to Canada in 5 days.")
    page.click("#reply-form input[type=submit]")

    home.wait_for_selector(".messagelist")
    assert "Yes, we ship to Canada in 5 days." in home.inner_text("#thread")
    page.done(limit=3)


def test_5_read_an_experiments_winner(home, store, frozen_now):
    step = make_flow(store).steps.get(position=1)
    experiment = Experiment.objects.create(
        store=store, name="Welcome: plain vs personal", flow_step=step, status="finished",
        started_at=frozen_now,
    )
    ExperimentVariant.objects.create(experiment=experiment, key="A", name="Plain", is_control=True)
    winner = ExperimentVariant.objects.create(
        experiment=experiment, key="B", name="Personal",
        body='Welcome, {{ first_name|default:"friend" }}! Reply STOP to opt out.',
    )
    ExperimentDecision.objects.create(
        experiment=experiment, variant=winner, kind="winner", decided_at=frozen_now,
        reason="B (Personal) wins on click rate: 17.56% against the control's 9.10%.",
    )  # fmt: skip
    page = Counted(home, "5 experiment winner")

    page.click("#campaigns-experiment a")
    page.click("text=Open report")

    assert "B (Personal) wins on click rate" in home.inner_text(".decisions")
    assert home.inner_text("#winning-copy").startswith("Welcome, {{ first_name")
    page.done(limit=2)


def test_6_import_a_csv_with_one_bad_row(home, store):
    header = "phone,external_id,first_name,consent_status,consent_source,consent_wording,consent_at"
    good = "+13055550123,c-1,Dee,subscribed,popup,Yes to texts. Reply STOP to cancel.,2026-05-01T10:00:00Z"
    bad = "+1555,c-2,Eve,,,,"
    page = Counted(home, "6 csv import")

    page.click("#customers-customer a")
    page.click("text=Import")
    csv_format = home.locator("select[name=format] option", has_text="csv").get_attribute("value")
    page.choose("select[name=store]", str(store.pk))
    page.choose("select[name=format]", csv_format)
    page.pick_file("input[name=import_file]", "customers.csv", "\n".join([header, good, bad]).encode())
    page.click("#content form input[type=submit]")
    assert "Is not a valid phone number" in home.inner_text("#content")
    assert not Customer.objects.filter(external_id="c-1").exists()

    page.choose("select[name=store]", str(store.pk))
    page.choose("select[name=format]", csv_format)
    page.pick_file("input[name=import_file]", "customers.csv", "\n".join([header, good]).encode())
    page.click("#content form input[type=submit]")
    page.click("input[name=confirm]")

    home.wait_for_selector(".messagelist")
    assert Customer.objects.filter(store=store, external_id="c-1").exists()
    page.done(limit=12)
