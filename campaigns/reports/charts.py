"""Small server-rendered SVG charts: no JavaScript, no CDN, readable as text in tests.

A series is named by its catalogue figure: the legend shows the figure's label and its total over
the days (the same as the table's total row) and, on hover, its definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from customers.money import money

WIDTH, HEIGHT, PAD = 560, 180, 32
COLOURS = ("#417690", "#e08a00", "#3a9d5d", "#b04a4a")


@dataclass(frozen=True)
class Series:
    label: str
    values: list[float]
    definition: str = ""


def _nice(top: float) -> float:
    if top <= 0:
        return 1
    step = 10 ** (len(str(int(top))) - 1)
    return (int(top / step) + 1) * step


def _amount(value: float, currency: str | None) -> str:
    return money(value, currency=currency, whole=True) if currency else f"{value:,.0f}"


def line_chart(
    title: str, days: list[date], series: list[Series], *, currency: str | None = None
) -> SafeString:
    """One line per series over the days; the y axis from 0 to a round top. With `currency` the
    values are money, shown in it."""
    top = _nice(max((float(v) for s in series for v in s.values), default=0))
    span = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / span

    def y(v: float) -> float:
        return HEIGHT - PAD - float(v) * (HEIGHT - 2 * PAD) / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{PAD}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{PAD}" y1="{y(0)}" x2="{WIDTH - PAD}" y2="{y(0)}" stroke="#999"/>',
        f'<text x="2" y="{y(top) + 4}" font-size="10">{escape(_amount(top, currency))}</text>',
        f'<text x="2" y="{y(0) + 4}" font-size="10">{escape(_amount(0, currency))}</text>',
    ]
    if days:
        parts.append(f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="10">{days[0]:%b %d}</text>')
        parts.append(
            f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="10" text-anchor="end">'
            f"{days[-1]:%b %d}</text>"
        )
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(
            f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" points="{points}">'
            f"<title>{escape(s.label)}</title></polyline>"
        )
        summed = sum(s.values)
        total = money(summed, currency=currency) if currency else f"{summed:,.0f}"
        parts.append(
            f'<text class="legend" x="{WIDTH - PAD - 150 * (len(series) - n)}" y="16" font-size="11" '
            f'fill="{colour}">■ {escape(s.label)} ({escape(total)})'
            f"<title>{escape(s.definition)}</title></text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def bar_chart(title: str, bars: list[tuple[str, float]], *, note: str = "") -> SafeString:
    """Horizontal bars, e.g. the list's Hot / Warm / Cold sizes."""
    top = max((v for _, v in bars), default=0) or 1
    row = 24
    height = 28 + row * len(bars)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(note or title)}</title>',
        f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (name, value) in enumerate(bars):
        top_y = 24 + n * row
        length = (WIDTH - 300) * value / top
        parts.append(f'<text x="0" y="{top_y + 14}" font-size="11">{escape(name)}</text>')
        parts.append(
            f'<rect class="bar" x="200" y="{top_y + 2}" width="{length:.1f}" height="16" '
            f'fill="{COLOURS[n % len(COLOURS)]}"/>'
        )
        parts.append(f'<text x="{206 + length:.1f}" y="{top_y + 14}" font-size="11">{value:,.0f}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
