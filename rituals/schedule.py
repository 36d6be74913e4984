"""Schedule phrases: what a team types ("every monday at 09:00") turned into APScheduler triggers.

A phrase is parsed into a :class:`Schedule`, whose ``spec`` is a canonical English phrase that
is stored in the database and parses back into an equal ``Schedule``. English and Dutch phrases
are understood; the canonical spec is always English and lower case.

Times are wall-clock times in the team's time zone, so a 09:00 ritual stays at 09:00 when the
clocks change. Two moments need a rule, and :class:`WallClockTrigger` applies it everywhere
(the scheduler and :meth:`Schedule.next_after` use the same trigger, so they never disagree):

* A local time that does not exist, because the clock jumps forward over it, fires as if the
  clock had not jumped: 02:30 on the night summer time starts in Europe/Amsterdam fires at
  03:30 summer time (01:30 UTC), on the same day. The ritual is not skipped.
* A local time that happens twice, because the clock goes back, fires once: at the first of
  the two moments (summer time).

Every N weeks is counted from an anchor date kept in the spec (``from 2026-11-27``), never from
ISO week numbers, whose parity breaks at the end of a year with 53 weeks.

The phrase's words are read by ``rituals.schedule_grammar``; the vocabulary, the messages and
``ScheduleError`` are in ``rituals.schedule_words``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from rituals.i18n import Translator
from rituals.schedule_cron import read_cron
from rituals.schedule_grammar import _Parser
from rituals.schedule_words import (
    _AND,
    _CRON,
    _CRON_CHECK_FROM,
    _CRON_DAYS,
    _CRON_ORDINALS,
    _DAY_NAMES,
    _DURATION_UNIT_MINUTES,
    _DURATION_UNITS,
    _DURATION_WORDS,
    _MAX_CANDIDATES,
    _MAX_DURATION_MINUTES,
    _ORDINAL_NAMES,
    _SPEC_DAYS,
    _SPEC_ORDINALS,
    ALL_DAYS,
    E_BAD_CRON,
    E_BAD_DURATION,
    E_CRON_BOTH_DAYS,
    E_CRON_NEVER,
    E_EMPTY,
    E_LONG_DURATION,
    E_MISSING_DURATION,
    E_SHORT_DURATION,
    E_UNKNOWN,
    EXAMPLE_CRON,
    EXAMPLE_OPEN,
    WORKDAYS,
    ScheduleError,
    ScheduleKind,
    _quote,
)

__all__ = [
    "Schedule",
    "ScheduleError",
    "ScheduleKind",
    "WallClockTrigger",
    "parse_duration",
    "parse_schedule",
]

# --- The schedule ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    """When a ritual happens, independent of any time zone (the team's zone is given later).

    Fields by kind:

    * weekly: ``weekdays`` (0 = Monday .. 6 = Sunday), ``hour``, ``minute``; when
      ``every_weeks`` > 1, ``anchor`` is the first date of the series (one of ``weekdays``)
      and the weeks are counted from the Monday of the anchor's week.
    * monthly: ``hour``, ``minute`` and either ``month_day`` (1..31, or -1 for the last day;
      months without that day are skipped) or ``nth`` (1..4, or -1 for last) with one weekday
      in ``weekdays``.
    * cron: ``cron``, the five crontab fields as crontab(5) reads them (``rituals.schedule_cron``;
      day of week 0 and 7 = Sunday).

    ``open_for`` is how long each occurrence stays open for answers, if the phrase said so.
    """

    spec: str
    kind: ScheduleKind
    open_for: timedelta | None = None
    hour: int = 0
    minute: int = 0
    weekdays: tuple[int, ...] = ()
    every_weeks: int = 1
    anchor: date | None = None
    nth: int | None = None
    month_day: int | None = None
    cron: str | None = None

    def trigger(self, tz: ZoneInfo) -> WallClockTrigger:
        """An APScheduler trigger firing at this schedule's wall-clock times in ``tz``."""
        if self.kind is ScheduleKind.CRON:
            assert self.cron is not None
            return _cron_trigger(self.cron, tz)
        if self.kind is ScheduleKind.MONTHLY:
            if self.nth is not None:
                day = f"{_CRON_ORDINALS[self.nth]} {_CRON_DAYS[self.weekdays[0]]}"
            else:
                day = "last" if self.month_day == -1 else str(self.month_day)
            return WallClockTrigger(tz, day=day, hour=self.hour, minute=self.minute, second=0)
        return WallClockTrigger(
            tz,
            every_weeks=self.every_weeks,
            anchor=self.anchor,
            day_of_week="*" if self.weekdays == ALL_DAYS else ",".join(_CRON_DAYS[d] for d in self.weekdays),
            hour=self.hour,
            minute=self.minute,
            second=0,
        )

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime | None:
        """The first fire time strictly after `after` (aware), returned as an aware UTC datetime."""
        if after.tzinfo is None or after.utcoffset() is None:
            raise ValueError("next_after needs an aware datetime")
        start = after.astimezone(UTC) + timedelta(microseconds=1)
        fire = self.trigger(tz).get_next_fire_time(None, start)
        return None if fire is None else fire.astimezone(UTC)

    def describe(self, _: Translator) -> str:
        """The schedule in words in the translator's language.

        E.g. 'every Monday at 09:00' / 'elke maandag om 09:00'.
        """
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.kind is ScheduleKind.CRON:
            text = _('cron "{expr}"', expr=self.cron)
        elif self.kind is ScheduleKind.MONTHLY:
            if self.nth is not None:
                text = _(
                    "every month on the {nth} {day} at {time}",
                    nth=_(_ORDINAL_NAMES[self.nth]),
                    day=_(_DAY_NAMES[self.weekdays[0]]),
                    time=at,
                )
            elif self.month_day == -1:
                text = _("every month on the last day at {time}", time=at)
            else:
                text = _("every month on day {day} at {time}", day=self.month_day, time=at)
        elif self.every_weeks == 2:
            text = _("every 2 weeks on {days} at {time}", days=_day_list(self.weekdays, _), time=at)
        elif self.every_weeks > 2:
            text = _(
                "every {n} weeks on {days} at {time}",
                n=self.every_weeks,
                days=_day_list(self.weekdays, _),
                time=at,
            )
        elif self.weekdays == ALL_DAYS:
            text = _("every day at {time}", time=at)
        elif self.weekdays == WORKDAYS:
            text = _("every weekday at {time}", time=at)
        else:
            text = _("every {days} at {time}", days=_day_list(self.weekdays, _), time=at)
        if self.open_for is not None:
            text = _(
                "{schedule}, open for {duration}",
                schedule=text,
                duration=_describe_duration(self.open_for, _),
            )
        return text


def _day_list(days: tuple[int, ...], _: Translator) -> str:
    names = [_(_DAY_NAMES[d]) for d in days]
    if len(names) == 1:
        return names[0]
    return _("{items} and {last}", items=", ".join(names[:-1]), last=names[-1])


def _describe_duration(duration: timedelta, _: Translator) -> str:
    n, _suffix, one, many = _duration_unit(duration)
    return _(one) if n == 1 else _(many, n=n)


def _duration_unit(duration: timedelta) -> tuple[int, str, str, str]:
    """The largest unit that measures ``duration`` exactly, as (count, suffix, msgids)."""
    minutes = int(duration.total_seconds()) // 60
    for size, suffix, one, many in _DURATION_UNITS:
        if minutes % size == 0:
            return minutes // size, suffix, one, many
    raise AssertionError("unreachable: every duration is a whole number of minutes")


# --- The trigger ----------------------------------------------------------------------------


class WallClockTrigger(BaseTrigger):
    """An APScheduler trigger for wall-clock times in a time zone, firing at most once per time.

    A CronTrigger with ``timezone=tz`` is not used directly: APScheduler 3.11 adds wall-clock
    differences as UTC durations when it moves to the next day, so across a DST change it can
    skip a whole day (a 00:30 ritual in New York after the spring change fired a day late), and
    it fires twice when the clock goes back over the ritual's time. Instead ``cron`` is a
    CronTrigger in UTC that reads the *wall clock* (no DST, so its arithmetic is exact), and
    each wall-clock candidate is turned into a real moment in ``timezone`` by the rule in the
    module docstring. The result is the earliest such moment at or after the start the
    scheduler asks for, never the same moment twice.

    With ``every_weeks`` > 1 only dates in every N-th week, counted from the Monday of
    ``anchor``'s week, are kept, and none before ``anchor``.
    """

    __slots__ = ("anchor", "cron", "every_weeks", "timezone")

    def __init__(
        self,
        timezone: tzinfo,
        *,
        every_weeks: int = 1,
        anchor: date | None = None,
        **fields: Any,
    ) -> None:
        self.timezone = timezone
        self.every_weeks = every_weeks
        self.anchor = anchor if every_weeks > 1 else None
        start = datetime.combine(self.anchor, time(), tzinfo=UTC) if self.anchor else None
        self.cron = CronTrigger(**fields, start_date=start, timezone=UTC)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # The earliest acceptable moment, as CronTrigger defines it: after the previous fire
        # time (catching up on missed ones), else from now.
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(UTC)
            start = min(now.astimezone(UTC), previous + _TICK)
            if start == previous:
                start += _TICK
        else:
            start = now.astimezone(UTC)
        fire = self._first_at_or_after(start)
        return None if fire is None else fire.astimezone(self.timezone)

    def _first_at_or_after(self, start: datetime) -> datetime | None:
        tz = self.timezone
        # Wall-clock times in a jump just before `start` resolve to after it: look back over it.
        jump = _offset(start, tz) - _offset(start - _LOOK, tz)
        wall = _wall(start, tz) - max(jump, timedelta(0))
        best: datetime | None = None
        stop: datetime | None = None
        candidate = self.cron.get_next_fire_time(None, wall)
        for _ in range(_MAX_CANDIDATES):
            if candidate is None or (stop is not None and candidate >= stop):
                break
            if self._in_cycle(candidate.date()):
                fire = _resolve(candidate, tz)
                if fire >= start and (best is None or fire < best):
                    best = fire
                    # A later wall-clock time can only resolve earlier across a forward jump.
                    reach = max(_offset(fire, tz), _offset(fire + _LOOK, tz))
                    stop = (fire + reach).replace(tzinfo=UTC)
            candidate = self.cron.get_next_fire_time(candidate, candidate)
        return best

    def _in_cycle(self, day: date) -> bool:
        if self.anchor is None:
            return True
        if day < self.anchor:
            return False
        weeks = (_monday(day) - _monday(self.anchor)).days // 7
        return weeks % self.every_weeks == 0

    def __getstate__(self) -> dict[str, Any]:
        return {
            "version": 1,
            "timezone": self.timezone,
            "cron": self.cron,
            "every_weeks": self.every_weeks,
            "anchor": self.anchor,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version", 1) > 1:
            raise ValueError(f"Cannot read WallClockTrigger state version {state['version']}")
        self.timezone = state["timezone"]
        self.cron = state["cron"]
        self.every_weeks = state["every_weeks"]
        self.anchor = state["anchor"]

    def __str__(self) -> str:
        text = f"wallclock[{str(self.cron)[5:-1]}, timezone='{self.timezone}'"
        if self.anchor is not None:
            text += f", every_weeks={self.every_weeks}, anchor='{self.anchor}'"
        return text + "]"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({str(self)[10:-1]})>"


_TICK = timedelta(microseconds=1)
_LOOK = timedelta(hours=25)  # longer than any DST jump; at most one jump in this window


def _offset(moment: datetime, tz: tzinfo) -> timedelta:
    return moment.astimezone(tz).utcoffset() or timedelta(0)


def _wall(moment: datetime, tz: tzinfo) -> datetime:
    """The wall clock in ``tz`` at ``moment``, labelled UTC (how ``WallClockTrigger.cron`` reads it)."""
    return moment.astimezone(tz).replace(tzinfo=UTC, fold=0)


def _resolve(wall: datetime, tz: tzinfo) -> datetime:
    """The real moment (UTC) of a wall-clock time in ``tz``: the first one if it repeats; shifted
    by the jump if the clock skips it (fold=0 is the offset in force before a change, PEP 495)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _cron_trigger(expr: str, tz: tzinfo) -> WallClockTrigger:
    """A trigger for a five-field crontab expression, read by ``rituals.schedule_cron``."""
    fields = read_cron(expr).trigger_fields()
    return WallClockTrigger(
        tz,
        minute=fields["minute"],
        hour=fields["hour"],
        day=fields["day"],
        month=fields["month"],
        day_of_week=fields["day_of_week"],
        second=0,
    )


# --- Canonical specs ------------------------------------------------------------------------


def _build(
    *,
    kind: ScheduleKind,
    open_for: timedelta | None,
    hour: int = 0,
    minute: int = 0,
    weekdays: tuple[int, ...] = (),
    every_weeks: int = 1,
    anchor: date | None = None,
    nth: int | None = None,
    month_day: int | None = None,
    cron: str | None = None,
) -> Schedule:
    """A Schedule with its canonical spec, the one phrase parse_schedule maps it back from."""
    at = f"{hour:02d}:{minute:02d}"
    if kind is ScheduleKind.CRON:
        spec = f'cron "{cron}"'
    elif kind is ScheduleKind.MONTHLY:
        if nth is not None:
            spec = f"every month on the {_SPEC_ORDINALS[nth]} {_SPEC_DAYS[weekdays[0]]} at {at}"
        elif month_day == -1:
            spec = f"every month on the last day at {at}"
        else:
            spec = f"every month on day {month_day} at {at}"
    elif every_weeks > 1:
        spec = f"every {every_weeks} weeks on {_spec_days(weekdays)} at {at} from {anchor}"
    elif weekdays == ALL_DAYS:
        spec = f"every day at {at}"
    elif weekdays == WORKDAYS:
        spec = f"every weekday at {at}"
    else:
        spec = f"every {_spec_days(weekdays)} at {at}"
    if open_for is not None:
        count, suffix, _one, _many = _duration_unit(open_for)
        spec += f" open {count}{suffix}"
    return Schedule(
        spec=spec,
        kind=kind,
        open_for=open_for,
        hour=hour,
        minute=minute,
        weekdays=weekdays,
        every_weeks=every_weeks,
        anchor=anchor,
        nth=nth,
        month_day=month_day,
        cron=cron,
    )


def _spec_days(days: tuple[int, ...]) -> str:
    names = [_SPEC_DAYS[d] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- Parsing --------------------------------------------------------------------------------


def parse_schedule(text: str, *, anchor: date | None = None) -> Schedule:
    """Parse an English or Dutch schedule phrase; raises ScheduleError for anything unusable.

    ``anchor`` is where an every-N-weeks series starts when the phrase has no ``from DATE``
    (default: today in UTC); the series starts on the first chosen weekday on or after it.
    """
    norm = " ".join(text.casefold().split())
    if not norm:
        raise ScheduleError(E_EMPTY)
    head, open_for = _split_open(norm)
    if not head:
        raise ScheduleError(E_UNKNOWN, text=_quote(norm))
    if _CRON.fullmatch(head):
        return _parse_cron(head, open_for)
    return _build(**_Parser(head, anchor=anchor, open_for=open_for).parse())


def _split_open(norm: str) -> tuple[str, timedelta | None]:
    """Split off a trailing ``open DURATION`` (``open for``/``open voor`` also read)."""
    tokens = norm.split(" ")
    if "open" not in tokens:
        return norm.rstrip(", "), None
    at = len(tokens) - 1 - tokens[::-1].index("open")
    rest = tokens[at + 1 :]
    if rest and rest[0] in {"for", "voor", "gedurende"}:
        rest = rest[1:]
    if not rest:
        raise ScheduleError(E_MISSING_DURATION, example=EXAMPLE_OPEN)
    return " ".join(tokens[:at]).rstrip(", "), parse_duration(" ".join(rest))


def _parse_cron(head: str, open_for: timedelta | None) -> Schedule:
    match = _CRON.fullmatch(head)
    assert match is not None
    expr = match.group(2) if match.group(2) is not None else match.group(4)
    expr = " ".join(expr.split())
    shown = _quote(expr or head)
    fields = expr.split(" ")
    if len(fields) != 5:
        raise ScheduleError(E_BAD_CRON, expr=shown, example=EXAMPLE_CRON)
    cron = read_cron(expr)  # raises ScheduleError naming the field that is wrong
    # crontab fires when either day field matches (unless one starts with *), APScheduler
    # only when both do: refuse the combination rather than silently change its meaning.
    if not cron.days_star and not cron.weekdays_star:
        raise ScheduleError(E_CRON_BOTH_DAYS, example=EXAMPLE_CRON)
    trigger = _cron_trigger(expr, UTC)
    try:
        first = trigger.get_next_fire_time(None, _CRON_CHECK_FROM)
    except Exception as exc:
        raise ScheduleError(E_BAD_CRON, expr=shown, example=EXAMPLE_CRON) from exc
    if first is None:
        raise ScheduleError(E_CRON_NEVER, expr=shown, example=EXAMPLE_CRON)
    return _build(kind=ScheduleKind.CRON, open_for=open_for, cron=expr)


def parse_duration(text: str) -> timedelta:
    """Parse '2d', '4h', '30m', '1w', '2 dagen', '4 uur', '3 days', '1d 12h'; whole minutes,
    from one minute up to 365 days. Raises ScheduleError."""
    norm = " ".join(text.casefold().split())
    if not norm:
        raise ScheduleError(E_MISSING_DURATION, example=EXAMPLE_OPEN)
    tokens = re.findall(r"[0-9]+|[a-z]+(?:\.(?=\s|$))?|[^\sa-z0-9]", norm)
    minutes = 0
    i = 0
    seen = False
    while i < len(tokens):
        token = tokens[i]
        if seen and token in _AND | {","}:
            i += 1
            continue
        if token.isascii() and token.isdigit() and len(token) <= 6:
            count = int(token)
        elif token in _DURATION_WORDS:
            count = _DURATION_WORDS[token]
        else:
            raise ScheduleError(E_BAD_DURATION, text=_quote(norm), example=EXAMPLE_OPEN)
        unit = tokens[i + 1].rstrip(".") if i + 1 < len(tokens) else ""
        if unit not in _DURATION_UNIT_MINUTES:
            raise ScheduleError(E_BAD_DURATION, text=_quote(norm), example=EXAMPLE_OPEN)
        minutes += count * _DURATION_UNIT_MINUTES[unit]
        if minutes > _MAX_DURATION_MINUTES:
            raise ScheduleError(E_LONG_DURATION, example=EXAMPLE_OPEN)
        seen = True
        i += 2
    if minutes < 1:
        raise ScheduleError(E_SHORT_DURATION, example=EXAMPLE_OPEN)
    return timedelta(minutes=minutes)
