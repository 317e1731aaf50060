"""A template measured as it will be sent: at its examples, or rendered for a real audience."""

from __future__ import annotations

from collections import Counter, defaultdict

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
    forcing = _Forcing(measure_template(template_body, store=store))

    def bodies(batch: list[Customer]) -> list[str]:
        rendered = render_messages(
            template_body=template_body, customers=batch, snapshots=[snapshot or {}] * len(batch),
            utm_campaign="", utm_content="", offer_code=offer_code, track_links=False,
        )
        for customer, text in zip(batch, rendered, strict=True):
            forcing.add(customer, text.body)
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
    scale = total / len(texts) if total and total > len(texts) else 1
    if scale > 1:
        stats.sampled = len(texts)
        stats.total_segments = round(stats.total_segments * scale)
        stats.recipients = total
        stats.estimated_cost = cost(stats.total_segments, store.price_per_segment)
    stats.forcing = forcing.found(scale=scale, price_per_segment=store.price_per_segment)
    return stats


# Where a character that forces UCS-2 most often comes from: the customer's own values.
VALUE_FIELDS = {"first_name": "first names", "last_name": "last names", "city": "cities"}


class _Forcing:
    """Characters the audience's own data brings that make a GSM-7 template go as UCS-2, in how many
    texts, from which values, and the segments they add (each text against itself without them)."""

    def __init__(self, template: Measure) -> None:
        self.template_chars = {c.char for c in template.unicode_chars}
        self.texts: Counter = Counter()
        self.where: dict[str, Counter] = defaultdict(Counter)
        self.extra: Counter = Counter()

    def add(self, customer: Customer, body: str) -> None:
        measured = measure(body)
        chars = [c.char for c in measured.unicode_chars if c.char not in self.template_chars]
        if not chars or self.template_chars:
            return
        plain = measure(body.translate({ord(c): "?" for c in chars})).segments
        for char in chars:
            self.texts[char] += 1
            field = next((f for f in VALUE_FIELDS if char in (getattr(customer, f, "") or "")), "")
            self.where[char][VALUE_FIELDS.get(field, "other values")] += 1
        self.extra[chars[0]] += measured.segments - plain  # the text's extra cost, counted once

    def found(self, *, scale: float, price_per_segment) -> list[dict[str, object]]:
        return [
            {
                "char": char,
                "texts": round(n * scale),
                "where": self.where[char].most_common(1)[0][0],
                "extra_segments": round(self.extra[char] * scale),
                "extra_cost": str(cost(round(self.extra[char] * scale), price_per_segment)),
            }
            for char, n in self.texts.most_common()
        ]
