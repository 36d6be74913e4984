"""A school's calendar file (iCalendar, RFC 5545) read into holiday periods: ``holiday import``.

What a teamleider has at hand is an export from Outlook, Google or Apple Calendar, or the
school's published ``.ics``. It is read as those programs mean it:

* Repeating events (``RRULE``, ``RDATE``, ``EXDATE`` and changed occurrences with
  ``RECURRENCE-ID``) are expanded by ``recurring_ical_events`` over this school year and the
  next (:func:`school_years`): from 1 August before today to 31 July two years on. One-off
  events after that are taken as they are; events that ended before it are left out. Google's
  ``X-WR-TIMEZONE`` is applied first (``x_wr_timezone``), so its UTC events repeat on local time.
* An event ends where ``DTEND`` says, exclusive, or after its ``DURATION``; without either it
  is one day (a date) or one moment (a time). A timed event counts every day it touches in
  the team's time zone: Google's ``DTSTART:20261223T230000Z`` is 24 December in Amsterdam, and
  24 Dec 00:00 to 27 Dec 00:00 is 24, 25 and 26 December. Outlook's Windows zone names
  ("W. Europe Standard Time") are understood; a time without a zone is the team's wall clock.
* Cancelled events (``STATUS:CANCELLED``) are left out.
* Lines folded in the middle of a UTF-8 character are joined before the text is decoded; a
  file that is not UTF-8 is read as Windows-1252, what older Windows programs write.

A file that cannot be read this way is refused as a whole with :class:`CalendarError`, which
says what is wrong and where (the event's name), so that nothing of it is stored.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import chain
from typing import Any

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component

from rituals.i18n import N_

__all__ = ["MAX_DAYS", "MAX_PERIODS", "CalendarError", "HolidayPeriod", "read_calendar", "school_years"]

log = logging.getLogger(__name__)

MAX_DAYS = 366  # a holiday period is at most a year long, as with ``holiday add``
MAX_PERIODS = 1000  # more than any school's holidays in two years; a bound on a runaway RRULE
MAX_SERIES = 100  # repeating events in one file, each at most daily: a bound on the work to expand
FIRST_YEAR = 1900  # a repeat is worked out from its first date on: none from the Middle Ages

E_UNREADABLE = N_("That file is not an iCalendar file I can read.")
E_NO_EVENTS = N_("That calendar has no events.")
E_NONE_IN_YEARS = N_("That calendar has no events from {start} on (repeating ones counted up to {end}).")
E_TWICE = N_("The event {name} has {field} more than once.")
E_NO_START = N_("The event {name} has no start date (DTSTART).")
E_BAD_PROPERTY = N_("The event {name} has a value in {field} that iCalendar does not allow: {value}")
E_BAD_LINE = N_("The event {name} has a line that is not iCalendar.")
E_NOT_A_MOMENT = N_("The event {name} has a {field} that is not a date or a time: {value}")
E_MIXED = N_("The event {name} starts on a date and ends at a time, or the other way round.")
E_BOTH_ENDS = N_("The event {name} has both an end (DTEND) and a duration (DURATION); give one.")
E_ENDS_BEFORE = N_("The event {name} ends ({end}) before it starts ({start}).")
E_TOO_LONG = N_("The event {name} runs from {start} to {end}; a holiday period is at most a year long.")
E_BAD_REPEAT = N_("The repeating event {name} cannot be read: check its RRULE, RDATE and EXDATE.")
E_TOO_OFTEN = N_("The event {name} repeats more than once a day; holidays repeat by the day, week, month or year.")
E_TOO_MANY_SERIES = N_("That calendar has more than {max} repeating events; send one with the school holidays only.")
E_TOO_EARLY = N_("The repeating event {name} starts in {year}; give a first date after 1900.")
E_TOO_MANY = N_("That calendar has more than {max} holiday periods in this school year and the next.")


class CalendarError(ValueError):
    """What is wrong with a calendar file, for the person who sent it.

    ``msgid`` is an English message marked with ``N_``; translate it with
    ``_(error.msgid, **error.params)``. ``str(error)`` is the English message.
    """

    msgid: str
    params: dict[str, object]

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True, kw_only=True, slots=True)
class HolidayPeriod:
    """Days without prompts, ``first`` to ``last`` inclusive, with the event's name."""

    first: date
    last: date
    name: str


def school_years(today: date) -> tuple[date, date]:
    """This school year and the next, the span a calendar's repeating events are read over:
    from 1 August on or before ``today`` to 31 July two years after it."""
    first = date(today.year if today.month >= 8 else today.year - 1, 8, 1)
    return first, date(first.year + 2, 7, 31)


def read_calendar(content: bytes, *, tz: tzinfo, years: tuple[date, date]) -> list[HolidayPeriod]:
    """The holiday periods of a calendar file between ``years`` (first and last day), with
    timed events dated in ``tz``; raises CalendarError for a file that cannot be read whole."""
    calendar = _parse(content)
    events = list(calendar.walk("VEVENT"))
    if not events:
        raise CalendarError(E_NO_EVENTS)
    for number, event in enumerate(events, start=1):
        _check(event, number, tz)
    if sum("RRULE" in event for event in events) > MAX_SERIES:
        raise CalendarError(E_TOO_MANY_SERIES, max=MAX_SERIES)
    try:
        calendar = x_wr_timezone.to_standard(calendar)
    except Exception as err:  # an unknown X-WR-TIMEZONE: the events' own zones stand
        log.info("calendar: X-WR-TIMEZONE not applied: %s", err)
    periods = _expand(calendar, events, tz, years)
    if not periods:
        raise CalendarError(E_NONE_IN_YEARS, start=years[0].isoformat(), end=years[1].isoformat())
    return periods


# --- Reading the file -----------------------------------------------------------------------

_FOLD = re.compile(rb"\r?\n[ \t]")


def _parse(content: bytes) -> Calendar:
    unfolded = _FOLD.sub(b"", content)  # RFC 5545 3.1: a fold may split a UTF-8 character
    try:
        text = unfolded.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = unfolded.decode("cp1252", errors="replace")
    if "BEGIN:VCALENDAR" not in text.upper():
        raise CalendarError(E_UNREADABLE)
    try:
        calendars = Calendar.from_ical(text, multiple=True)
    except Exception as err:  # icalendar raises ValueError, KeyError, IndexError, ... for garbage
        log.info("calendar: not readable: %s", err)
        raise CalendarError(E_UNREADABLE) from None
    found = [c for c in calendars if isinstance(c, Calendar) and c.name == "VCALENDAR"]
    if len(found) != 1:
        raise CalendarError(E_UNREADABLE)
    return found[0]


def _name(event: Component, number: int) -> str:
    """How an event is named in an answer: its SUMMARY, else its place in the file."""
    summary = _text(event, "SUMMARY")
    if not summary:
        return f"#{number}"
    return f"'{summary}'" if len(summary) <= 40 else f"'{summary[:39]}…'"


def _text(component: Component, field: str) -> str:
    """A text property, on one line; the first when a file gives it twice."""
    value = component.get(field, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    printable = "".join(ch if ch.isprintable() else " " for ch in str(value))  # no NUL into PostgreSQL
    return " ".join(printable.split())


def _check(event: Component, number: int, tz: tzinfo) -> None:
    """Refuse an event whose dates do not make a period, before anything is expanded."""
    name = _name(event, number)
    for field, _message in getattr(event, "errors", ()):
        if not field:  # a line that has no property name and value at all
            raise CalendarError(E_BAD_LINE, name=name)
        raw = event.get(field)
        value = raw[0] if isinstance(raw, list) and raw else raw
        raise CalendarError(E_BAD_PROPERTY, name=name, field=field, value=_short(str(value)))
    if "DTSTART" not in event:
        raise CalendarError(E_NO_START, name=name)
    for field in _ONCE:
        if isinstance(event.get(field), list):
            raise CalendarError(E_TWICE, name=name, field=field)
    start = _moment(event, "DTSTART", name)
    if "RRULE" in event:
        _check_rules(event, name, start)
    if "DTEND" in event and "DURATION" in event:
        raise CalendarError(E_BOTH_ENDS, name=name)
    if "DTEND" in event:
        end = _moment(event, "DTEND", name)
        if isinstance(start, datetime) != isinstance(end, datetime):
            raise CalendarError(E_MIXED, name=name)
    elif "DURATION" in event:
        end = _end_after(event, start, name)
    else:
        end = start
    _check_span(_aware(start, tz), _aware(end, tz), name)


def _end_after(event: Component, start: date, name: str) -> date:
    """Where an event with a DURATION ends."""
    duration = event.decoded("DURATION")
    if not isinstance(duration, timedelta):
        raise CalendarError(E_NOT_A_MOMENT, name=name, field="DURATION", value=_raw(event, "DURATION"))
    try:
        return start + duration
    except OverflowError:  # before the year 1 or after 9999
        error = E_TOO_LONG if duration > timedelta(0) else E_ENDS_BEFORE
        raise CalendarError(error, name=name, start=_when(start), end=_raw(event, "DURATION")) from None


_TOO_OFTEN = {"SECONDLY", "MINUTELY", "HOURLY"}
_ONCE = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")


def _check_rules(event: Component, name: str, start: date) -> None:
    """A repeat that a school's holidays could have: at most daily, from 1900 on."""
    rules: Any = event["RRULE"]  # a vRecur, or a list of them when the file repeats the line
    for rule in rules if isinstance(rules, list) else [rules]:
        often = any(str(freq).upper() in _TOO_OFTEN for freq in rule.get("FREQ", ()))
        if often or any(len(rule.get(part, ())) > 1 for part in ("BYHOUR", "BYMINUTE", "BYSECOND")):
            raise CalendarError(E_TOO_OFTEN, name=name)
    if start.year < FIRST_YEAR:
        raise CalendarError(E_TOO_EARLY, name=name, year=start.year)


def _moment(event: Component, field: str, name: str) -> date:
    value = event.decoded(field)
    if not isinstance(value, date):  # a duration or a PERIOD where a date or time belongs
        raise CalendarError(E_NOT_A_MOMENT, name=name, field=field, value=_raw(event, field))
    return value


def _check_span(start: date, end: date, name: str) -> None:
    shown = {"start": _when(start), "end": _when(end)}
    if end < start:  # both dates or both aware datetimes, checked above
        raise CalendarError(E_ENDS_BEFORE, name=name, **shown)
    if end - start > timedelta(days=MAX_DAYS + 1):  # an end is exclusive: one day more
        raise CalendarError(E_TOO_LONG, name=name, **shown)


def _raw(event: Component, field: str) -> str:
    value = event[field].to_ical()
    return _short(value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value))


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(moment: date) -> str:
    return moment.isoformat(sep=" ", timespec="minutes") if isinstance(moment, datetime) else moment.isoformat()


# --- Expanding it ---------------------------------------------------------------------------


def _expand(calendar: Calendar, events: list[Component], tz: tzinfo, years: tuple[date, date]) -> list[HolidayPeriod]:
    """The periods of every occurrence that touches ``years``, then those of the one-off events
    after them: a school's calendar for the year after next is taken as it is."""
    periods: list[HolidayPeriod] = []
    try:
        later = (e for e in calendar.walk("VEVENT") if _one_off(e) and _day(_aware(_start(e), tz), tz) > years[1])
        for occurrence in chain(_occurrences(calendar, years), later):
            if _text(occurrence, "STATUS").upper() == "CANCELLED":
                continue
            periods.append(_period(occurrence, tz))
            if len(periods) > MAX_PERIODS:
                raise CalendarError(E_TOO_MANY, max=MAX_PERIODS)
    except CalendarError:
        raise
    except Exception as err:  # recurring_ical_events and dateutil raise many types for bad rules
        log.info("calendar: repeating events not readable: %s", err)
        raise CalendarError(E_BAD_REPEAT, name=_culprit(events, years)) from None
    return sorted(periods, key=lambda p: (p.first, p.last, p.name))


def _occurrences(calendar: Calendar, years: tuple[date, date]) -> list[Component]:
    """The occurrences that touch ``years``. Bounded: no rule repeats more than daily, at most
    MAX_SERIES rules, none from before 1900 (checked before)."""
    first, last = datetime.combine(years[0], time()), datetime.combine(years[1] + timedelta(days=1), time())
    occurrences: list[Component] = recurring_ical_events.of(calendar).between(first, last)
    return occurrences


def _one_off(event: Component) -> bool:
    return not any(field in event for field in ("RRULE", "RDATE", "RECURRENCE-ID"))


def _start(event: Component) -> date:
    start: date = event.decoded("DTSTART")
    return start


def _culprit(events: list[Component], years: tuple[date, date]) -> str:
    """The name of the first event that cannot be expanded on its own."""
    for number, event in enumerate(events, start=1):
        alone = Calendar()
        alone.add_component(event)
        try:
            _occurrences(alone, years)
        except Exception:
            return _name(event, number)
    return "?"


def _period(occurrence: Component, tz: tzinfo) -> HolidayPeriod:
    start = _aware(_start(occurrence), tz)
    if "DTEND" in occurrence:
        end = _aware(occurrence.decoded("DTEND"), tz)
    elif "DURATION" in occurrence:  # a one-off event read here, not by recurring_ical_events
        end = start + occurrence.decoded("DURATION")
    else:
        end = start
    first = _day(start, tz)
    if isinstance(end, datetime):
        last = _day(end - timedelta(microseconds=1), tz) if end > start else first
    else:
        last = end - timedelta(days=1) if end > start else first
    name = _text(occurrence, "SUMMARY")[:200]
    if (last - first).days > MAX_DAYS:  # a timed event a little over a year, dated in ``tz``
        raise CalendarError(E_TOO_LONG, name=_name(occurrence, 0), start=_when(start), end=_when(end))
    return HolidayPeriod(first=first, last=max(first, last), name=name)


def _aware(moment: date, tz: tzinfo) -> date:
    """A time without a zone (floating) is the team's wall clock; dates stay dates."""
    if isinstance(moment, datetime) and moment.tzinfo is None:
        return moment.replace(tzinfo=tz)
    return moment


def _day(moment: date, tz: tzinfo) -> date:
    """The date of a moment in the team's zone."""
    return moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
