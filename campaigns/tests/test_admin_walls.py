"""The tenant wall: an owner of store A, holding store B's ids, reaches nothing of B's in the admin.

The walk covers every admin registered on the site (both apps and the libraries'), so a newly
registered admin is walked too; a model without a row builder below fails the walk by name.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from campaigns.models import (
    Campaign,
    Experiment,
    Flow,
    FlowRun,
    FlowStep,
    FlowTriggerFilter,
    GuardrailDecision,
    InboundMessage,
    Keyword,
    Message,
    MessageTemplate,
    Offer,
    OfferCode,
    QuietHoursRule,
    UndeliverableNumber,
)
from campaigns.models.templates import CreepTerm
from customers.admin.scoping import STORE_OWNER, StoreScopedAdmin
from customers.connections.models import ShopConnection, WebhookDelivery
from customers.models import (
    ApiKey,
    Category,
    ConsentRecord,
    Customer,
    Event,
    ImportJob,
    PredictionRun,
    PrivacyLogEntry,
    Product,
    ProductChange,
    Segment,
    Store,
)

NOW = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)
MARKER = "bravo"  # every row of store B says it, so a page that shows one of them says it too
STANDARD_VIEWS = ("changelist", "add", "history", "delete", "change")


def world(tag: str, phone: str) -> dict[type, object]:
    """One row of every store-owned model, for a store named after `tag`."""
    store = Store.objects.create(
        slug=tag.lower(), brand_name=f"{tag} Outfitters", site_url=f"https://{tag.lower()}.example.com"
    )
    customer = Customer.objects.create(
        store=store, phone=phone, first_name=tag, timezone="America/New_York", timezone_source="given"
    )
    category = Category.objects.create(store=store, external_id=tag, name=f"{tag} category")
    product = Product.objects.create(
        store=store,
        external_id=tag,
        name=f"{tag} product",
        url=f"https://{tag}.example.com/p",
        category=category,
    )
    event = Event.objects.create(
        store=store,
        customer=customer,
        type="order_placed",
        occurred_at=NOW,
        received_at=NOW,
        product=product,
        idempotency_key=f"{tag}-order",
        properties={"order_id": f"{tag}-order"},
    )
    segment = Segment.objects.create(store=store, name=f"{tag} segment", slug=tag.lower(), rules={})
    template = MessageTemplate.objects.create(store=store, name=f"{tag} template", body=f"{tag} says hi")
    flow = Flow.objects.create(store=store, name=f"{tag} flow", slug=tag.lower(), event_type="order_placed")
    step = FlowStep.objects.create(flow=flow, position=1, body=f"{tag} step", segment=segment)
    campaign = Campaign.objects.create(
        store=store, name=f"{tag} campaign", slug=tag.lower(), template=template, segment=segment, send_at=NOW
    )
    message = Message.objects.create(
        store=store,
        customer=customer,
        to=phone,
        body=f"{tag} text",
        idempotency_key=f"{tag}-text",
        created_at=NOW,
        campaign=campaign,
    )
    rows = [
        store,
        customer,
        category,
        product,
        event,
        segment,
        template,
        flow,
        step,
        campaign,
        message,
        ConsentRecord.objects.create(
            store=store, customer=customer, action="opt_in", source=f"{tag} form", occurred_at=NOW
        ),
        ProductChange.objects.create(product=product, field="price", new_value=1, changed_at=NOW),
        ImportJob.objects.create(store=store, file_name=f"{tag}.csv", content=phone, created_at=NOW),
        PrivacyLogEntry.objects.create(
            store=store, action="export", actor=f"{tag} staff", customer_id=customer.pk,
            phone_hash=f"{tag}hash", occurred_at=NOW,
        ),  # fmt: skip
        PredictionRun.objects.create(store=store, started_at=NOW, shortfall=f"{tag} shortfall"),
        ApiKey.objects.create(
            store=store, name=f"{tag} key", prefix=tag[:8], key_hash=hashlib.sha256(tag.encode()).hexdigest()
        ),
        CreepTerm.objects.create(store=store, category="other", phrase=f"{tag} phrase"),
        FlowTriggerFilter.objects.create(flow=flow, property="total", value=f"{tag} value"),
        FlowRun.objects.create(
            flow=flow,
            customer=customer,
            created_at=NOW,
            entered_at=NOW,
            trigger_key=f"{tag}-run",
            trigger_event=event,
            current_step=step,
        ),
        Keyword.objects.create(store=store, word=tag.upper(), reply=f"{tag} reply"),
        InboundMessage.objects.create(
            store=store,
            customer=customer,
            from_number=phone,
            body=f"{tag} inbound",
            outcome="message",
            received_at=NOW,
        ),
        GuardrailDecision.objects.create(
            message=message,
            stage="create",
            outcome="allow",
            reason="ok",
            detail=f"{tag} decision",
            decided_at=NOW,
        ),
        QuietHoursRule.objects.create(store=store, region="TX", note=f"{tag} rule"),
        UndeliverableNumber.objects.create(
            store=store, phone=phone[:-1] + "9", error_code="21614", recorded_at=NOW
        ),
        Experiment.objects.create(store=store, name=f"{tag} experiment", campaign=campaign),
        offer := Offer.objects.create(store=store, name=f"{tag} offer"),
        OfferCode.objects.create(offer=offer, store=store, code=f"{tag}-CODE", status="available"),
        connection := ShopConnection.objects.create(
            store=store, platform="shopify", shop_domain=f"{tag.lower()}.myshopify.com", webhook_secret=tag,
            connected_at=NOW,
        ),
        WebhookDelivery.objects.create(
            connection=connection, delivery_id=f"{tag}-delivery", topic="orders/create", received_at=NOW
        ),
    ]
    return {type(row): row for row in rows}


@pytest.fixture
def stores(db):
    return world("Alpha", "+14155550101"), world("Bravo", "+14155550202")


@pytest.fixture
def owner(client, django_user_model, stores):
    """An owner of store A, with the "Store owner" role's permissions."""
    user = django_user_model.objects.create_user("alpha-owner", password="pw-123456789", is_staff=True)
    user.groups.add(Group.objects.get(name=STORE_OWNER))
    stores[0][Store].owners.add(user)
    client.force_login(user)
    return client


def registered() -> list[tuple[type, admin.ModelAdmin]]:
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def refused(response) -> bool:
    """403, 404, or the admin's "does not exist" redirect to its index."""
    if response.status_code in (403, 404):
        return True
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def assert_nothing_of_b(response, theirs: dict[type, object]) -> None:
    assert response.status_code < 500, response.content[:500]
    page = response.content.decode(errors="replace").lower()
    assert MARKER not in page, f"{response.request['PATH_INFO']} shows a row of store B"
    assert theirs[Customer].phone not in page


def b_row(model: type, theirs: dict[type, object]):
    row = theirs.get(model)
    assert row is not None, f"Add a row of {model._meta.label} to world() so the walk covers its admin"
    return row


def url(model: type, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model,model_admin", registered(), ids=[m._meta.label for m, _ in registered()])
def test_an_owner_reaches_no_row_of_another_store(owner, stores, model, model_admin):
    mine, theirs = stores
    if not isinstance(model_admin, StoreScopedAdmin):
        # Admins that know nothing of stores are closed to store owners altogether.
        assert owner.get(url(model, "changelist")).status_code == 403
        assert owner.get(url(model, "add")).status_code == 403
        return
    row = b_row(model, theirs)
    before = {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields}

    changelist = owner.get(url(model, "changelist"))
    assert changelist.status_code == 200
    assert_nothing_of_b(changelist, theirs)
    shown = {obj.pk for obj in changelist.context["cl"].result_list}
    assert row.pk not in shown
    assert b_row(model, mine).pk in shown, "the owner sees their own store's rows"
    for spec in changelist.context["cl"].filter_specs:
        labels = " ".join(str(choice["display"]) for choice in spec.choices(changelist.context["cl"]))
        assert MARKER not in labels.lower(), f"list filter {spec.title!r} lists store B's rows"
    for term in (MARKER, theirs[Customer].phone):
        searched = owner.get(url(model, "changelist") + "?" + urlencode({"q": term}))
        assert row.pk not in {obj.pk for obj in searched.context["cl"].result_list}

    add = owner.get(url(model, "add"), follow=True)  # campaigns are added on the compose page
    assert add.status_code in (200, 403)
    assert_nothing_of_b(add, theirs)

    for view in ("change", "history", "delete"):
        response = owner.get(url(model, view, row.pk))
        assert refused(response), f"{view} of store B's {model._meta.label}"
        assert_nothing_of_b(response, theirs)
    assert refused(owner.post(url(model, "change", row.pk), {}))
    assert refused(owner.post(url(model, "delete", row.pk), {"post": "yes"}))
    owner.post(
        url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
    )
    row.refresh_from_db()
    assert {f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields} == before

    content_type = ContentType.objects.get_for_model(model)
    assert owner.get(reverse("admin:view_on_site", args=[content_type.pk, row.pk])).status_code == 404


def autocomplete_fields() -> list[tuple[type, str]]:
    pairs = []
    for model, model_admin in registered():
        pairs += [(model, name) for name in model_admin.autocomplete_fields]
        for inline in model_admin.inlines:
            pairs += [(inline.model, name) for name in inline.autocomplete_fields]
    return pairs


@pytest.mark.parametrize(
    "model,field_name", autocomplete_fields(), ids=[f"{m._meta.label}.{f}" for m, f in autocomplete_fields()]
)
def test_autocomplete_answers_only_the_owners_rows(owner, stores, model, field_name):
    mine, theirs = stores
    remote = model._meta.get_field(field_name).related_model
    query = {
        "app_label": model._meta.app_label,
        "model_name": model._meta.model_name,
        "field_name": field_name,
    }
    for term in ("", MARKER, theirs[Customer].phone[-4:]):
        response = owner.get(reverse("admin:autocomplete") + "?" + urlencode({**query, "term": term}))
        assert response.status_code == 200
        ids = {int(result["id"]) for result in response.json()["results"]}
        assert b_row(remote, theirs).pk not in ids
        assert_nothing_of_b(response, theirs)
    everything = owner.get(reverse("admin:autocomplete") + "?" + urlencode({**query, "term": ""}))
    assert b_row(remote, mine).pk in {int(r["id"]) for r in everything.json()["results"]}


def custom_urls() -> list[tuple[type, object]]:
    """The admins' own views beyond add / change / delete / history."""
    found = []
    for model, model_admin in registered():
        for pattern in model_admin.get_urls():
            name = pattern.name or ""
            if name and not name.endswith(tuple(f"_{view}" for view in STANDARD_VIEWS)):
                found.append((model, pattern))
    return found


def b_id_for(parameter: str, model: type, theirs: dict[type, object]) -> int:
    """Store B's id for a URL parameter: `pk` is the admin's own model, `flow_id` a Flow, ..."""
    if parameter in ("pk", "id", "object_id"):
        return b_row(model, theirs).pk
    named = {m._meta.model_name: row for m, row in theirs.items()}
    model_name = parameter.removesuffix("_id")
    assert model_name in named, f"Map the URL parameter {parameter!r} to a model in b_id_for()"
    return named[model_name].pk


@pytest.mark.parametrize("model,pattern", custom_urls(), ids=[p.name for _, p in custom_urls()])
def test_an_owner_gets_nothing_of_another_store_from_custom_admin_views(owner, stores, model, pattern):
    _, theirs = stores
    parameters = re.findall(r"<(?:\w+:)?(\w+)>", str(pattern.pattern))
    address = reverse(f"admin:{pattern.name}", kwargs={p: b_id_for(p, model, theirs) for p in parameters})

    response = owner.get(address)
    if response.status_code == 405:  # a view that only acts on POST must refuse B's ids there too
        response = owner.post(address)

    if parameters:
        assert refused(response), f"{address} answers for store B's id"
    assert_nothing_of_b(response, theirs)


def post_json(client, name: str, payload: dict):
    return client.post(reverse(f"admin:{name}"), payload, content_type="application/json")


def test_the_segment_builder_refuses_another_stores_ids(owner, stores):
    mine, theirs = stores
    tree = {"type": "group", "match": "all", "children": []}

    other_store = post_json(owner, "customers_segment_preview", {"store": theirs[Store].pk, "rules": tree})
    other_segment = post_json(
        owner,
        "customers_segment_preview",
        {"store": mine[Store].pk, "segment": theirs[Segment].pk, "rules": tree},
    )

    assert other_store.status_code == 400
    assert other_store.json()["errors"][0]["path"] == "store"
    assert other_segment.json()["diff"] is None  # B's saved segment was not compared against
    assert_nothing_of_b(other_segment, theirs)
    reference = post_json(
        owner,
        "customers_segment_preview",
        {
            "store": mine[Store].pk,
            "rules": {**tree, "children": [{"type": "segment", "segment": theirs[Segment].pk}]},
        },
    )
    assert f"no segment {theirs[Segment].pk} in this store" in reference.json()["errors"][0]["message"]


def test_the_template_preview_refuses_another_stores_ids(owner, stores):
    mine, theirs = stores
    body = "Hi {{ first_name }}"

    other_store = post_json(
        owner, "campaigns_messagetemplate_preview", {"store": theirs[Store].pk, "body": body}
    )
    samples = [
        post_json(owner, "campaigns_messagetemplate_preview", {"store": mine[Store].pk, "body": body, **pick})
        for pick in (
            {"customer": str(theirs[Customer].pk)},
            {"customer": theirs[Customer].phone},
            {"segment": theirs[Segment].pk},
        )
    ]
    audience = post_json(
        owner,
        "campaigns_messagetemplate_audience",
        {"store": mine[Store].pk, "segment": theirs[Segment].pk, "body": body},
    )

    assert (other_store.status_code, other_store.json()["errors"][0]["field"]) == (400, "store")
    for sample in samples:
        assert sample.json()["samples"] == []
        assert_nothing_of_b(sample, theirs)
    assert (audience.status_code, audience.json()["errors"][0]["field"]) == (400, "segment")


def test_installing_and_importing_refuse_another_store(owner, stores):
    _, theirs = stores
    flows, segments = theirs[Store].flows.count(), theirs[Store].segments.count()

    owner.post(
        reverse("admin:campaigns_flow_install_recipe"), {"store": theirs[Store].pk, "recipe": "cart_recovery"}
    )
    owner.post(reverse("admin:customers_segment_install_presets"), {"store": [theirs[Store].pk]})
    imported = owner.post(reverse("admin:campaigns_flow_import"), {"store": theirs[Store].pk})

    assert "store" in imported.context["form"].errors
    assert (theirs[Store].flows.count(), theirs[Store].segments.count()) == (flows, segments)


# --- rules for every store ------------------------------------------------------------------


def test_an_owner_reads_but_cannot_change_a_rule_for_every_store(owner, stores):
    global_rule = QuietHoursRule.objects.get(store__isnull=True, region="FL")

    listed = owner.get(url(QuietHoursRule, "changelist"))
    page = owner.get(url(QuietHoursRule, "change", global_rule.pk))
    owner.post(
        url(QuietHoursRule, "change", global_rule.pk),
        {"region": "FL", "window_start": "03:00", "window_end": "04:00"},
    )
    deleted = owner.post(url(QuietHoursRule, "delete", global_rule.pk), {"post": "yes"})

    assert global_rule.pk in {rule.pk for rule in listed.context["cl"].result_list}
    assert page.status_code == 200 and not page.context["has_change_permission"]
    assert deleted.status_code == 403
    assert QuietHoursRule.objects.get(pk=global_rule.pk).window_start == global_rule.window_start


def test_an_owner_adds_rules_only_for_their_store(owner, stores):
    mine, theirs = stores
    rule = {"region": "CA", "window_start": "03:00", "window_end": "04:00"}

    for_everyone = owner.post(url(QuietHoursRule, "add"), rule)
    for_b = owner.post(url(QuietHoursRule, "add"), {**rule, "store": theirs[Store].pk})
    for_a = owner.post(url(QuietHoursRule, "add"), {**rule, "store": mine[Store].pk})

    assert "store" in for_everyone.context["adminform"].form.errors
    assert "store" in for_b.context["adminform"].form.errors
    assert for_a.status_code == 302
    assert list(QuietHoursRule.objects.filter(region="CA").values_list("store", flat=True)) == [
        mine[Store].pk
    ]


def test_a_superuser_edits_a_rule_for_every_store(client, django_user_model, stores):
    client.force_login(django_user_model.objects.create_superuser("root", password="pw-123456789"))
    global_rule = QuietHoursRule.objects.get(store__isnull=True, region="FL")

    response = client.post(
        url(QuietHoursRule, "change", global_rule.pk),
        {"region": "FL", "window_start": "09:00", "window_end": "20:00", "note": "state law"},
    )

    assert response.status_code == 302
    global_rule.refresh_from_db()
    assert (global_rule.window_start.hour, global_rule.store) == (9, None)
