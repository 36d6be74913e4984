"""Reading a schedule phrase, English or Dutch ("every monday at 09:00", "elke werkdag om
16:30"): the words become the parts of a schedule, which ``rituals.schedule`` builds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from rituals.schedule_words import (
    _AND,
    _AT,
    _DAY_GROUPS,
    _DUTCH_DATE,
    _EVERY,
    _FIRST_DATE,
    _FROM,
    _ISO_DATE,
    _LAST_DATE,
    _MAX_WEEKS,
    _MONTH,
    _MONTH_DAY,
    _NTH,
    _NUMBER_WORDS,
    _OF,
    _ON,
    _OTHER,
    _THE,
    _TIME,
    _TIME_SUFFIX,
    _WEEK,
    _WEEKDAYS,
    E_BAD_DATE,
    E_BAD_MONTH_DAY,
    E_BAD_TIME,
    E_BAD_WEEKS,
    E_MISSING_DAY,
    E_MISSING_TIME,
    E_UNKNOWN,
    E_UNKNOWN_DAY,
    EXAMPLE_BIWEEKLY,
    EXAMPLE_MONTHLY,
    EXAMPLE_WEEKLY,
    ScheduleError,
    ScheduleKind,
    _quote,
)


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

    def parse(self) -> dict[str, Any]:
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

    def weekly(self, weeks: int, *, on: bool = True) -> dict[str, Any]:
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
        return dict(
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

    def monthly(self, *, of_month: bool) -> dict[str, Any]:
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
        return dict(
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
