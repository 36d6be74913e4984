"""Charts of the review page as inline SVG (no script: the page's strict Content-Security-
Policy holds), styled by classes of the same-origin stylesheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.html import esc
from rituals.i18n import N_, Translator

SHORT_MONTHS = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Axis:
    """A time axis from ``start`` to ``end`` mapped onto ``left``..``right`` pixels."""

    start: date
    end: date
    left: float
    right: float

    def x(self, day: date) -> float:
        span = max((self.end - self.start).days, 1)
        return self.left + (day - self.start).days / span * (self.right - self.left)


def month_ticks(start: date, end: date, every: int = 1) -> list[date]:
    ticks, day = [], date(start.year, start.month, 1)
    while day <= end:
        if day >= start and (day.month - 1) % every == 0:
            ticks.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return ticks


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[date, float]]]],
    *,
    start: date,
    end: date,
    label: str,
    _: Translator,
    width: int = 480,
    height: int = 200,
    lo: float = 1,
    hi: float = 5,
    month_every: int = 1,
    css: str = "",
) -> str:
    """A line chart of scores over time; ``series`` are (css class, points by day).

    ``css`` "wide" or "narrow" marks one of two renderings of the same chart: the stylesheet
    shows the one that fits the screen, so the text keeps its size on a phone.
    """
    top, bottom, left, right = 12, height - 24, 28, width - 10
    axis = Axis(start=start, end=end, left=left, right=right)

    def y(v: float) -> float:
        return top + (hi - v) / (hi - lo) * (bottom - top)

    parts = [
        (
            f'<svg class="chart line {css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
            f' role="img" aria-label="{esc(label)}">'
        ),
        f"<title>{esc(label)}</title>",
        '<g class="grid">',
    ]
    for level in range(int(lo), int(hi) + 1):
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y(level):.1f}" y2="{y(level):.1f}"/>')
        parts.append(f'<text class="ylabel" x="{left - 8}" y="{y(level) + 4:.1f}" text-anchor="end">{level}</text>')
    parts.append('</g><g class="ticks">')
    for tick in month_ticks(start, end, month_every):
        x = axis.x(tick)
        name = str(tick.year) if tick.month == 1 else _(SHORT_MONTHS[tick.month - 1])
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{esc(name)}</text>')
    parts.append("</g>")
    for css, points in series:
        if not points:
            continue
        coords = [(axis.x(d), y(v)) for d, v in sorted(points)]
        path = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in coords)
        parts.append(f'<path class="series {css}" d="{path}" fill="none"/>')
        for (d, v), (px, py) in zip(sorted(points), coords, strict=True):
            parts.append(
                f'<circle class="dot {css}" cx="{px:.1f}" cy="{py:.1f}" r="3">'
                f"<title>{d.isoformat()}: {_.decimal(v)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(rows: Sequence[tuple[str, float, str]], *, label: str, css: str, scale: float | None = None) -> str:
    """Horizontal bars: each row an HTML label and value (readable at any width) over an SVG bar.

    Rows are (label, value, value as text); bars are drawn relative to ``scale`` (default: the
    largest value). The SVG stretches to the row's width, so the bar needs no inline style.
    """
    most = scale if scale is not None else max([v for _l, v, _t in rows] + [1e-9])
    parts = [f'<div class="barchart" role="img" aria-label="{esc(label)}">']
    for name, value, text in rows:
        length = max(0.0, min(1.0, value / most)) * 100
        parts.append(
            f'<div class="barrow"><span class="barlabel">{esc(name)}</span><span class="barvalue">{esc(text)}</span>'
            f'<svg class="chart bar-svg" viewBox="0 0 100 10" preserveAspectRatio="none" width="100%" height="14"'
            f' aria-hidden="true">'
            f'<rect class="track" x="0" y="0" width="100" height="10"/>'
            f'<rect class="bar {css}" x="0" y="0" width="{length:.2f}" height="10"/></svg></div>'
        )
    parts.append("</div>")
    return "".join(parts)
