"""The five fields of a ``cron "…"`` schedule, read whole as crontab(5) reads them.

APScheduler 3 is given only what this module has checked and spelled out: its field parsers
match names with ``re.match`` and stop where a name ends, so ``nov-12`` would fire in November
only and ``lastfoo`` would be ``last``. Here every field is a list of items, and every item is

* ``*``, all values of the field; ``*/STEP`` every STEP-th of them, from the first;
* a value: a number, or a name of three letters (``jan``..``dec`` for the month, ``sun``..``sat``
  for the day of the week; whole words only, any case);
* a range ``A-B`` of two values, from low to high, inclusive, and ``A-B/STEP``.

The day of the week counts from Sunday = 0, and 7 is Sunday too, as in crontab. The name
``sun`` is 0, except at the end of a range that starts after Sunday: there it is 7, so
``mon-sun`` is the whole week while ``sun-sun`` and ``0-sun`` are Sunday only.

What Ritme refuses, loudly, rather than guess:

* a step after a single value (``5/15``, ``jan/3``): Vixie cron 3.0 drops the step without a
  word, later crons either refuse the line or read "from 5 to the end" (as cronsim does); the
  answer asks for the range written out (``5-59/15``);
* the extensions of other schedulers: ``L``, ``W``, ``#``, ``?``, ``@daily``, a seconds field;
* a day of the month together with a day of the week (checked in ``rituals.schedule``): cron
  fires when *either* matches, APScheduler when both do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rituals.schedule_words import (
    _CRON_DAYS,
    E_CRON_BACKWARDS,
    E_CRON_BARE_STEP,
    E_CRON_DAY,
    E_CRON_HOUR,
    E_CRON_MINUTE,
    E_CRON_MONTH,
    E_CRON_STEP,
    E_CRON_WEEKDAY,
    EXAMPLE_CRON,
    ScheduleError,
    _quote,
)

__all__ = ["CronFields", "read_cron"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MAX_DIGITS = 9  # room for leading zeros ("007"); no integer of thousands of digits


@dataclass(frozen=True, kw_only=True, slots=True)
class _Field:
    """One crontab field: its values ``low``..``high``, the names of the first ones, the
    message that says what it takes."""

    low: int
    high: int
    names: tuple[str, ...] = ()
    error: str


_FIELDS = (
    _Field(low=0, high=59, error=E_CRON_MINUTE),
    _Field(low=0, high=23, error=E_CRON_HOUR),
    _Field(low=1, high=31, error=E_CRON_DAY),
    _Field(low=1, high=12, names=_MONTHS, error=E_CRON_MONTH),
    _Field(low=0, high=7, names=_WEEKDAYS, error=E_CRON_WEEKDAY),
)
_WEEKDAY_FIELD = _FIELDS[4]


@dataclass(frozen=True, kw_only=True, slots=True)
class CronFields:
    """The values a crontab expression allows in each field; weekdays count from Sunday = 0
    (a 7 is folded into 0). ``days_star`` and ``weekdays_star``: the field starts with ``*``,
    which is what makes cron combine the two day fields with AND rather than OR."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_star: bool
    weekdays_star: bool

    def trigger_fields(self) -> dict[str, str]:
        """The fields for APScheduler's CronTrigger, spelled in numbers and its own day names
        (APScheduler counts Monday as 0)."""
        weekdays = sorted(self.weekdays, key=lambda d: (d - 1) % 7)
        return {
            "minute": _spell(self.minutes, _FIELDS[0]),
            "hour": _spell(self.hours, _FIELDS[1]),
            "day": _spell(self.days, _FIELDS[2]),
            "month": _spell(self.months, _FIELDS[3]),
            "day_of_week": "*" if len(weekdays) == 7 else ",".join(_CRON_DAYS[(d - 1) % 7] for d in weekdays),
        }


def _spell(values: frozenset[int], field: _Field) -> str:
    """``*`` for every value, else runs of consecutive values as ``A-B``, joined by commas."""
    if len(values) == field.high - field.low + 1:
        return "*"
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and runs[-1][1] == value - 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@lru_cache(maxsize=4096)
def read_cron(expr: str) -> CronFields:
    """The five fields of ``expr`` (lower case, fields separated by one space); raises
    ScheduleError saying which field is wrong and how."""
    texts = expr.split(" ")  # the caller counts them: five
    minutes, hours, days, months, weekdays = (
        _read_field(text, field) for text, field in zip(texts, _FIELDS, strict=True)
    )
    return CronFields(
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(d % 7 for d in weekdays),
        days_star=texts[2].startswith("*"),
        weekdays_star=texts[4].startswith("*"),
    )


def _read_field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:  # "1,,2" or a comma at an end
            raise ScheduleError(field.error, value=_quote(text), example=EXAMPLE_CRON)
        values.update(_read_item(item, field))
    return frozenset(values)


def _read_item(item: str, field: _Field) -> range:
    base, slash, step_text = item.partition("/")
    step = _step(step_text, item) if slash else 1
    if base == "*":
        return range(field.low, field.high + 1, step)
    start_text, dash, end_text = base.partition("-")
    first = _value(start_text, field, item)
    if not dash:
        if slash:
            end = _last_name(field, first) if start_text in field.names else str(field.high)
            raise ScheduleError(
                E_CRON_BARE_STEP, item=_quote(item), fix=f"{start_text}-{end}/{step}", example=EXAMPLE_CRON
            )
        return range(first, first + 1)
    last = _value(end_text, field, item)
    if field is _WEEKDAY_FIELD and end_text == "sun" and first > 0:
        last = 7  # mon-sun: up to the Sunday at the end of the week
    if first > last:
        raise ScheduleError(E_CRON_BACKWARDS, range=_quote(base), example=EXAMPLE_CRON)
    return range(first, last + 1, step)


def _last_name(field: _Field, first: int) -> str:
    """How a range from the name at ``first`` to the field's end is written: ``dec``; ``sun``
    after a weekday, ``sat`` after Sunday (``sun-sun`` is Sunday only)."""
    if field is _WEEKDAY_FIELD:
        return "sat" if first == 0 else "sun"
    return field.names[-1]


def _value(token: str, field: _Field, item: str) -> int:
    if token in field.names:
        return field.low + field.names.index(token)
    if token.isascii() and token.isdigit() and len(token) <= _MAX_DIGITS and field.low <= int(token) <= field.high:
        return int(token)
    raise ScheduleError(field.error, value=_quote(item), example=EXAMPLE_CRON)


def _step(text: str, item: str) -> int:
    if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS and int(text) > 0:
        return int(text)
    raise ScheduleError(E_CRON_STEP, item=_quote(item), example=EXAMPLE_CRON)
