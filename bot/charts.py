"""Charts of the review page as inline SVG (no script: the page's strict Content-Security-
Policy holds), styled by classes of the same-origin stylesheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.html import esc
from rituals.i18n import Translator

BAND_FROM = 4  # rounds from which a trend shows a band for the spread: fewer say little about it
FEW_ROUNDS = 2  # up to this many rounds a chart shows how the answers fell, not a line
TICK_ROOM = 46  # pixels a month label needs, so labels never run into each other


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


@dataclass(frozen=True, kw_only=True, slots=True)
class Point:
    """One round (or week) on a trend: its day, mean and the spread of its answers (sd)."""

    day: date
    mean: float
    sd: float = 0.0
    n: int = 0


def fitted_span(days: Sequence[date], *, least: int = 14) -> tuple[date, date]:
    """The axis' span around the data: from a little before the first day to a little after
    the last, at least ``least`` days wide, so the points fill the chart whatever the period."""
    first, last = min(days), max(days)
    span = (last - first).days
    if span < least:
        pad = (least - span + 1) // 2
        return first - timedelta(days=pad), last + timedelta(days=pad)
    pad = max(1, span // 20)
    return first - timedelta(days=pad), last + timedelta(days=pad)


def month_ticks(start: date, end: date, every: int = 1) -> list[date]:
    ticks, day = [], date(start.year, start.month, 1)
    while day <= end:
        if day >= start and (day.month - 1) % every == 0:
            ticks.append(day)
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return ticks


def ticks(start: date, end: date, room: float, _: Translator) -> list[tuple[date, str]]:
    """Ticks and their labels for the span, as many as ``room`` pixels hold: weeks (their
    Monday, "7 dec") for a short span, else months every 1, 2, 3 or 6 ("mrt"; January as its
    year)."""
    most = max(2, int(room // TICK_ROOM))
    if (end - start).days <= 70:
        first = start + timedelta(days=(7 - start.weekday()) % 7)
        mondays = [first + timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]
        step = 1 + (len(mondays) - 1) // most
        return [(d, _.day(d, weekday=False)) for d in mondays[::step]]
    for every in (1, 2, 3, 6, 12):
        months = month_ticks(start, end, every)
        if len(months) <= most:
            break
    return [(d, str(d.year) if d.month == 1 else _.month(d)) for d in months]


def line_chart(
    series: Sequence[tuple[str, Sequence[Point]]],
    *,
    label: str,
    _: Translator,
    width: int = 480,
    height: int = 200,
    lo: float = 1,
    hi: float = 5,
    css: str = "",
) -> str:
    """A trend of scores over the span of its points; ``series`` are (css class, points).

    From ``BAND_FROM`` points a band shows the spread of the answers (mean ± one standard
    deviation) around the line. ``css`` "wide" or "narrow" marks one of two renderings of the
    same chart: the stylesheet shows the one that fits the screen, so the text keeps its size
    on a phone.
    """
    top, bottom, left, right = 12, height - 24, 28, width - 14
    start, end = fitted_span([p.day for _c, points in series for p in points])
    axis = Axis(start=start, end=end, left=left, right=right)

    def y(v: float) -> float:
        return top + (hi - max(lo, min(hi, v))) / (hi - lo) * (bottom - top)

    parts = [
        (
            f'<svg class="chart line {css}" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
            f' role="img" aria-label="{esc(label)}" data-start="{start.isoformat()}" data-end="{end.isoformat()}">'
        ),
        f"<title>{esc(label)}</title>",
        '<g class="grid">',
    ]
    for level in range(int(lo), int(hi) + 1):
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y(level):.1f}" y2="{y(level):.1f}"/>')
        parts.append(f'<text class="ylabel" x="{left - 8}" y="{y(level) + 4:.1f}" text-anchor="end">{level}</text>')
    parts.append('</g><g class="ticks">')
    for tick, name in ticks(start, end, right - left, _):
        x = axis.x(tick)
        # a label at an edge is anchored inside the chart: the last month is never cut off
        anchor = "end" if x > right - TICK_ROOM / 2 else "start" if x < left + TICK_ROOM / 2 else "middle"
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}">{esc(name)}</text>')
    parts.append("</g>")
    for css_class, points in series:
        if not points:
            continue
        ordered = sorted(points, key=lambda p: p.day)
        if len(ordered) >= BAND_FROM:
            upper = [f"{axis.x(p.day):.1f},{y(p.mean + p.sd):.1f}" for p in ordered]
            lower = [f"{axis.x(p.day):.1f},{y(p.mean - p.sd):.1f}" for p in reversed(ordered)]
            parts.append(f'<path class="band {css_class}" d="M{" L".join(upper + lower)} Z"/>')
        coords = [(axis.x(p.day), y(p.mean)) for p in ordered]
        path = "M" + " L".join(f"{px:.1f},{py:.1f}" for px, py in coords)
        parts.append(f'<path class="series {css_class}" d="{path}" fill="none"/>')
        for p, (px, py) in zip(ordered, coords, strict=True):
            parts.append(
                f'<circle class="dot {css_class}" cx="{px:.1f}" cy="{py:.1f}" r="3">'
                f"<title>{esc(_.day(p.day, year=True))}: {_.decimal(p.mean)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def distribution_chart(
    rows: Sequence[tuple[str, Sequence[int]]], *, label: str, _: Translator, low: str, high: str
) -> str:
    """How the answers fell, one stacked bar per round: how many gave 1, 2 .. 5, so a round or
    two says more than a dot. Rows are (the round as text, counts of the scores 1..5); under
    each part of a bar the number of answers in it, and a legend that names the scale's ends.

    The SVG has no viewBox: its parts are placed in percentages of its width, so the bar
    stretches with the card while the numbers keep their size.
    """
    parts = [f'<div class="distribution" role="img" aria-label="{esc(label)}">']
    for name, counts in rows:
        total = sum(counts) or 1
        answers = _.ngettext("{n} answer", "{n} answers", sum(counts))
        said = ", ".join(f"{score}: {c}" for score, c in enumerate(counts, start=1))
        parts.append(
            f'<div class="distrow"><span class="distlabel">{esc(name)} · {esc(answers)}</span>'
            f'<svg class="chart dist-svg" width="100%" height="36" aria-label="{esc(said)}">'
        )
        x = 0.0
        for score, count in enumerate(counts, start=1):
            if not count:
                continue
            share = count / total * 100
            parts.append(
                f'<rect class="seg s{score}" x="{x:.2f}%" y="0" width="{share:.2f}%" height="18">'
                f"<title>{score}: {count}</title></rect>"
            )
            if share >= 6:  # a sliver's number would run into its neighbour's: its title has it
                parts.append(f'<text class="count" x="{x + share / 2:.2f}%" y="33" text-anchor="middle">{count}</text>')
            x += share
        parts.append("</svg></div>")
    legend = "".join(f'<span class="key"><span class="swatch s{score}"></span>{score}</span>' for score in range(1, 6))
    parts.append(f'<p class="legend"><span>{esc(low)}</span>{legend}<span>{esc(high)}</span></p></div>')
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
