from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from campaigns.models import MessageTemplate
from campaigns.tests.fields_support import NOW, make_customer, make_product, make_store
from campaigns.tests.inbound_helpers import store_owner
from conftest import SCREENSHOTS
from customers.models import Event, Segment

BACK = ("It's back ✅ {{ product_name|default:\"Your pick\" }} is in stock again. "
        "Grab it now: {{ product_link }}")
EVERYONE = {"type": "group", "match": "all", "children": []}
PREVIEW = "/admin/campaigns/messagetemplate/preview/"
AUDIENCE = "/admin/campaigns/messagetemplate/audience/"


@pytest.fixture
def demo(db):
    return _demo_rows()


def _post(client, url, **payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def _owner(django_user_model, store, username="owner"):
    return store_owner(
        django_user_model, store, Permission.objects.filter(codename__endswith="messagetemplate"), username
    )


def test_the_preview_renders_a_customer_with_meter_checks_and_creep(admin_client, demo):
    store, maya, _ = demo
    response = _post(admin_client, PREVIEW, body=BACK + " We saw you looked at it 3 times", store=store.pk,
                     customer=maya.phone)
    data = response.json()
    assert response.status_code == 200
    [sample] = data["samples"]
    assert sample["body"].startswith("It's back ✅ Linen Shirt is in stock again. Grab it now: http")
    assert sample["meter"]["encoding"] == "UCS-2"
    assert data["template_meter"]["encoding"] == "UCS-2"
    assert [f["phrase"] for f in data["creep"]] == ["We saw", "you looked at", "3 times"]
    assert [(c["code"], c["field"]) for c in data["checks"]] == [("no_fallback", "product_link")]


def test_the_preview_shows_five_customers_of_a_segment(admin_client, demo):
    store, _, segment = demo
    data = _post(admin_client, PREVIEW, body='Hi {{ first_name|default:"there" }}', store=store.pk,
                 segment=segment.pk).json()
    assert [s["body"] for s in data["samples"]] == ["Hi Maya", "Hi Leo", "Hi there"]
    assert data["segments"] == [{"id": segment.pk, "name": "Everyone"}]


def test_a_customers_values_can_make_the_text_creepy_and_the_preview_says_so(admin_client, demo):
    store, maya, _ = demo
    pillow = make_product(store, "Pregnancy Pillow", category="Sleep")
    Event.objects.create(store=store, customer=maya, type="product_viewed", occurred_at=NOW.replace(hour=16),
                         received_at=NOW, product=pillow, idempotency_key="v-pillow")
    data = _post(admin_client, PREVIEW, body=BACK, store=store.pk, customer=maya.phone).json()
    assert data["creep"] == []
    assert [(f["category"], f["phrase"]) for f in data["samples"][0]["creep"]] == [("pregnancy", "Pregnancy")]


def test_the_preview_reports_template_errors_without_rendering(admin_client, demo):
    store, maya, _ = demo
    data = _post(admin_client, PREVIEW, body="Hi {{ frist_name }}", store=store.pk, customer=maya.pk).json()
    assert data["checks"][0]["message"] == "Unknown field frist_name. Did you mean first_name?"
    assert data["samples"] == [] and data["template_meter"] is None


def test_the_audience_meter_counts_segments_and_cost(admin_client, demo):
    store, _, segment = demo
    data = _post(admin_client, AUDIENCE, body=BACK, store=store.pk, segment=segment.pk).json()
    assert data["recipients"] == 3
    assert data["template"]["encoding"] == "UCS-2"
    assert data["ucs2_share"] == 1.0
    assert Decimal(data["estimated_cost"]) == (Decimal(data["total_segments"]) * Decimal("0.0079")).quantize(
        Decimal("0.01"))


def test_bad_requests_name_the_field(admin_client, demo):
    store, _, _ = demo
    assert admin_client.post(PREVIEW, "not json", content_type="application/json").json() == {
        "errors": [{"field": "body", "message": "Send a JSON object."}]}
    assert _post(admin_client, PREVIEW, body="x", store=999).json()["errors"][0]["field"] == "store"
    response = _post(admin_client, AUDIENCE, body="x", store=store.pk, segment="nope")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "segment"


def test_saving_refuses_errors_and_shows_warnings(admin_client, demo):
    store, _, _ = demo
    url = "/admin/campaigns/messagetemplate/add/"
    response = admin_client.post(url, {"store": store.pk, "name": "Sale", "body": "Go: https://evil.example.net"})
    assert response.status_code == 200
    assert "evil.example.net is not one of the store&#x27;s allowed link domains" in response.content.decode()
    response = admin_client.post(url, {"store": store.pk, "name": "Hi", "body": "Hi {{ first_name }}"},
                                 follow=True)
    assert MessageTemplate.objects.filter(name="Hi").exists()
    assert "first_name can be empty" in response.content.decode()


def test_store_owners_see_only_their_stores_templates(client, demo, django_user_model):
    store, maya, _ = demo
    other = make_store("other", brand_name="Other Shop", site_url="https://other.example.com")
    MessageTemplate.objects.create(store=store, name="Mine", body="Hi")
    MessageTemplate.objects.create(store=other, name="Theirs", body="Hi")
    client.force_login(_owner(django_user_model, store))
    listing = client.get("/admin/campaigns/messagetemplate/").content.decode()
    assert "Mine" in listing and "Theirs" not in listing
    assert _post(client, PREVIEW, body="Hi", store=other.pk).json()["errors"][0]["field"] == "store"
    assert _post(client, PREVIEW, body="Hi", store=store.pk, customer=maya.pk).status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_editing_a_template_updates_the_preview_and_meter(admin_page):
    page = admin_page
    store, maya, segment = _demo_rows()
    page.goto(f"{page.live_server_url}/admin/campaigns/messagetemplate/add/")
    page.select_option("#id_store", str(store.pk))
    page.fill("#id_name", "Back in stock")
    page.fill("#tp-customer", maya.phone)
    page.fill("#id_body", "Your pick is back in stock. Grab it now: {{ product_link }}")
    page.wait_for_selector(".tp-sample-body")
    page.wait_for_function("document.getElementById('tp-meter').textContent.includes('GSM-7')")
    page.fill("#id_body", BACK)
    page.wait_for_function("document.getElementById('tp-meter').textContent.includes('UCS-2')")
    page.wait_for_function(
        "document.querySelector('.tp-sample-body').textContent.startsWith(\"It's back ✅ Linen Shirt\")")
    assert "WHITE HEAVY CHECK MARK".lower() in page.text_content("#tp-encoding")
    page.fill("#id_body", BACK + " We saw you looked at it 7 times")
    page.wait_for_function("document.getElementById('tp-creep').textContent.includes('7 times')")
    page.select_option("#tp-segment", str(segment.pk))
    page.fill("#tp-customer", "")
    page.wait_for_function("document.querySelectorAll('.tp-sample').length === 3")
    page.click("#tp-audience-run")
    page.wait_for_selector(".tp-audience-table")
    assert "Estimated cost" in page.text_content("#tp-audience")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "template_admin_live_preview.png"), full_page=True)
    page.fill("#id_body", BACK)
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert MessageTemplate.objects.get(name="Back in stock").body == BACK


def _demo_rows():
    store = make_store()
    shirt = make_product(store, "Linen Shirt")
    maya = make_customer(store, "+14155550100")
    make_customer(store, "+14155550101", first_name="Leo")
    make_customer(store, "+14155550102", first_name="")
    Event.objects.create(store=store, customer=maya, type="back_in_stock_requested", occurred_at=NOW,
                         received_at=NOW, product=shirt, idempotency_key="bis-1")
    segment = Segment.objects.create(store=store, name="Everyone", slug="everyone", rules=EVERYONE)
    return store, maya, segment


def test_preview_shows_the_short_link_as_sent_and_the_page_it_opens_and_stores_nothing(admin_client, demo):
    from campaigns.models import Link

    store, maya, segment = demo
    data = _post(
        admin_client, PREVIEW, body=BACK, store=store.pk, customer=maya.phone, segment=segment.pk
    ).json()

    [sample] = data["samples"]
    [link] = sample["links"]
    assert sample["body"].split("Grab it now: ")[1].startswith(link["short"])  # the text as sent
    assert "/l/" in link["short"] and "utm_source=sms" in link["opens"]
    assert sample["meter"]["characters"] == len(sample["body"])  # the count matches what is shown
    assert data["sample_note"].startswith("Showing the customer you typed")
    assert not Link.objects.exists()


def test_a_template_that_opens_a_flow_is_checked_as_a_first_text(admin_client, demo):
    from campaigns.flows.recipes import recipe_install

    store, _, _ = demo
    template = MessageTemplate.objects.create(store=store, name="Cart 1", body="Your cart: {{ cart_link }}")
    flow = recipe_install(store=store, name="cart_recovery")
    flow.steps.filter(kind="send").order_by("position").update(template=None)
    first = flow.steps.filter(kind="send").order_by("position").first()
    first.template = template
    first.save(update_fields=["template"])

    page = admin_client.get(f"/admin/campaigns/messagetemplate/{template.pk}/change/").content.decode()

    assert 'id="tp-first" checked' in page and "The first text of Cart recovery" in page


def test_the_preview_takes_a_real_customers_latest_cart_for_the_cart_link(admin_client):
    store = make_store()
    maya = make_customer(store, "+14155550100")
    Event.objects.create(
        store=store, customer=maya, type="cart_updated", occurred_at=NOW, received_at=NOW,
        idempotency_key="cart-1", properties={"cart_id": "c1", "cart_url": "https://shop.example.com/cart/c1"},
    )  # fmt: skip
    body = "Your cart is saved: {{ cart_link }} Reply STOP to opt out."

    latest = _post(admin_client, PREVIEW, body=body, store=store.pk, customer=maya.phone).json()
    cart = _post(admin_client, PREVIEW, body=body, store=store.pk, customer=maya.phone, context="cart").json()

    assert latest["samples"][0]["links"] == []  # a cart without a product is no product event
    [link] = cart["samples"][0]["links"]
    assert link["opens"].startswith("https://shop.example.com/cart/c1")
    assert cart["samples"][0]["body"].startswith(f"Your cart is saved: {link['short']} ")


def test_the_audience_is_measured_over_every_subscriber_when_no_segment_is_picked(admin_client):
    store = make_store()
    make_customer(store, "+14155550100")
    make_customer(store, "+14155550101")

    audience = "/admin/campaigns/messagetemplate/audience/"
    data = _post(admin_client, audience, body="Hi there.", store=store.pk).json()

    assert (data["segment"], data["recipients"]) == ("All subscribers", 2)
