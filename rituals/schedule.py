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
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from rituals.i18n import N_, Translator

__all__ = [
    "Schedule",
    "ScheduleError",
    "ScheduleKind",
    "WallClockTrigger",
    "parse_duration",
    "parse_schedule",
]

# --- Messages -------------------------------------------------------------------------------
# Error messages (English msgids; the catalogs in rituals/locale translate them).

E_EMPTY = N_("The schedule is empty.")
E_UNKNOWN = N_("Schedule not understood: {text}")
E_UNKNOWN_DAY = N_("Unknown day: {day}")
E_MISSING_DAY = N_("The schedule needs a day of the week.")
E_BAD_TIME = N_("{time} is not a valid time of day.")
E_MISSING_TIME = N_("The schedule needs a time of day.")
E_BAD_DATE = N_("{date} is not a valid date.")
E_BAD_MONTH_DAY = N_("A month has no day {day}.")
E_BAD_WEEKS = N_("The number of weeks must be between 1 and 52.")
E_BAD_CRON = N_("Invalid cron expression: {expr}")
E_CRON_NEVER = N_("This cron expression never fires: {expr}")
E_CRON_BOTH_DAYS = N_("In cron, give a day of the month or a day of the week, not both.")
E_MISSING_DURATION = N_("After open, give a duration such as 2d.")
E_BAD_DURATION = N_("Unknown duration: {text}")
E_SHORT_DURATION = N_("A duration must be at least one minute.")
E_LONG_DURATION = N_("A duration can be at most 365 days.")

# Examples shown with an error: phrases that parse.
EXAMPLE_WEEKLY = "every monday at 09:00"
EXAMPLE_BIWEEKLY = "every 2 weeks on friday at 15:00"
EXAMPLE_MONTHLY = "every month on the first tuesday at 09:00"
EXAMPLE_CRON = 'cron "0 9 * * 1"'
EXAMPLE_OPEN = "every monday at 09:00 open 2d"

# Words in descriptions.
_DAY_NAMES = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
_ORDINAL_NAMES = {
    1: N_("first"),
    2: N_("second"),
    3: N_("third"),
    4: N_("fourth"),
    -1: N_("last"),
}
_DURATION_UNITS = (
    # (minutes per unit, spec suffix, singular msgid, plural msgid)
    (7 * 24 * 60, "w", N_("1 week"), N_("{n} weeks")),
    (24 * 60, "d", N_("1 day"), N_("{n} days")),
    (60, "h", N_("1 hour"), N_("{n} hours")),
    (1, "m", N_("1 minute"), N_("{n} minutes")),
)

# --- Vocabulary -----------------------------------------------------------------------------

_SPEC_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler: 0 = Monday
_SPEC_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
_CRON_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}

_WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("monday", "mon", "maandag", "ma"),
        ("tuesday", "tue", "tues", "dinsdag", "di"),
        ("wednesday", "wed", "woensdag", "wo"),
        ("thursday", "thu", "thur", "thurs", "donderdag", "do"),
        ("friday", "fri", "vrijdag", "vr"),
        ("saturday", "sat", "zaterdag", "za"),
        ("sunday", "sun", "zondag", "zo"),
    )
):
    for _name in _names:
        _WEEKDAYS[_name] = _index

ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)
WORKDAYS = (0, 1, 2, 3, 4)
_DAY_GROUPS = {
    "day": ALL_DAYS,
    "dag": ALL_DAYS,
    "weekday": WORKDAYS,
    "werkdag": WORKDAYS,
    "workday": WORKDAYS,
    "weekend": (5, 6),
    "weekenddag": (5, 6),
}

_EVERY = {"every", "each", "elke", "elk", "iedere", "ieder"}
_AND = {"and", "en", "&", "+"}
_ON = {"on", "op"}
_THE = {"the", "de"}
_AT = {"at", "om", "@"}
_FROM = {"from", "vanaf", "starting", "beginning"}
_OF = {"of", "van"}
_MONTH = {"month", "maand"}
_WEEK = {"week", "weeks", "weken"}
_NUMBER_WORDS = {
    "one": 1, "een": 1, "two": 2, "twee": 2, "three": 3, "drie": 3,
    "four": 4, "vier": 4, "five": 5, "vijf": 5, "six": 6, "zes": 6,
}  # fmt: skip
_OTHER = {"other", "second", "2nd", "andere", "tweede", "2e", "2de"}  # "every other week"
_NTH: dict[str, int] = {}
for _value, _names in (
    (1, ("first", "1st", "eerste", "1e", "1ste")),
    (2, ("second", "2nd", "tweede", "2e", "2de")),
    (3, ("third", "3rd", "derde", "3e", "3de")),
    (4, ("fourth", "4th", "vierde", "4e", "4de")),
    (-1, ("last", "laatste")),
):
    for _name in _names:
        _NTH[_name] = _value

_TIME = re.compile(r"([0-9]{1,4})(?:[:.hu]([0-9]{1,4}))?(am|pm|u|h)?")
_TIME_SUFFIX = {"uur", "u", "h", "am", "pm", "a.m.", "p.m."}
_MONTH_DAY = re.compile(r"([0-9]{1,4})(?:st|nd|rd|th|e|de|ste)?")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DUTCH_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
_CRON = re.compile(r"cron(?:\s*([\"'“”‘’„`])(.*?)([\"'“”‘’„`])|\s*(.*))")

_DURATION_WORDS = {**_NUMBER_WORDS, "a": 1, "an": 1, "seven": 7, "zeven": 7}
_DURATION_UNIT_MINUTES: dict[str, int] = {}
for _minutes, _names in (
    (7 * 24 * 60, ("w", "wk", "wks", "week", "weeks", "weken")),
    (24 * 60, ("d", "day", "days", "dag", "dagen")),
    (60, ("h", "hr", "hrs", "hour", "hours", "u", "uur", "uren")),
    (1, ("m", "min", "mins", "minute", "minutes", "minuut", "minuten")),
):
    for _name in _names:
        _DURATION_UNIT_MINUTES[_name] = _minutes
_MAX_DURATION_MINUTES = 365 * 24 * 60

del _index, _names, _name, _value, _minutes

_MAX_WEEKS = 52
_FIRST_DATE = date(1970, 1, 1)
_LAST_DATE = date(9000, 12, 31)
_CRON_CHECK_FROM = datetime(2000, 1, 1, tzinfo=UTC)
_MAX_CANDIDATES = 100_000


# --- Errors ---------------------------------------------------------------------------------


class ScheduleError(ValueError):
    """A schedule phrase or duration that cannot be used, explained for the person who typed it.

    ``msgid`` is an English message marked with ``N_``; translate it with
    ``_(error.msgid, **error.params)``. ``example`` is an English phrase that does parse, to
    show next to the message. ``str(error)`` is the English message.
    """

    msgid: str
    params: dict[str, object]
    example: str

    def __init__(self, msgid: str, /, *, example: str = EXAMPLE_WEEKLY, **params: object) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params
        self.example = example


def _quote(text: str, limit: int = 40) -> str:
    """User text as it goes into an error message: short enough to show."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The schedule ---------------------------------------------------------------------------


class ScheduleKind(enum.StrEnum):
    WEEKLY = "weekly"  # on some weekdays, every week or every N weeks
    MONTHLY = "monthly"  # on a day of the month, or the first..fourth/last weekday
    CRON = "cron"  # a five-field crontab expression


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
    * cron: ``cron``, the five crontab fields (day of week 0 and 7 = Sunday, as in crontab).

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
    """A trigger for a five-field crontab expression, with crontab's day-of-week numbers."""
    minute, hour, day, month, day_of_week = expr.split(" ")
    return WallClockTrigger(
        tz,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_crontab_weekdays(day_of_week),
        second=0,
    )


def _crontab_weekdays(field: str) -> str:
    """Translate a crontab day-of-week field (0 or 7 = Sunday) into APScheduler's (0 = Monday).

    Expanded to names, so ranges and steps keep crontab's meaning ("*/2" is Sun, Tue, Thu,
    Sat in crontab but would be Mon, Wed, Fri, Sun in APScheduler 3). Raises ValueError.
    """
    if field == "*":
        return "*"
    names = {name: i for i, name in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}

    def value(token: str, *, end: bool) -> int:
        if token in names:
            return 7 if end and token == "sun" else names[token]
        if token.isascii() and token.isdigit() and len(token) <= 2 and int(token) <= 7:
            return int(token)
        raise ValueError(token)

    days: set[int] = set()
    for item in field.split(","):
        base, _slash, step_text = item.partition("/")
        step = 1
        if _slash:
            if not (step_text.isascii() and step_text.isdigit() and 0 < len(step_text) <= 2):
                raise ValueError(item)
            step = int(step_text)
            if step == 0:
                raise ValueError(item)
        if base == "*":
            first, last = 0, 7
        elif "-" in base:
            low, _dash, high = base.partition("-")
            first, last = value(low, end=False), value(high, end=True)
            if first > last:
                raise ValueError(item)
        else:
            first = value(base, end=False)
            last = 7 if _slash else first
        days.update(d % 7 for d in range(first, last + 1, step))
    # crontab Sunday = 0 -> APScheduler index 6; Monday = 1 -> 0.
    return ",".join(_CRON_DAYS[(d - 1) % 7] for d in sorted(days, key=lambda d: (d - 1) % 7))


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
    return _Parser(head, anchor=anchor, open_for=open_for).parse()


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
    try:
        # APScheduler's field parsers raise several exception types for bad input.
        trigger = _cron_trigger(expr, UTC)
    except Exception as exc:
        raise ScheduleError(E_BAD_CRON, expr=shown, example=EXAMPLE_CRON) from exc
    # crontab fires when either day field matches, APScheduler only when both do: refuse the
    # combination rather than silently change its meaning.
    if not fields[2].startswith("*") and not fields[4].startswith("*"):
        raise ScheduleError(E_CRON_BOTH_DAYS, example=EXAMPLE_CRON)
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


class _Parser:
    """A cursor over the words of one (non-cron) phrase, read left to right."""

    def __init__(self, head: str, *, anchor: date | None, open_for: timedelta | None) -> None:
        self.text = head
        self.tokens = head.replace(",", " ").split()
        self.i = 0
        self.anchor = anchor
        self.open_for = open_for
        self.example = EXAMPLE_WEEKLY

    # Cursor helpers.

    def peek(self, ahead: int = 0) -> str | None:
        at = self.i + ahead
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self, words: set[str] | dict[str, int]) -> str | None:
        token = self.peek()
        if token is not None and token in words:
            self.i += 1
            return token
        return None

    def error(self, msgid: str, **params: object) -> ScheduleError:
        return ScheduleError(msgid, example=self.example, **params)

    def unknown(self) -> ScheduleError:
        return self.error(E_UNKNOWN, text=_quote(self.text))

    # The grammar.

    def parse(self) -> Schedule:
        if self.take(_EVERY):
            weeks = self.interval()
            if weeks is not None:
                return self.weekly(weeks)
            if self.take(_MONTH):
                return self.monthly(of_month=False)
            if self.starts_monthly():
                return self.monthly(of_month=True)
            return self.weekly(1, on=False)
        if self.peek() == "om" and self.peek(1) == "de":
            self.i += 2
            weeks = self.dutch_interval()
            if weeks is not None:
                return self.weekly(weeks)
        raise self.unknown()

    def interval(self) -> int | None:
        """'2 weeks', 'two weeks', 'other week', 'week' after 'every'; None if not there."""
        token, after = self.peek(), self.peek(1)
        if token in _WEEK:
            self.i += 1
            return 1
        if token == "fortnight":
            self.i += 1
            return 2
        if after in _WEEK and token is not None:
            if token in _OTHER:
                self.i += 2
                return 2
            return self.week_count(token)
        return None

    def dutch_interval(self) -> int | None:
        """'om de week' is every other week; 'om de 3 weken' every three."""
        token, after = self.peek(), self.peek(1)
        if token == "week":
            self.i += 1
            return 2
        if token in _OTHER and after == "week":
            self.i += 2
            return 2
        if after in _WEEK and token is not None:
            return self.week_count(token)
        return None

    def week_count(self, token: str) -> int | None:
        if token in _NUMBER_WORDS:
            weeks = _NUMBER_WORDS[token]
        elif token.isascii() and token.isdigit():
            weeks = int(token) if len(token) <= 3 else 0
        else:
            return None
        self.example = EXAMPLE_BIWEEKLY
        if not 1 <= weeks <= _MAX_WEEKS:
            raise self.error(E_BAD_WEEKS)
        self.i += 2
        return weeks

    def starts_monthly(self) -> bool:
        """'every first tuesday of the month', 'elke 15e van de maand'."""
        token, after = self.peek(), self.peek(1)
        if token is None:
            return False
        if token in _NTH and (after in _WEEKDAYS or after in {"day", "dag"}):
            return True
        return bool(_MONTH_DAY.fullmatch(token)) and after in _OF

    def weekly(self, weeks: int, *, on: bool = True) -> Schedule:
        if weeks > 1:
            self.example = EXAMPLE_BIWEEKLY
        if on:
            self.take(_ON)
        days = self.days()
        hour, minute = self.time_of_day()
        anchor = None
        if weeks > 1:
            base = self.anchor if self.anchor is not None else datetime.now(UTC).date()
            if self.take(_FROM):
                base = self.from_date()
            anchor = self.first_on_or_after(base, days)
        self.end()
        return _build(
            kind=ScheduleKind.WEEKLY,
            open_for=self.open_for,
            hour=hour,
            minute=minute,
            weekdays=days,
            every_weeks=weeks,
            anchor=anchor,
        )

    def first_on_or_after(self, base: date, days: tuple[int, ...]) -> date:
        for offset in range(7):
            day = base + timedelta(days=offset)
            if day.weekday() in days:
                return day
        raise AssertionError("unreachable: days is never empty")

    def monthly(self, *, of_month: bool) -> Schedule:
        self.example = EXAMPLE_MONTHLY
        if not of_month:
            self.take(_ON)
        self.take(_THE)
        nth = month_day = None
        weekdays: tuple[int, ...] = ()
        token = self.peek()
        if token in {"day", "dag"}:
            self.i += 1
            month_day = self.month_day(self.peek())
        elif token in _NTH and self.peek(1) in {"day", "dag"}:
            self.i += 2
            month_day = _NTH[token]  # "the first day" is day 1, "the last day" -1
        elif token in _NTH and (self.peek(1) in _WEEKDAYS or self.is_dayish(self.peek(1))):
            nth = _NTH[token]
            self.i += 1
            weekdays = (self.weekday(),)
        elif token is not None and (match := _MONTH_DAY.fullmatch(token)):
            month_day = self.month_day(match.group(1))
        else:
            raise self.unknown()
        if of_month and self.take(_OF):
            self.take(_THE | _EVERY)
            if not self.take(_MONTH):
                raise self.unknown()
        hour, minute = self.time_of_day()
        self.end()
        return _build(
            kind=ScheduleKind.MONTHLY,
            open_for=self.open_for,
            hour=hour,
            minute=minute,
            weekdays=weekdays,
            nth=nth,
            month_day=month_day,
        )

    def month_day(self, digits: str | None) -> int:
        if digits is None or not (digits.isascii() and digits.isdigit()):
            raise self.unknown()
        if len(digits) > 2 or not 1 <= int(digits) <= 31:
            raise self.error(E_BAD_MONTH_DAY, day=_quote(digits))
        self.i += 1
        return int(digits)

    @staticmethod
    def is_dayish(token: str | None) -> bool:
        """A word that is meant as a day but is not one we know ('funday', 'maandg')."""
        return (
            token is not None
            and token.isalpha()
            and token not in _AT | _AND | _FROM | _ON | _OF
            and not token.startswith("week")
        )

    def weekday(self) -> int:
        token = self.peek()
        day = _day_index(token)
        if day is not None:
            self.i += 1
            return day
        if self.is_dayish(token):
            raise self.error(E_UNKNOWN_DAY, day=_quote(token or ""))
        raise self.error(E_MISSING_DAY)

    def days(self) -> tuple[int, ...]:
        token = self.peek()
        if token is not None:
            group = _DAY_GROUPS.get(token) or _DAY_GROUPS.get(_singular(token))
            if group is not None:
                self.i += 1
                return group
        chosen = {self.weekday()}
        while True:
            if self.take(_AND):
                chosen.add(self.weekday())
            elif _day_index(self.peek()) is not None:
                chosen.add(self.weekday())
            else:
                return tuple(sorted(chosen))

    def time_of_day(self) -> tuple[int, int]:
        said_at = self.take(_AT) is not None
        token = self.peek()
        if token is None:
            raise self.error(E_MISSING_TIME)
        match = _TIME.fullmatch(token)
        if match is None:
            if said_at or token[0].isdigit():
                raise self.error(E_BAD_TIME, time=_quote(token))
            if _day_index(token) is None and self.is_dayish(token) and token.endswith(("day", "dag")):
                raise self.error(E_UNKNOWN_DAY, day=_quote(token))
            if token in _FROM:
                raise self.error(E_MISSING_TIME)
            raise self.unknown()
        self.i += 1
        hour_text, minute_text, suffix = match.groups()
        if suffix is None and self.peek() in _TIME_SUFFIX:
            suffix = self.peek()
            self.i += 1
            token = f"{token} {suffix}"
        if len(hour_text) > 2 or (minute_text is not None and len(minute_text) != 2):
            raise self.error(E_BAD_TIME, time=_quote(token))
        hour, minute = int(hour_text), int(minute_text or 0)
        if suffix in {"am", "pm", "a.m.", "p.m."}:
            if not 1 <= hour <= 12:
                raise self.error(E_BAD_TIME, time=_quote(token))
            hour = hour % 12 + (12 if suffix.startswith("p") else 0)
        if hour > 23 or minute > 59:
            raise self.error(E_BAD_TIME, time=_quote(token))
        return hour, minute

    def from_date(self) -> date:
        token = self.peek() or ""
        if match := _ISO_DATE.fullmatch(token):
            year, month, day = (int(part) for part in match.groups())
        elif match := _DUTCH_DATE.fullmatch(token):
            day, month, year = (int(part) for part in match.groups())
        else:
            raise self.error(E_BAD_DATE, date=_quote(token))
        try:
            result = date(year, month, day)
        except ValueError:
            raise self.error(E_BAD_DATE, date=_quote(token)) from None
        if not _FIRST_DATE <= result <= _LAST_DATE:
            raise self.error(E_BAD_DATE, date=_quote(token))
        self.i += 1
        return result

    def end(self) -> None:
        if self.i != len(self.tokens):
            raise self.unknown()


def _singular(token: str) -> str:
    """'mondays' -> 'monday', 'maandagen' -> 'maandag', 'werkdagen' -> 'werkdag'."""
    if token.endswith("en") and len(token) > 4:
        return token[:-2]
    if token.endswith("s") and len(token) > 3:
        return token[:-1]
    return token


def _day_index(token: str | None) -> int | None:
    if token is None:
        return None
    if token in _WEEKDAYS:
        return _WEEKDAYS[token]
    return _WEEKDAYS.get(_singular(token))
