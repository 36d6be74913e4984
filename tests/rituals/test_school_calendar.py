"""``holiday import``'s reader against the calendar files a teamleider has at hand.

The files in ``tests/fakes/ics/`` are shaped as the programs export them: Outlook 16 (a
VTIMEZONE named "W. Europe Standard Time", CRLF, folded DESCRIPTION, RRULE with BYDAY=3WE,
EXDATE and a moved occurrence), Google Calendar (X-WR-TIMEZONE, UTC times, STATUS:CANCELLED
on an event and on one occurrence of a series, a SUMMARY folded inside a UTF-8 character),
Apple Calendar (LF, DURATION, RDATE), a US school (America/New_York), an empty calendar, and
malformed ones. Expected periods are worked out by hand from RFC 5545: an end is exclusive,
a timed event counts every day it touches in the team's zone. Calendar facts: 2026-12-05 is
in the school year 2026-2027; 16 Sep 2026 is the third Wednesday of September; Easter 2027
is 28 March; Amsterdam's clocks go forward on 28 March 2027.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
import x_wr_timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rituals import school_calendar as reader
from rituals.i18n import translator
from rituals.school_calendar import CalendarError, HolidayPeriod, read_calendar, school_years

ICS = Path(__file__).parents[1] / "fakes" / "ics"
AMS, NEW_YORK = ZoneInfo("Europe/Amsterdam"), ZoneInfo("America/New_York")
YEARS = school_years(date(2026, 12, 5))
EN, NL = translator("en"), translator("nl")


def read(name: str, tz: ZoneInfo = AMS) -> list[tuple[str, str, str]]:
    periods = read_calendar((ICS / name).read_bytes(), tz=tz, years=YEARS)
    return [(p.first.isoformat(), p.last.isoformat(), p.name) for p in periods]


def test_the_school_years_read() -> None:
    assert YEARS == (date(2026, 8, 1), date(2028, 7, 31))
    assert school_years(date(2027, 7, 31)) == (date(2026, 8, 1), date(2028, 7, 31))
    assert school_years(date(2027, 8, 1)) == (date(2027, 8, 1), date(2029, 7, 31))


def test_outlook_export() -> None:
    """Repeats by BYDAY=3WE with an EXDATE (16 Dec) and a moved occurrence (18 -> 25 Nov);
    Koningsdag given once in 2020 with RRULE:FREQ=YEARLY; the Christmas break as Outlook
    writes a timed event, 19 Dec 00:00 to 4 Jan 00:00 "W. Europe Standard Time"."""
    assert read("outlook_2026_2027.ics") == [
        ("2026-09-16", "2026-09-16", "Studiemiddag team"),
        ("2026-10-17", "2026-10-25", "Herfstvakantie"),
        ("2026-10-21", "2026-10-21", "Studiemiddag team"),
        ("2026-11-25", "2026-11-25", "Studiemiddag team (verplaatst)"),
        ("2026-12-19", "2027-01-03", "Kerstvakantie"),
        ("2027-01-20", "2027-01-20", "Studiemiddag team"),
        ("2027-02-17", "2027-02-17", "Studiemiddag team"),
        ("2027-04-27", "2027-04-27", "Koningsdag"),
        ("2028-04-27", "2028-04-27", "Koningsdag"),
    ]


def test_google_export() -> None:
    """DTSTART:20261223T230000Z is 24 December in Amsterdam. The weekly Sportvrijdag starts
    at 00:00 Amsterdam written in UTC; read on X-WR-TIMEZONE it stays at 00:00 after the
    clocks change, so 2 April 2027 ends at midnight and 3 April is a school day."""
    assert read("google_2026_2027.ics") == [
        ("2026-10-05", "2026-10-05", "Margedag"),  # 2027-10-05 is cancelled
        (
            "2026-12-24",
            "2026-12-26",
            "Kerstvakantie – fijne feestdagen voor iedereen, ook de conciërge en de overblijfmoeders",
        ),
        ("2027-02-20", "2027-02-28", "Voorjaarsvakantie"),
        ("2027-03-19", "2027-03-19", "Sportvrijdag"),
        ("2027-03-26", "2027-03-26", "Sportvrijdag"),
        ("2027-04-02", "2027-04-02", "Sportvrijdag"),
    ]


def test_apple_export() -> None:
    assert read("apple_2026_2027.ics") == [
        ("2026-10-17", "2026-10-25", "Herfstvakantie"),  # DURATION:P9D on a date
        ("2026-11-02", "2026-11-02", "Studiedag"),
        ("2027-03-08", "2027-03-08", "Studiedag"),  # RDATE
        ("2027-04-24", "2027-05-02", "Meivakantie"),  # DURATION:P9D from 00:00 Europe/Amsterdam
        ("2027-06-14", "2027-06-14", "Studiedag"),
    ]


def test_timed_events_are_dated_in_the_teams_zone() -> None:
    """Thanksgiving break, 25 Nov 00:00 to 28 Nov 00:00 New York: three days there; in
    Amsterdam it ends at 06:00 on the 28th, which is touched too."""
    assert read("us_school_2026_2027.ics", NEW_YORK)[0] == ("2026-11-25", "2026-11-27", "Thanksgiving Break")
    assert read("us_school_2026_2027.ics", AMS)[0] == ("2026-11-25", "2026-11-28", "Thanksgiving Break")
    assert read("us_school_2026_2027.ics", NEW_YORK)[1:] == [
        ("2027-01-18", "2027-01-18", "Martin Luther King Jr. Day"),
        ("2028-01-17", "2028-01-17", "Martin Luther King Jr. Day"),
    ]


def calendar(*lines: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Ritme tests//NL", *lines, "END:VCALENDAR"]
    return ("\r\n".join(body) + "\r\n").encode()


def event(*lines: str, uid: str = "e") -> tuple[str, ...]:
    return ("BEGIN:VEVENT", f"UID:{uid}@school.example", *lines, "END:VEVENT")


def test_repeats_stop_at_the_end_of_next_school_year_and_one_off_events_are_taken() -> None:
    content = calendar(
        *event("DTSTART;VALUE=DATE:20200427", "RRULE:FREQ=YEARLY", "SUMMARY:Koningsdag", uid="k"),
        *event("DTSTART;VALUE=DATE:20290219", "DTEND;VALUE=DATE:20290224", "SUMMARY:Voorjaar 2029", uid="v"),
        *event("DTSTART;VALUE=DATE:20200101", "SUMMARY:Lang geleden", uid="o"),
        *event("DTSTART;VALUE=DATE:20260730", "DTEND;VALUE=DATE:20260805", "SUMMARY:Zomer", uid="z"),
    )
    periods = read_calendar(content, tz=AMS, years=YEARS)
    assert [(p.first, p.last, p.name) for p in periods] == [
        (date(2026, 7, 30), date(2026, 8, 4), "Zomer"),  # touches the school year: taken whole
        (date(2027, 4, 27), date(2027, 4, 27), "Koningsdag"),
        (date(2028, 4, 27), date(2028, 4, 27), "Koningsdag"),
        (date(2029, 2, 19), date(2029, 2, 23), "Voorjaar 2029"),
    ]


def test_a_period_is_at_most_a_year_long_as_with_holiday_add() -> None:
    """``holiday add`` takes 2027-01-01..2028-01-02 (366 days after the first) and no more."""
    longest = calendar(*event("DTSTART;VALUE=DATE:20270101", "DTEND;VALUE=DATE:20280103", "SUMMARY:Sabbat"))
    assert read_calendar(longest, tz=AMS, years=YEARS) == [
        HolidayPeriod(first=date(2027, 1, 1), last=date(2028, 1, 2), name="Sabbat")
    ]
    for end in ("DTEND;VALUE=DATE:20280104", "DTEND;TZID=Europe/Amsterdam:20280103T000001"):
        start = "DTSTART;VALUE=DATE:20270101" if "DATE:" in end else "DTSTART;TZID=Europe/Amsterdam:20270101T000000"
        with pytest.raises(CalendarError) as caught:
            read_calendar(calendar(*event(start, end, "SUMMARY:Sabbat")), tz=AMS, years=YEARS)
        assert caught.value.msgid == reader.E_TOO_LONG


def test_times_without_a_zone_are_the_teams_wall_clock() -> None:
    content = calendar(*event("DTSTART:20261224T000000", "DTEND:20261227T000000", "SUMMARY:Kerst"))
    for tz in (AMS, NEW_YORK, ZoneInfo("Pacific/Kiritimati")):
        assert read_calendar(content, tz=tz, years=YEARS) == [
            HolidayPeriod(first=date(2026, 12, 24), last=date(2026, 12, 26), name="Kerst")
        ]


def test_a_name_keeps_no_control_characters() -> None:
    content = calendar(*event("DTSTART;VALUE=DATE:20261221", "SUMMARY:Kerst\x00vakantie\x07 2026"))
    assert read_calendar(content, tz=AMS, years=YEARS)[0].name == "Kerst vakantie 2026"


def test_an_event_without_an_end_is_one_day() -> None:
    content = calendar(
        *event("DTSTART;VALUE=DATE:20261130", "SUMMARY:Studiedag", uid="a"),
        *event("DTSTART:20261201T230000Z", "SUMMARY:Om middernacht", uid="b"),
    )
    assert [(p.first, p.last) for p in read_calendar(content, tz=AMS, years=YEARS)] == [
        (date(2026, 11, 30), date(2026, 11, 30)),
        (date(2026, 12, 2), date(2026, 12, 2)),
    ]


# --- Malformed files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "msgid", "params"),
    [
        ("impossible_date", reader.E_BAD_PROPERTY, {"field": "DTEND", "value": "20260230"}),
        ("bad_exdate", reader.E_BAD_PROPERTY, {"field": "EXDATE", "value": "20271321"}),
        ("bad_rule", reader.E_BAD_PROPERTY, {"field": "RRULE"}),
        ("dtend_is_a_duration", reader.E_NOT_A_MOMENT, {"field": "DTEND", "value": "P14D"}),
        ("period_start", reader.E_NOT_A_MOMENT, {"field": "DTSTART"}),
        ("ends_before_start", reader.E_ENDS_BEFORE, {"start": "2027-01-04", "end": "2026-12-21"}),
        ("negative_duration", reader.E_ENDS_BEFORE, {"start": "2027-01-04", "end": "2026-12-21"}),
        ("no_start", reader.E_NO_START, {}),
        ("too_long", reader.E_TOO_LONG, {"start": "0001-01-01", "end": "9999-12-31"}),
        ("every_second", reader.E_TOO_OFTEN, {}),
        ("date_to_time", reader.E_MIXED, {}),
        ("end_and_duration", reader.E_BOTH_ENDS, {}),
        ("garbage", reader.E_UNREADABLE, {}),
        ("not_a_calendar", reader.E_UNREADABLE, {}),
        ("cut_short", reader.E_UNREADABLE, {}),
    ],
)
def test_malformed_files_are_refused_with_what_is_wrong(name: str, msgid: str, params: dict[str, str]) -> None:
    with pytest.raises(CalendarError) as caught:
        read_calendar((ICS / "malformed" / f"{name}.ics").read_bytes(), tz=AMS, years=YEARS)
    error = caught.value
    assert error.msgid == msgid
    assert params.items() <= error.params.items()
    if "name" in error.params:
        assert error.params["name"] == "'Kerstvakantie'"
    assert NL(error.msgid, **error.params) != EN(error.msgid, **error.params)


def test_an_empty_calendar_has_no_events_rather_than_being_unreadable() -> None:
    with pytest.raises(CalendarError) as caught:
        read_calendar((ICS / "empty.ics").read_bytes(), tz=AMS, years=YEARS)
    assert caught.value.msgid == reader.E_NO_EVENTS
    only_cancelled = calendar(*event("DTSTART;VALUE=DATE:20261221", "STATUS:CANCELLED", "SUMMARY:Kerst"))
    with pytest.raises(CalendarError) as caught:
        read_calendar(only_cancelled, tz=AMS, years=YEARS)
    assert caught.value.msgid == reader.E_NONE_IN_YEARS
    assert caught.value.params == {"start": "2026-08-01", "end": "2028-07-31"}


def test_a_runaway_series_is_stopped() -> None:
    daily = calendar(*event("DTSTART;VALUE=DATE:20260801", "RRULE:FREQ=DAILY", "SUMMARY:Elke dag"))
    with pytest.raises(CalendarError) as caught:
        read_calendar(daily, tz=AMS, years=(date(2026, 8, 1), date(2029, 7, 31)))
    assert caught.value.msgid == reader.E_TOO_MANY


# --- The same as recurring_ical_events, used directly ---------------------------------------

GOOD = ["outlook_2026_2027.ics", "google_2026_2027.ics", "apple_2026_2027.ics", "us_school_2026_2027.ics"]


def reference(content: bytes, tz: ZoneInfo) -> set[tuple[date, date]]:
    """The days each occurrence covers, as the library's own ``between`` gives them (lines are
    unfolded first: icalendar decodes before it unfolds)."""
    parsed = icalendar.Calendar.from_ical(re.sub(rb"\r?\n[ \t]", b"", content))
    query = recurring_ical_events.of(x_wr_timezone.to_standard(parsed))
    days: set[tuple[date, date]] = set()
    for component in query.between(datetime.combine(YEARS[0], time()), datetime.combine(YEARS[1], time(23, 59))):
        if component.get("STATUS") == "CANCELLED":
            continue
        start, end = component.decoded("DTSTART"), component.decoded("DTEND")
        if isinstance(start, datetime):
            start, end = (m if m.tzinfo else m.replace(tzinfo=tz) for m in (start, end))
            first, last = start.astimezone(tz).date(), (end - timedelta(seconds=1)).astimezone(tz).date()
        else:
            first, last = start, end - timedelta(days=1)
        days.add((first, max(first, last)))
    return days


@pytest.mark.parametrize("name", GOOD)
@pytest.mark.parametrize("zone", ["Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"])
def test_the_same_periods_as_recurring_ical_events(name: str, zone: str) -> None:
    content, tz = (ICS / name).read_bytes(), ZoneInfo(zone)
    ours = {(p.first, p.last) for p in read_calendar(content, tz=tz, years=YEARS)}
    assert ours == reference(content, tz)


# --- Any bytes ------------------------------------------------------------------------------

LINES = sorted(
    {
        line
        for path in ICS.rglob("*.ics")
        for line in path.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
        if line and not line.startswith(b" ") and len(line) < 120 and b"\x00" not in line
    }
) + [b"DTSTART;VALUE=DATE:99991231", b"RRULE:FREQ=YEARLY;COUNT=0", b"RRULE:FREQ=DAILY;UNTIL=19000101", b"BEGIN:VTODO"]


def check(content: bytes) -> None:
    """Periods within the rules, or a refusal that reads in both languages: nothing else."""
    try:
        periods = read_calendar(content, tz=AMS, years=YEARS)
    except CalendarError as error:
        assert EN(error.msgid, **error.params) and NL(error.msgid, **error.params)
        return
    assert 0 < len(periods) <= reader.MAX_PERIODS
    for period in periods:
        assert period.first <= period.last and (period.last - period.first).days <= reader.MAX_DAYS
        assert len(period.name) <= 200 and period.name.isprintable()  # PostgreSQL takes no NUL


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes(content: bytes) -> None:
    check(content)


@SETTINGS
@given(st.lists(st.sampled_from(LINES), max_size=30), st.sampled_from([b"\r\n", b"\n"]))
def test_any_soup_of_calendar_lines(lines: list[bytes], newline: bytes) -> None:
    head = [b"BEGIN:VCALENDAR", b"VERSION:2.0", b"BEGIN:VEVENT"]
    check(newline.join([*head, *lines, b"END:VEVENT", b"END:VCALENDAR"]))


@SETTINGS
@given(
    st.sampled_from(sorted(ICS.rglob("*.ics"))),
    st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 8), st.binary(max_size=8)), min_size=1, max_size=4),
)
def test_any_damage_to_a_real_export(path: Path, cuts: list[tuple[int, int, bytes]]) -> None:
    content = path.read_bytes()
    for at, length, inserted in cuts:
        at %= len(content) + 1
        content = content[:at] + inserted + content[at + length :]
    check(content)
