"""Turns a template into one customer's text, or many customers' texts at once.

Contract used by flows and broadcasts:
    render_message(*, template_body, customer, snapshot, utm_campaign, utm_content, offer_code="")
        -> Rendered(body, links)
    render_messages(*, template_body, customers, snapshots=None, utm_campaign, utm_content,
                    offer_code="") -> list[Rendered]          # same order as customers
`snapshot` is the flat context a trigger captured (cart_link, product_name, product_id, ...);
link fields and literal links become tracked short links, returned as PendingLinks for the outbox
to store with the message. render_messages loads what the fields need in a few bulk queries,
whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import OuterRef, Subquery

from campaigns.bulk import any_of
from campaigns.content import meter
from campaigns.content.fields import FIELDS, LINK_FIELDS
from campaigns.content.links import CODE_LENGTH, PendingLink, find_urls, new_code, short_url, target_error
from campaigns.content.templating import (
    FieldRef,
    Money,
    Plan,
    Template,
    TemplateError,
    parse,
    plan_bind,
    render_parsed,
)
from customers.models import Category, Customer, CustomerPrediction, Event, Product, Store

CHUNK = 1000
MAX_TARGET_CHARS = 1000  # Link.target_url
PLACEHOLDER_CODE = "x" * CODE_LENGTH
TRIGGER_PRODUCT_FIELDS = ("product_name", "product_link", "category_name", "product_tip")
FIXED_FIELDS = {"store_name", "prefs_link", "redeem_link"}  # a snapshot never overrides these
STORE_FIELDS = {"store_name"}  # the same in every text of a store: rendered once per batch


@dataclass
class Rendered:
    body: str
    links: list[PendingLink] = field(default_factory=list)

    @property
    def measure(self) -> meter.Measure:
        return meter.measure(self.body)


@dataclass
class Lookups:
    """What the fields need beyond the customer row, loaded once per batch."""

    stores: dict[int, Store]
    last_category: dict[int, str] = field(default_factory=dict)
    category_names: dict[tuple[int, str], str] = field(default_factory=dict)
    products: dict[int, Product] = field(default_factory=dict)
    next_orders: dict[int, datetime] = field(default_factory=dict)


def _with_urls_as_fields(template: Template) -> tuple[Template, dict[str, str]]:
    """The template with each literal URL turned into an internal field, so it is tracked too."""
    parts: list[str | FieldRef] = []
    urls: dict[str, str] = {}
    for part in template.parts:
        if not isinstance(part, str):
            parts.append(part)
            continue
        pos = 0
        for start, end, url in find_urls(part):
            parts.append(part[pos:start])
            name = f"_url{len(urls)}"
            urls[name] = url
            parts.append(FieldRef(name, (), start, end))
            pos = end
        parts.append(part[pos:])
    return Template(tuple(p for p in parts if p != "")), urls


def prepare(template_body: str) -> tuple[Template, dict[str, str]]:
    """Parse and check the template against the catalogue; raise TemplateError otherwise."""
    template = parse(template_body)
    for ref in template.fields:
        if ref.name not in FIELDS:
            raise TemplateError(f"Unknown field {ref.name}.", position=ref.start, field=ref.name)
    return _with_urls_as_fields(template)


def _last_categories(customer_ids: list[int]) -> dict[int, str]:
    latest = (
        Event.objects.filter(customer=OuterRef("pk"), type="order_placed", product__category__isnull=False)
        .order_by("-occurred_at", "-id")
        .values("product__category__name")[:1]
    )
    found: dict[int, str] = {}
    for i in range(0, len(customer_ids), CHUNK):
        rows = (
            Customer.objects.filter(any_of("pk", customer_ids[i : i + CHUNK]))
            .annotate(last_category=Subquery(latest))
            .values_list("pk", "last_category")
        )
        found.update({pk: name for pk, name in rows if name})
    return found


def _next_orders(customer_ids: list[int]) -> dict[int, datetime]:
    found: dict[int, datetime] = {}
    for i in range(0, len(customer_ids), CHUNK):
        rows = CustomerPrediction.objects.filter(
            customer_id__in=customer_ids[i : i + CHUNK], next_order_at__isnull=False
        ).values_list("customer_id", "next_order_at")
        found.update(rows)
    return found


def _stores(customers: Sequence[Customer], store_ids: set[int]) -> dict[int, Store]:
    """The customers' stores: those already loaded with them (a flow's batch), the rest read once."""
    loaded = [c for c in customers if isinstance(c, Customer) and Customer.store.is_cached(c)]
    found = {c.store_id: c.store for c in loaded}
    missing = store_ids - found.keys()
    return found | (Store.objects.in_bulk(missing) if missing else {})


def load_lookups(customers: Sequence[Customer], snapshots: Sequence[Mapping], names: set[str]) -> Lookups:
    store_ids = {c.store_id for c in customers}
    lookups = Lookups(stores=_stores(customers, store_ids))
    if "last_category_bought" in names:
        lookups.last_category = _last_categories([c.pk for c in customers])
    if "preferred_category" in names:
        rows = Category.objects.filter(store_id__in=store_ids).values_list("store_id", "external_id", "name")
        lookups.category_names = {(s, e.lower()): n for s, e, n in rows}
    if "next_order_date" in names:
        lookups.next_orders = _next_orders([c.pk for c in customers])
    if names & set(TRIGGER_PRODUCT_FIELDS):
        ids = {_int(s.get("product_id")) for s in snapshots} - {None}
        if ids:
            lookups.products = Product.objects.select_related("category").in_bulk(ids)
    return lookups


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _money(value: object, currency: str) -> object:
    if isinstance(value, Money) or value in (None, ""):
        return value
    try:
        return Money(Decimal(str(value)), currency)
    except InvalidOperation:
        return value


def _preferred_category(customer: Customer, store: Store, lookups: Lookups) -> str:
    favourites = customer.favorite_categories or []
    favourite = str(favourites[0]).strip() if favourites else ""
    return lookups.category_names.get((store.pk, favourite.lower()), favourite)


def _next_order_date(customer: Customer, store: Store, lookups: Lookups) -> str:
    """The predicted next order's day in the customer's timezone ("Dec 14"); empty without one."""
    at = lookups.next_orders.get(customer.pk) if customer is not None else None
    if at is None:
        return ""
    try:
        tz = ZoneInfo(customer.timezone or store.default_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(store.default_timezone)
    local = at.astimezone(tz)
    return f"{local:%b} {local.day}"


# Each customer field: the Customer columns it reads, and its value. A batch computes only the
# fields its template names, from rows holding only those columns (see `customer_columns`).
CUSTOMER_FIELDS: dict[str, tuple[tuple[str, ...], Callable[[Customer, Store, Lookups], object]]] = {
    "first_name": (("first_name",), lambda c, s, lk: c.first_name),
    "city": (("city",), lambda c, s, lk: c.city),
    "store_name": ((), lambda c, s, lk: s.brand_name),
    "loyalty_status": (("loyalty_status",), lambda c, s, lk: c.loyalty_status),
    "reward_points": (("reward_points",), lambda c, s, lk: f"{c.reward_points:,}" if c.reward_points else ""),
    "reward_amount": (("reward_balance",), lambda c, s, lk: Money(c.reward_balance, s.currency)),
    "preferred_store": (("preferred_store",), lambda c, s, lk: c.preferred_store),
    "preferred_category": (("favorite_categories",), _preferred_category),
    "last_category_bought": ((), lambda c, s, lk: lk.last_category.get(c.pk, "")),
    "next_order_date": (("timezone",), _next_order_date),
    "redeem_link": ((), lambda c, s, lk: s.rewards_url),
    "prefs_link": (("prefs_token",), lambda c, s, lk: f"{settings.PUBLIC_BASE_URL}/prefs/{c.prefs_token}"),
}


def customer_columns(template_body: str) -> list[str]:
    """The Customer columns rendering this template reads (besides pk and store_id)."""
    names = {ref.name for ref in prepare(template_body)[0].fields}
    return sorted({column for name in names & CUSTOMER_FIELDS.keys() for column in CUSTOMER_FIELDS[name][0]})


def trigger_context(snapshot: Mapping, store: Store, lookups: Lookups) -> dict[str, object]:
    context = {k: v for k, v in snapshot.items() if k in FIELDS and k not in FIXED_FIELDS}
    product = lookups.products.get(_int(snapshot.get("product_id")) or 0)
    if product is not None and product.store_id == store.pk:
        filled = {
            "product_name": product.name,
            "product_link": product.url,
            "category_name": product.category.name if product.category else "",
            "product_tip": product.usage_tip,
        }
        for name, value in filled.items():
            if not str(context.get(name) or "").strip():
                context[name] = value
    if "reward_amount" in context:
        context["reward_amount"] = _money(context["reward_amount"], store.currency)
    return context


def _link_target(value: object, store: Store) -> str:
    """The absolute target for a link value, or "" when it is empty or not on an allowed host."""
    text = str(value or "").strip()
    if not text:
        return ""
    target = urljoin(store.site_url, text) if text.startswith("/") else text
    if len(target) > MAX_TARGET_CHARS or target_error(store, target):
        return ""
    return target


@dataclass(frozen=True)
class _Compiled:
    """What rendering a template needs beyond the context, worked out once per batch."""

    template: Template
    urls: dict[str, str]
    customer_fields: tuple[str, ...]
    link_fields: tuple[str, ...]
    fallbacks: dict[str, str]

    @classmethod
    def of(cls, template_body: str) -> _Compiled:
        template, urls = prepare(template_body)
        names = {ref.name for ref in template.fields}
        return cls(
            template=template,
            urls=urls,
            customer_fields=tuple(sorted(names & CUSTOMER_FIELDS.keys())),
            link_fields=tuple(sorted(names & LINK_FIELDS)),
            fallbacks={ref.name: ref.fallback for ref in reversed(template.fields) if ref.fallback},
        )


def _render_one(
    compiled: _Compiled, context: dict[str, object], store: Store, *,
    utm_campaign: str, utm_content: str, track_links: bool, plan: Plan | None = None,
    refused: frozenset[str], link_prefix: str,
) -> Rendered:
    """`refused`: the template's own URLs (by field name) the store's redirect would refuse;
    `link_prefix`: a short link without its code (`short_url("")`), read once per batch."""
    if not compiled.link_fields and not compiled.urls:
        return Rendered(body=render_parsed(compiled.template, context, currency=store.currency, plan=plan))
    codes: dict[str, str] = {}
    links: list[PendingLink] = []

    def shorten(target: str) -> str:
        if target not in codes:
            codes[target] = new_code() if track_links else PLACEHOLDER_CODE
            links.append(PendingLink(codes[target], target, utm_campaign, utm_content))
        return link_prefix + codes[target]

    fallbacks = compiled.fallbacks
    for name in compiled.link_fields:
        target = _link_target(context.get(name), store)
        if not target and fallbacks.get(name, "").startswith(("/", "http:", "https:")):
            # A fallback page is a link too: tracked like the field it stands in for.
            target = _link_target(fallbacks[name], store)
        context[name] = shorten(target) if target else ""
    for name, url in compiled.urls.items():
        context[name] = url if name in refused else shorten(url)
    body = render_parsed(compiled.template, context, currency=store.currency, plan=plan)
    return Rendered(body=body, links=links if track_links else [])


def render_messages(
    *,
    template_body: str,
    customers: Iterable[Customer],
    snapshots: Sequence[Mapping] | Mapping[int, Mapping] | None = None,
    utm_campaign: str,
    utm_content: str,
    offer_code: str = "",
    track_links: bool = True,
    offer_codes: Sequence[str] | None = None,
) -> list[Rendered]:
    """Render for many customers; snapshots align with customers, or are keyed by customer id.

    `offer_codes`, aligned with customers, gives each their own `{{ offer_code }}` (unique codes).

    A customer may be any row with the Customer attributes the template reads (`customer_columns`)
    plus pk and store_id. track_links=False renders short links with a placeholder code of the real
    length and returns no PendingLinks: for measuring an audience without creating links.
    """
    compiled = _Compiled.of(template_body)
    customers = list(customers)
    if snapshots is None:
        snapshot_list: list[Mapping] = [{}] * len(customers)
    elif isinstance(snapshots, Mapping):
        snapshot_list = [snapshots.get(c.pk) or {} for c in customers]
    else:
        snapshot_list = list(snapshots)
    names = {ref.name for ref in compiled.template.fields}
    lookups = load_lookups(customers, snapshot_list, names)
    by_store = STORE_FIELDS.intersection(compiled.customer_fields)
    plans = {
        store.pk: plan_bind(
            compiled.template,
            {name: CUSTOMER_FIELDS[name][1](None, store, lookups) for name in by_store},
            currency=store.currency,
        )
        for store in lookups.stores.values()
    }
    values = [(name, CUSTOMER_FIELDS[name][1]) for name in compiled.customer_fields if name not in by_store]
    # The same for every customer of a store: checked once per store, not once per text.
    refused = {
        store.pk: frozenset(name for name, url in compiled.urls.items() if target_error(store, url))
        for store in lookups.stores.values()
    }
    link_prefix = short_url("")
    rendered = []
    codes = list(offer_codes) if offer_codes is not None else [offer_code] * len(customers)
    for customer, snapshot, code in zip(customers, snapshot_list, codes, strict=True):
        store = lookups.stores[customer.store_id]
        context = {name: value(customer, store, lookups) for name, value in values}
        if snapshot:
            context.update(trigger_context(snapshot, store, lookups))
        if code:
            context["offer_code"] = code
        rendered.append(_render_one(compiled, context, store, utm_campaign=utm_campaign,
                                    utm_content=utm_content, track_links=track_links,
                                    plan=plans[customer.store_id], refused=refused[customer.store_id],
                                    link_prefix=link_prefix))
    return rendered


def render_message(
    *,
    template_body: str,
    customer: Customer,
    snapshot: Mapping[str, object],
    utm_campaign: str,
    utm_content: str,
    offer_code: str = "",
) -> Rendered:
    return render_messages(
        template_body=template_body, customers=[customer], snapshots=[snapshot or {}],
        utm_campaign=utm_campaign, utm_content=utm_content, offer_code=offer_code,
    )[0]


def render_example(template_body: str, *, store: Store | None = None) -> str:
    """The template with every field at its catalogue example and links at their real length."""
    from campaigns.content.fields import example_context

    template, urls = prepare(template_body)
    context: dict[str, object] = example_context()
    for name in LINK_FIELDS:
        context[name] = short_url(PLACEHOLDER_CODE)
    for name in urls:
        context[name] = short_url(PLACEHOLDER_CODE)
    if store is not None:
        context["store_name"] = store.brand_name
    return render_parsed(template, context, currency=store.currency if store else "USD")


PREVIEW_EVENT_TYPES = ("cart_updated", "checkout_started", "product_viewed", "back_in_stock_requested",
                       "order_placed", "order_delivered")
SNAPSHOT_KEYS = {"cart_link": ("cart_link", "cart_url"), "checkout_link": ("checkout_link", "checkout_url")}


# A preview may stand in for one kind of trigger: the customer's latest event of that kind.
PREVIEW_TRIGGERS = {"cart": ("cart_updated",), "checkout": ("checkout_started",)}


def preview_snapshots(customers: Sequence[Customer], trigger: str = "latest") -> dict[int, dict[str, object]]:
    """A stand-in trigger context per customer for the preview: their latest event with a product
    (and its cart or checkout link, when the event carried one), or with `trigger` "cart" or
    "checkout" their latest cart or checkout, with or without a product. Two queries for any number."""
    types = PREVIEW_TRIGGERS.get(trigger, PREVIEW_EVENT_TYPES)
    kinds = Event.objects.filter(customer=OuterRef("pk"), type__in=types)
    if trigger not in PREVIEW_TRIGGERS:
        kinds = kinds.filter(product__isnull=False)
    latest = kinds.order_by("-occurred_at", "-id").values("id")[:1]
    pairs = dict(
        Customer.objects.filter(pk__in=[c.pk for c in customers])
        .annotate(latest_event=Subquery(latest))
        .values_list("pk", "latest_event")
    )
    events = Event.objects.in_bulk([e for e in pairs.values() if e])
    snapshots: dict[int, dict[str, object]] = {}
    for customer_id, event_id in pairs.items():
        event = events.get(event_id)
        if event is None:
            snapshots[customer_id] = {}
            continue
        props = event.properties if isinstance(event.properties, dict) else {}
        snapshot: dict[str, object] = {"product_id": event.product_id} if event.product_id else {}
        for name, keys in SNAPSHOT_KEYS.items():
            value = next((props[k] for k in keys if props.get(k)), "")
            if value:
                snapshot[name] = value
        snapshots[customer_id] = snapshot
    return snapshots
