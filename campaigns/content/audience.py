"""A template measured as it will be sent: at its examples, or rendered for a real audience."""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.content.meter import AudienceMeter, Measure, audience_stats, cost, measure
from campaigns.content.rendering import render_example, render_messages
from customers.models import Customer, Store


def measure_template(template_body: str, *, store: Store | None = None) -> Measure:
    """The template as the editor suggests it: fields at their catalogue examples, real link length."""
    return measure(render_example(template_body, store=store))


def audience_meter(
    *, template_body: str, store: Store, customers: QuerySet[Customer], snapshot: dict | None = None,
    offer_code: str = "", chunk_size: int = 2000, sample_size: int | None = None,
) -> AudienceMeter:
    """Render the template for every customer of a queryset, a chunk at a time, and meter the texts.

    Links are rendered at their real length without creating codes; nothing is stored. With
    sample_size, a larger audience is measured on a random sample of that many customers and the
    totals are scaled to the whole audience (`sampled` says how many were rendered)."""
    def bodies(batch: list[Customer]) -> list[str]:
        rendered = render_messages(
            template_body=template_body, customers=batch, snapshots=[snapshot or {}] * len(batch),
            utm_campaign="", utm_content="", offer_code=offer_code, track_links=False,
        )
        return [r.body for r in rendered]

    total = customers.count() if sample_size else None
    if total and sample_size and total > sample_size:
        customers = customers.order_by("?")[:sample_size]
    texts: list[str] = []
    batch: list[Customer] = []
    for customer in customers.iterator(chunk_size=chunk_size):
        batch.append(customer)
        if len(batch) >= chunk_size:
            texts += bodies(batch)
            batch = []
    texts += bodies(batch) if batch else []
    stats = audience_stats(
        texts, template=measure_template(template_body, store=store),
        price_per_segment=store.price_per_segment, currency=store.currency,
    )
    if total and total > len(texts):
        stats.sampled = len(texts)
        stats.total_segments = round(stats.total_segments * total / len(texts))
        stats.recipients = total
        stats.estimated_cost = cost(stats.total_segments, store.price_per_segment)
    return stats
