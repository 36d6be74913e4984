"""Days without prompts: a team's own holidays and the public holidays of its country."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import holidays
from icalendar import Calendar


@cache
def _country(country: str, year: int) -> holidays.HolidayBase | None:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        return None


def public_holiday(country: str | None, day: date) -> str | None:
    """The name of the public holiday on ``day`` in ``country`` (ISO code), if any."""
    if not country:
        return None
    calendar = _country(country.upper(), day.year)
    if calendar is None:
        return None
    name = calendar.get(day)
    return str(name) if name else None


def known_country(country: str) -> bool:
    return country.upper() in holidays.list_supported_countries()


class CalendarError(ValueError):
    """The file is not an iCalendar file with events."""


def parse_ics(content: bytes) -> list[tuple[date, date, str]]:
    """Holiday periods (first day, last day, name) from the events of an iCalendar file.

    An all-day event's DTEND is exclusive in iCalendar; the last day returned is inclusive.
    """
    try:
        calendar = Calendar.from_ical(content)
    except Exception as exc:  # the parser raises several types for malformed input
        raise CalendarError(str(exc)) from None
    periods: list[tuple[date, date, str]] = []
    for event in calendar.walk("VEVENT"):
        start = event.decoded("DTSTART", None)
        if start is None:
            continue
        end = event.decoded("DTEND", None)
        first = start.date() if isinstance(start, datetime) else start
        if end is None:
            last = first
        elif isinstance(end, datetime):
            last = end.date()
        else:
            last = max(first, end - timedelta(days=1))
        periods.append((first, last, str(event.get("SUMMARY", ""))))
    if not periods:
        raise CalendarError("no events")
    return periods
