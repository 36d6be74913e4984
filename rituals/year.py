"""The school year as a team plans it: periods with a theme and a learning goal, the focus a
reflection keeps, and the moments of the year (kickoff, a period's end, the middle of the year,
the end of the year).

What: pure functions of the team's settings (``plan``, ``focus``, ``core_values``) and a day.
Why: the reflection, the goal look-back and the meeting check-out must agree on which period a
day belongs to and which moment it is, so it is decided once, here.

A school year is a run of plan periods without a gap of more than four weeks between them (the
summer holiday separates two years; a Christmas or spring break does not). Its first period's
first round is the kickoff; the last round of its last period is the end-of-year reflection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.library import find_value

YEAR_GAP = timedelta(days=28)  # a longer gap between two periods starts a new school year
DEFAULT_FOCUS_WEEKS = 6  # without a plan or a set focus, a reflection keeps its theme this long
MAX_FOCUS_WEEKS = 20
START_WINDOW = timedelta(days=14)  # a kickoff or mid-year round comes in its period's first two weeks
LATE_WINDOW = timedelta(days=14)  # a period's look-back missed at its end is asked this long after


@dataclass(frozen=True, kw_only=True, slots=True)
class Period:
    """A period of the year plan: its days, its theme's key and its learning goal (may be empty)."""

    start: date
    end: date
    theme: str
    goal: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class CoreValue:
    """One of the team's 3-5 core values and what the team means by it ("what does it look like
    here?"); ``key`` is a library value's key, else empty and ``name`` is the team's own word."""

    key: str
    name: str
    meaning: str = ""

    def label(self, _: Translator) -> str:
        value = find_value(self.key) if self.key else None
        return _(value.name) if value else self.name


def periods(settings: dict[str, Any]) -> list[Period]:
    """The plan's periods in order; entries that do not read as one are left out."""
    out = []
    for entry in settings.get("plan") or []:
        try:
            out.append(
                Period(
                    start=date.fromisoformat(str(entry["start"])),
                    end=date.fromisoformat(str(entry["end"])),
                    theme=str(entry.get("theme", "")),
                    goal=str(entry.get("goal") or ""),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return sorted(out, key=lambda p: p.start)


def period_of(settings: dict[str, Any], day: date) -> Period | None:
    """The plan period ``day`` falls in, if any."""
    return next((p for p in periods(settings) if p.start <= day <= p.end), None)


def school_year(settings: dict[str, Any], day: date) -> list[Period]:
    """The periods of the school year ``day``'s period belongs to; empty outside the plan."""
    years: list[list[Period]] = []
    for p in periods(settings):
        if years and p.start - years[-1][-1].end <= YEAR_GAP:
            years[-1].append(p)
        else:
            years.append([p])
    return next((year for year in years if any(p.start <= day <= p.end for p in year)), [])


def core_values(settings: dict[str, Any]) -> list[CoreValue]:
    """The team's core values, as ``values core`` stored them."""
    out = []
    for entry in settings.get("core_values") or []:
        if isinstance(entry, dict) and (entry.get("key") or entry.get("name")):
            out.append(
                CoreValue(
                    key=str(entry.get("key") or ""),
                    name=str(entry.get("name") or ""),
                    meaning=str(entry.get("meaning") or ""),
                )
            )
    return out


def focus_weeks(settings: dict[str, Any]) -> int:
    """How many weeks a reflection stays on one theme outside the plan (``theme ... for N weeks``)."""
    focus = settings.get("focus")
    weeks = focus.get("weeks") if isinstance(focus, dict) else None
    return weeks if isinstance(weeks, int) and 1 <= weeks <= MAX_FOCUS_WEEKS else DEFAULT_FOCUS_WEEKS


def set_focus(settings: dict[str, Any], themes: list[str], day: date) -> tuple[str, date] | None:
    """The theme of the focus block ``day`` falls in and the block's first day, when the team
    set ``theme ... for N weeks``: blocks of N weeks from the day it was set, through the
    team's themes in turn."""
    focus = settings.get("focus")
    if not isinstance(focus, dict) or not themes:
        return None
    try:
        since = date.fromisoformat(str(focus["since"]))
    except (KeyError, ValueError):
        return None
    length = 7 * focus_weeks(settings)
    block = max((day - since).days, 0) // length
    return themes[block % len(themes)], since + timedelta(days=block * length)


def moment(period: Period, year: list[Period], day: date, following: date | None, first_here: bool) -> str:
    """Which moment of the year a round on ``day`` is: ``kickoff`` (the first round of the
    year's first period, in its first two weeks), ``end_of_year`` (the last round of its last
    period), ``period_end`` (the last round of another period), ``midyear`` (the first round of
    the period holding the middle of the year, when that is not the first) or ``""``.
    ``following`` is the day of the ritual's next planned round (None: not known, so not the
    last); ``first_here``: no earlier round of this ritual fell in the period."""
    early = first_here and day - period.start <= START_WINDOW
    if year and period == year[0] and early:
        return "kickoff"
    if following is not None and following > period.end:
        return "end_of_year" if year and period == year[-1] else "period_end"
    if year and early and period != year[0]:
        middle = year[0].start + (year[-1].end - year[0].start) / 2
        if period == next((p for p in year if p.end >= middle), year[-1]):
            return "midyear"
    return ""


def missed_end(settings: dict[str, Any], day: date, had_rounds: set[str], asked: set[str]) -> Period | None:
    """The period that ended in the two weeks before ``day`` without its look-back, although the
    ritual had rounds in it (``had_rounds``, ``asked``: period starts, ISO): its last round fell
    on a holiday nobody could see coming, so the look-back comes now."""
    late = [
        p for p in periods(settings) if p.end < day <= p.end + LATE_WINDOW and p.start.isoformat() in had_rounds - asked
    ]
    return late[-1] if late else None
