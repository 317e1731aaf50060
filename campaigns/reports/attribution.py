"""Which text earned an order, and which text an opt-out answered: set-based, each credited once.

An order counts for the last text that touched it: a click on the text's link within the store's
click window (default 5 days) or its delivery within the shorter delivery window (default 24 h),
whichever came later. An order that used a text's unique offer code is that text's, whatever
the windows: codes are credited first. Each run is one INSERT ... SELECT per store and kind over
the orders not yet credited; the unique order column makes a second run (or a concurrent one) add
nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Upper

from campaigns.bulk import select_insert
from campaigns.models import Attribution, Message, OfferCode, OptOutAttribution, ReportDayMark
from customers.models import ConsentRecord, Event, Store

OPT_OUT_WINDOW = timedelta(days=7)
# Orders are looked at again for this long, so a delivery receipt that arrives late still counts.
RESCAN = timedelta(days=8)
MONEY = DecimalField(max_digits=14, decimal_places=2)


def _orders_with_touches(store: Store, since: datetime) -> QuerySet[Event]:
    click_window = timedelta(days=store.attribution_click_days)
    delivery_window = timedelta(hours=store.attribution_delivery_hours)
    clicks = (
        Event.objects.filter(
            customer=OuterRef("customer"),
            type="sms_clicked",
            occurred_at__lte=OuterRef("occurred_at"),
            occurred_at__gte=OuterRef("occurred_at") - click_window,
        )
        .exclude(properties__message_id=None)
        .order_by("-occurred_at", "-pk")
    )
    deliveries = Message.objects.filter(
        customer=OuterRef("customer"),
        kind=Message.Kind.MARKETING,
        delivered_at__lte=OuterRef("occurred_at"),
        delivered_at__gte=OuterRef("occurred_at") - delivery_window,
    ).order_by("-delivered_at", "-pk")
    credited = Attribution.objects.filter(order=OuterRef("pk"))
    # Last touch: the click, unless a delivery came after it.
    by_click = Q(click_at__isnull=False) & (Q(delivered_at__isnull=True) | Q(click_at__gte=F("delivered_at")))
    return (
        Event.objects.filter(store=store, type="order_placed", occurred_at__gte=since)
        .exclude(Exists(credited))
        .annotate(
            click_at=Subquery(clicks.values("occurred_at")[:1]),
            click_message=Subquery(
                clicks.annotate(m=Cast(KT("properties__message_id"), BigIntegerField())).values("m")[:1]
            ),
            delivered_at=Subquery(deliveries.values("delivered_at")[:1]),
            delivered_message=Subquery(deliveries.values("pk")[:1]),
        )
        .filter(Q(click_at__isnull=False) | Q(delivered_at__isnull=False))
        .annotate(
            a_message=Case(
                When(by_click, then=F("click_message")),
                default=F("delivered_message"),
                output_field=BigIntegerField(),
            ),
            a_touch=Case(
                When(by_click, then=Value(Attribution.Touch.CLICK.value)),
                default=Value(Attribution.Touch.DELIVERY.value),
            ),
            a_revenue=Coalesce(Cast(KT("properties__total"), MONEY), Value(Decimal("0")), output_field=MONEY),
        )
        .filter(Exists(Message.objects.filter(pk=OuterRef("a_message"), store=store)))
    )


def _orders_with_codes(store: Store, since: datetime) -> QuerySet[Event]:
    """Orders that used an issued unique code, with the code's text."""
    codes = (
        OfferCode.objects.filter(store=store, status=OfferCode.Status.ISSUED)
        .exclude(message_key="")
        .annotate(upper=Upper("code"))
        .filter(upper=OuterRef("a_code"))
    )
    texts = Message.objects.filter(idempotency_key=OuterRef("a_key"), store=store)
    return (
        Event.objects.filter(store=store, type="order_placed", occurred_at__gte=since)
        .exclude(properties__discount_code=None)
        .exclude(Exists(Attribution.objects.filter(order=OuterRef("pk"))))
        .annotate(a_code=Upper(KT("properties__discount_code")))
        .annotate(a_key=Subquery(codes.values("message_key")[:1]))
        .annotate(a_message=Subquery(texts.values("pk")[:1]))
        .filter(a_message__isnull=False)
        .annotate(
            a_touch=Value(Attribution.Touch.CODE.value),
            a_revenue=Coalesce(Cast(KT("properties__total"), MONEY), Value(Decimal("0")), output_field=MONEY),
        )
    )


def codes_redeemed_mark(*, store: Store, since: datetime) -> int:
    """Each issued code an order used: the order, when, and its revenue (the offer's report)."""
    orders = (
        Event.objects.filter(store=store, type="order_placed", occurred_at__gte=since)
        .annotate(a_code=Upper(KT("properties__discount_code")))
        .filter(a_code=Upper(OuterRef("code")))
        .order_by("occurred_at", "pk")
    )
    return (
        OfferCode.objects.filter(store=store, status=OfferCode.Status.ISSUED, redeemed_at__isnull=True)
        .filter(Exists(orders))
        .update(
            order_id=Subquery(orders.values("pk")[:1]),
            redeemed_at=Subquery(orders.values("occurred_at")[:1]),
            revenue=Subquery(
                orders.annotate(t=Coalesce(Cast(KT("properties__total"), MONEY), Value(Decimal("0"))))
                .values("t")[:1]
            ),
        )
    )


def attributions_refresh(
    *, now: datetime, store_ids: list[int] | None = None, since: datetime | None = None
) -> int:
    """Credit each not yet credited order (placed since `since`) to its last touching text."""
    stores = Store.objects.all() if store_ids is None else Store.objects.filter(pk__in=store_ids)
    added = 0
    for store in stores:
        start = since or now - RESCAN
        with transaction.atomic():
            codes_redeemed_mark(store=store, since=start)
            coded = select_insert(
                model=Attribution,
                columns=["store", "order", "message", "touch", "revenue", "ordered_at"],
                skip_duplicates_of="order",
                queryset=_orders_with_codes(store, start)
                .annotate(a_store=F("store_id"), a_order=F("pk"), a_at=F("occurred_at"))
                .values_list("a_store", "a_order", "a_message", "a_touch", "a_revenue", "a_at"),
            )
            _mark_credited(Attribution.objects.filter(store=store, ordered_at__gte=start), coded, now)
            added += coded
        orders = _orders_with_touches(store, start)
        with transaction.atomic():
            touched = select_insert(
                model=Attribution,
                columns=["store", "order", "message", "touch", "revenue", "ordered_at"],
                skip_duplicates_of="order",
                queryset=orders.annotate(
                    a_store=F("store_id"), a_order=F("pk"), a_at=F("occurred_at")
                ).values_list("a_store", "a_order", "a_message", "a_touch", "a_revenue", "a_at"),
            )
            _mark_credited(Attribution.objects.filter(store=store, ordered_at__gte=start), touched, now)
            added += touched
    return added


def _mark_credited(rows: QuerySet, added: int, now: datetime) -> None:
    """Orders and opt-outs credited now change their texts' figures: those days are counted again."""
    if added:
        ReportDayMark.objects.add_for(Message.objects.filter(pk__in=rows.values("message_id")), now=now)


def opt_outs_attribute(
    *, now: datetime, store_ids: list[int] | None = None, since: datetime | None = None
) -> int:
    """Tie each opt-out to the last text its number received within 7 days before it."""
    last_text = Message.objects.filter(
        customer=OuterRef("customer"),
        status__in=Message.RECEIVED,
        sent_at__lte=OuterRef("occurred_at"),
        sent_at__gte=OuterRef("occurred_at") - OPT_OUT_WINDOW,
        confirms_opt_out=False,
    ).order_by("-sent_at", "-pk")
    records = ConsentRecord.objects.filter(
        action=ConsentRecord.Action.OPT_OUT, occurred_at__gte=since or now - RESCAN
    ).exclude(Exists(OptOutAttribution.objects.filter(record=OuterRef("pk"))))
    if store_ids is not None:
        records = records.filter(store_id__in=store_ids)
    rows = records.annotate(a_message=Subquery(last_text.values("pk")[:1])).filter(a_message__isnull=False)
    with transaction.atomic():
        added = select_insert(
            model=OptOutAttribution,
            columns=["store", "record", "message", "opted_out_at"],
            skip_duplicates_of="record",
            queryset=rows.annotate(
                a_store=F("store_id"), a_record=F("pk"), a_at=F("occurred_at")
            ).values_list("a_store", "a_record", "a_message", "a_at"),
        )
        _mark_credited(OptOutAttribution.objects.filter(opted_out_at__gte=since or now - RESCAN), added, now)
    return added
