"""Length, encoding, segments and cost of a text, as carriers bill it.

Facts from GSM 03.38 and Twilio's segment documentation:
- GSM-7: 160 septets in one segment, 153 per segment once split (7 go to the UDH header);
  the extension characters ^ { } \\ [ ] ~ | € and form feed take two septets (escape + char),
  and an escape pair is never split across segments.
- Any character outside GSM-7 sends the whole text as UCS-2: 70 UTF-16 units in one segment,
  67 per segment once split; an emoji outside the Basic Multilingual Plane (most of them) is a
  surrogate pair, two units, never split.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
GSM7 = frozenset(GSM7_BASIC) | frozenset(GSM7_EXTENSION)
NOT_GSM7 = re.compile("[^" + re.escape(GSM7_BASIC + GSM7_EXTENSION) + "]")
EXTENSION = re.compile("[" + re.escape(GSM7_EXTENSION) + "]")

SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI = {"GSM-7": 153, "UCS-2": 67}

# What a careful editor types instead; the same substitutions as Twilio's Smart Encoding.
REPLACEMENTS = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2039": "'", "\u203a": "'",
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2022": "-", "\u2026": "...", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ",
    "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ", "\u200b": "", "\u200c": "", "\u200d": "",
    "\u2060": "", "\ufeff": "", "\u00b4": "'", "\u02bc": "'", "\u02c6": "^", "\u02dc": "~",
    "\u00e7": "Ç", "\u2122": "TM", "\u00ae": "(R)", "\u00a9": "(C)", "\u00d7": "x",
}


@dataclass(frozen=True)
class UnicodeChar:
    char: str
    name: str
    count: int
    suggestion: str | None  # None: no GSM-7 equivalent (an emoji, say)

    def as_dict(self) -> dict[str, object]:
        return {"char": self.char, "name": self.name, "count": self.count, "suggestion": self.suggestion}


@dataclass(frozen=True)
class Measure:
    encoding: str
    characters: int
    units: int  # septets for GSM-7, UTF-16 units for UCS-2
    segments: int
    unicode_chars: tuple[UnicodeChar, ...] = ()
    extension_chars: tuple[str, ...] = ()

    @property
    def per_segment(self) -> int:
        return SINGLE[self.encoding] if self.segments <= 1 else MULTI[self.encoding]

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "units": self.units,
            "segments": self.segments,
            "per_segment": self.per_segment,
            "unicode_chars": [c.as_dict() for c in self.unicode_chars],
            "extension_chars": list(self.extension_chars),
        }


def suggestion_for(char: str) -> str | None:
    if char in REPLACEMENTS:
        return REPLACEMENTS[char]
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return plain if plain and plain != char and all(c in GSM7 for c in plain) else None


def _name(char: str) -> str:
    if "\ud800" <= char[:1] <= "\udfff":
        return "SURROGATE"
    return unicodedata.name(char, f"U+{ord(char):04X}")


def _segments(costs: list[int], single: int, multi: int) -> int:
    total = sum(costs)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:  # an escape pair or a surrogate pair never straddles two segments
            segments, used = segments + 1, 0
        used += cost
    return segments


def measure(text: str) -> Measure:
    outside = NOT_GSM7.findall(text)
    if not outside:
        extensions = EXTENSION.findall(text)
        units = len(text) + len(extensions)
        if not extensions:
            segments = 0 if not text else 1 if units <= 160 else -(-units // 153)
        else:
            segments = _segments([2 if c in GSM7_EXTENSION else 1 for c in text], 160, 153)
        return Measure("GSM-7", len(text), units, segments, (), tuple(dict.fromkeys(extensions)))
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    counts = Counter(outside)
    chars = tuple(UnicodeChar(c, _name(c), n, suggestion_for(c)) for c, n in counts.items())
    return Measure("UCS-2", len(text), sum(costs), _segments(costs, 70, 67), chars, ())


STORED_ENCODING = {"GSM-7": "gsm7", "UCS-2": "ucs2"}  # Message.Encoding's values


def encoding_and_segments(body: str) -> tuple[str, int]:
    """What the outbox stores for a text: its encoding and the segments it is billed as (>= 1)."""
    if NOT_GSM7.search(body) is None and EXTENSION.search(body) is None:
        # Plain GSM-7, most texts: one unit a character, without the full measure's detail.
        return STORED_ENCODING["GSM-7"], 1 if len(body) <= 160 else -(-len(body) // 153)
    measured = measure(body)
    return STORED_ENCODING[measured.encoding], max(measured.segments, 1)


def gsm_friendly(text: str) -> str:
    """`text` with every character that has a GSM-7 stand-in replaced by it."""
    return "".join(s if (s := suggestion_for(c)) is not None and c not in GSM7 else c for c in text)


def cost(segments: int, price_per_segment: Decimal) -> Decimal:
    return (Decimal(segments) * price_per_segment).quantize(Decimal("0.01"))


@dataclass
class AudienceMeter:
    recipients: int
    template: Measure
    min_segments: int = 0
    median_segments: float = 0
    max_segments: int = 0
    total_segments: int = 0
    longer_share: float = 0.0  # share of recipients whose text takes more segments than the template's
    ucs2_share: float = 0.0
    estimated_cost: Decimal = Decimal("0")
    currency: str = "USD"
    histogram: dict[int, int] = field(default_factory=dict)
    sampled: int | None = None  # how many were rendered, when the audience was sampled
    forcing: list[dict] = field(default_factory=list)  # characters from the data that force UCS-2

    def as_dict(self) -> dict[str, object]:
        return {
            "recipients": self.recipients,
            "template": self.template.as_dict(),
            "min_segments": self.min_segments,
            "median_segments": self.median_segments,
            "max_segments": self.max_segments,
            "total_segments": self.total_segments,
            "longer_share": round(self.longer_share, 4),
            "ucs2_share": round(self.ucs2_share, 4),
            "estimated_cost": str(self.estimated_cost),
            "currency": self.currency,
            "histogram": {str(k): v for k, v in sorted(self.histogram.items())},
            "sampled": self.sampled,
            "forcing": self.forcing,
        }


def audience_stats(
    bodies: list[str], *, template: Measure, price_per_segment: Decimal, currency: str = "USD"
) -> AudienceMeter:
    """Segments across the rendered bodies of a real audience, and what sending them costs."""
    measures = [measure(b) for b in bodies]
    segments = [m.segments for m in measures]
    if not segments:
        return AudienceMeter(0, template, currency=currency)
    total = sum(segments)
    return AudienceMeter(
        recipients=len(segments),
        template=template,
        min_segments=min(segments),
        median_segments=statistics.median(segments),
        max_segments=max(segments),
        total_segments=total,
        longer_share=sum(1 for s in segments if s > template.segments) / len(segments),
        ucs2_share=sum(1 for m in measures if m.encoding == "UCS-2") / len(measures),
        estimated_cost=cost(total, price_per_segment),
        currency=currency,
        histogram=dict(Counter(segments)),
    )


