"""Schedule phrases: parsing (English and Dutch), fire times across DST, descriptions, errors.

Expected fire times are worked out by hand. Calendar facts used below:
2026-11-22 is a Sunday and 2026-11-27 a Friday. Europe/Amsterdam is UTC+1 in winter and UTC+2
in summer; summer time ends on Sunday 2026-10-25 (03:00 CEST -> 02:00 CET) and starts on Sunday
2027-03-28 (02:00 CET -> 03:00 CEST).
"""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rituals import schedule as schedule_module
from rituals import schedule_grammar, schedule_words
from rituals.i18n import catalog_path, translator
from rituals.schedule import (
    Schedule,
    ScheduleError,
    ScheduleKind,
    WallClockTrigger,
    parse_duration,
    parse_schedule,
)
from rituals.schedule_words import (
    E_BAD_CRON,
    E_BAD_DATE,
    E_BAD_DURATION,
    E_BAD_MONTH_DAY,
    E_BAD_TIME,
    E_BAD_WEEKS,
    E_CRON_BACKWARDS,
    E_CRON_BARE_STEP,
    E_CRON_BOTH_DAYS,
    E_CRON_DAY,
    E_CRON_HOUR,
    E_CRON_MINUTE,
    E_CRON_MONTH,
    E_CRON_NEVER,
    E_CRON_STEP,
    E_CRON_WEEKDAY,
    E_EMPTY,
    E_LONG_DURATION,
    E_MISSING_DAY,
    E_MISSING_DURATION,
    E_MISSING_TIME,
    E_SHORT_DURATION,
    E_UNKNOWN,
    E_UNKNOWN_DAY,
)

AMS = ZoneInfo("Europe/Amsterdam")
ANCHOR = date(2026, 11, 22)  # a Sunday
EXAMPLE_BIWEEKLY = "every 2 weeks on friday at 15:00"
EN = translator("en")
NL = translator("nl")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(schedule: Schedule, after: datetime, count: int, tz: ZoneInfo = AMS) -> list[datetime]:
    """The next ``count`` fire times after ``after``, each found with next_after."""
    out: list[datetime] = []
    for _ in range(count):
        nxt = schedule.next_after(after, tz)
        assert nxt is not None
        out.append(nxt)
        after = nxt
    return out


def scheduler_run(trigger: BaseTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Fire times as APScheduler 3 asks for them: previous fire time and now, until ``end``."""
    out: list[datetime] = []
    previous = None
    now = start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            return out
        out.append(fire.astimezone(UTC))
        previous = now = fire


# --- Phrases and next fire times ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        # Sunday noon -> Monday 09:00 CET.
        ("every monday at 09:00", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("elke maandag om 09:00", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("Every Monday 9:00", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("every mon at 9am", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("elke ma om 9u", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("elke maandag om 9 uur", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("  every   monday  at  9.00  ", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        # Friday 17:00 local is past 16:30 -> Monday 16:30.
        ("every weekday at 16:30", utc(2026, 11, 27, 16), utc(2026, 11, 30, 15, 30)),
        ("elke werkdag om 16:30", utc(2026, 11, 27, 16), utc(2026, 11, 30, 15, 30)),
        ("every weekday at 4:30 pm", utc(2026, 11, 27, 16), utc(2026, 11, 30, 15, 30)),
        # Strictly after: exactly at a fire time gives the next one.
        ("every day at 08:00", utc(2026, 11, 22, 7), utc(2026, 11, 23, 7)),
        ("elke dag om 08:00", utc(2026, 11, 22, 7), utc(2026, 11, 23, 7)),
        ("every day at 08:00", utc(2026, 11, 22, 6, 59, 59), utc(2026, 11, 22, 7)),
        # Monday 09:00 has just fired -> Thursday.
        ("every monday and thursday at 09:00", utc(2026, 11, 23, 8), utc(2026, 11, 26, 8)),
        ("elke maandag en donderdag om 09:00", utc(2026, 11, 23, 8), utc(2026, 11, 26, 8)),
        ("elke ma en do om 09:00", utc(2026, 11, 23, 8), utc(2026, 11, 26, 8)),
        ("every mondays and thursdays at 09:00", utc(2026, 11, 23, 8), utc(2026, 11, 26, 8)),
        ("every saturday and sunday at 10:00", utc(2026, 11, 22, 12), utc(2026, 11, 28, 9)),
        ("every week on friday at 15:00", utc(2026, 11, 22, 12), utc(2026, 11, 27, 14)),
        ("elke week op vrijdag om 15:00", utc(2026, 11, 22, 12), utc(2026, 11, 27, 14)),
        # Monthly. First Tuesday of December 2026 is the 1st; of January 2027 the 5th.
        ("every month on the first tuesday at 09:00", utc(2026, 11, 22), utc(2026, 12, 1, 8)),
        ("every month on the first tuesday at 09:00", utc(2026, 12, 1, 8), utc(2027, 1, 5, 8)),
        ("elke maand op de eerste dinsdag om 09:00", utc(2026, 12, 1, 8), utc(2027, 1, 5, 8)),
        ("every first tuesday of the month at 09:00", utc(2026, 12, 1, 8), utc(2027, 1, 5, 8)),
        ("elke eerste dinsdag van de maand om 09:00", utc(2026, 12, 1, 8), utc(2027, 1, 5, 8)),
        ("every month on the 1st tue at 09:00", utc(2026, 12, 1, 8), utc(2027, 1, 5, 8)),
        # Third Wednesday of December 2026: 2, 9, 16.
        ("every month on the third wednesday at 10:00", utc(2026, 12, 1), utc(2026, 12, 16, 9)),
        ("elke maand op de derde woensdag om 10:00", utc(2026, 12, 1), utc(2026, 12, 16, 9)),
        # Last Friday: December 2026 ends on a Thursday (31st) -> the 25th; March 2027 -> the
        # 26th (still CET); April 2027 -> the 30th (CEST).
        ("every month on the last friday at 09:00", utc(2026, 12, 1), utc(2026, 12, 25, 8)),
        ("elke maand op de laatste vrijdag om 09:00", utc(2027, 3, 1), utc(2027, 3, 26, 8)),
        ("every last friday of the month at 09:00", utc(2027, 4, 1), utc(2027, 4, 30, 7)),
        ("every month on day 15 at 09:00", utc(2026, 11, 22), utc(2026, 12, 15, 8)),
        ("elke maand op dag 15 om 09:00", utc(2026, 11, 22), utc(2026, 12, 15, 8)),
        ("elke maand op de 15e om 09:00", utc(2026, 11, 22), utc(2026, 12, 15, 8)),
        ("every month on the 15th at 09:00", utc(2026, 11, 22), utc(2026, 12, 15, 8)),
        # Day 31 skips February; March 31st 2027 is in summer time.
        ("every month on day 31 at 09:00", utc(2027, 1, 31, 8), utc(2027, 3, 31, 7)),
        ("every month on the last day at 17:00", utc(2027, 2, 1), utc(2027, 2, 28, 16)),
        ("elke maand op de laatste dag om 17:00", utc(2027, 2, 1), utc(2027, 2, 28, 16)),
        # Cron, with crontab's day-of-week numbers (0 and 7 are Sunday, 1 is Monday).
        ('cron "0 9 * * 1"', utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("cron '0 9 * * 1'", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ("cron “0 9 * * 1”", utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ('CRON "0 9 * * MON"', utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ('cron "0 9 * * 0"', utc(2026, 11, 22, 12), utc(2026, 11, 29, 8)),
        ('cron "0 9 * * 7"', utc(2026, 11, 22, 12), utc(2026, 11, 29, 8)),
        ('cron "0 9 * * 0"', utc(2026, 11, 22, 7), utc(2026, 11, 22, 8)),
        # */2 is Sun, Tue, Thu, Sat in crontab (APScheduler alone would read Mon, Wed, ...).
        ('cron "0 9 * * */2"', utc(2026, 11, 22, 12), utc(2026, 11, 24, 8)),
        ('cron "0 9 * * 5-7"', utc(2026, 11, 22, 12), utc(2026, 11, 27, 8)),
        ('cron "0 9 * * 0-2"', utc(2026, 11, 22, 12), utc(2026, 11, 23, 8)),
        ('cron "30 8 * * mon-fri"', utc(2026, 11, 27, 8), utc(2026, 11, 30, 7, 30)),
        ('cron "0 9 1 * *"', utc(2026, 11, 22), utc(2026, 12, 1, 8)),
        ('cron "*/15 9-10 * * *"', utc(2026, 11, 22, 9, 50), utc(2026, 11, 23, 8)),
    ],
)
def test_next_fire_time(text: str, after: datetime, expected: datetime) -> None:
    result = parse_schedule(text, anchor=ANCHOR).next_after(after, AMS)
    assert result == expected
    assert result is not None and result.tzinfo is UTC


def test_next_after_accepts_any_aware_datetime_and_rejects_naive() -> None:
    schedule = parse_schedule("every monday at 09:00")
    sunday_noon_local = datetime(2026, 11, 22, 13, tzinfo=AMS)
    assert schedule.next_after(sunday_noon_local, AMS) == utc(2026, 11, 23, 8)
    assert schedule.next_after(utc(2026, 11, 22, 12), ZoneInfo("America/New_York")) == utc(2026, 11, 23, 14)
    with pytest.raises(ValueError):
        schedule.next_after(datetime(2026, 11, 22, 12), AMS)


@pytest.mark.parametrize(
    ("expr", "dates"),
    [
        # Names followed by more text are read whole (APScheduler alone cut "nov-12" to "nov").
        ("0 9 10 nov-12 *", ["2026-12-10", "2027-11-10", "2027-12-10"]),
        ("0 9 1 jul-10 *", ["2027-07-01", "2027-08-01", "2027-09-01", "2027-10-01", "2028-07-01"]),
        ("0 9 1 feb-mar/2 *", ["2027-02-01", "2028-02-01"]),
        ("0 9 1 */5 *", ["2027-01-01", "2027-06-01", "2027-11-01", "2028-01-01"]),
        ("0 9 1 1-12/4,dec *", ["2026-12-01", "2027-01-01", "2027-05-01", "2027-09-01", "2027-12-01"]),
        # "sun" ends a range as 7 only after Sunday: sun-sun and 0-sun are Sundays only.
        ("0 9 * * sun-sun", ["2026-11-29", "2026-12-06", "2026-12-13"]),
        ("0 9 * * 0-sun", ["2026-11-29", "2026-12-06", "2026-12-13"]),
        ("0 9 * * mon-sun", ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28"]),
        ("0 9 * * sat-sun", ["2026-11-28", "2026-11-29", "2026-12-05", "2026-12-06"]),
        ("0 9 * * 5-sun", ["2026-11-27", "2026-11-28", "2026-11-29", "2026-12-04"]),
        ("0 9 * * 0-7/7", ["2026-11-29", "2026-12-06"]),
        ("0 9 * * */3", ["2026-11-25", "2026-11-28", "2026-11-29", "2026-12-02"]),  # 0, 3, 6: Sun, Wed, Sat
        ("0 9 * * 007", ["2026-11-29", "2026-12-06"]),
    ],
)
def test_cron_fields_are_read_whole_as_crontab_reads_them(expr: str, dates: list[str]) -> None:
    """crontab(5): numbers or three-letter names, ranges, lists and steps; 2026-11-22 is a Sunday."""
    schedule = parse_schedule(f'cron "{expr}"')
    fires: list[str] = []
    after = utc(2026, 11, 22, 12)
    for _ in dates:
        fire = schedule.next_after(after, AMS)
        assert fire is not None
        assert fire.astimezone(AMS).time() == time(9)
        fires.append(fire.astimezone(AMS).date().isoformat())
        after = fire
    assert fires == dates


def test_cron_names_never_reach_apscheduler() -> None:
    """APScheduler 3 reads names with re.match: it is given numbers and its own day names only."""
    trigger = parse_schedule('cron "0 9 * nov-12 mon-fri"').trigger(AMS)
    assert str(trigger) == (
        "wallclock[month='11-12', day='*', day_of_week='mon,tue,wed,thu,fri', hour='9', minute='0', "
        "second='0', timezone='Europe/Amsterdam']"
    )


def test_trigger_is_an_apscheduler_trigger_in_the_team_zone() -> None:
    trigger = parse_schedule("every monday at 09:00").trigger(AMS)
    assert isinstance(trigger, BaseTrigger)
    assert isinstance(trigger, WallClockTrigger)
    assert isinstance(trigger.cron, CronTrigger)
    fire = trigger.get_next_fire_time(None, utc(2026, 11, 22, 12))
    assert fire == datetime(2026, 11, 23, 9, tzinfo=AMS)
    assert fire is not None and fire.tzinfo is AMS


@pytest.mark.parametrize(
    "text",
    [
        "every monday at 09:00",
        "every 2 weeks on friday at 15:00 from 2026-11-27",
        "every month on the last friday at 09:00",
        'cron "0 9 * * 1-5"',
    ],
)
def test_trigger_survives_pickling(text: str) -> None:
    """APScheduler's job stores pickle triggers."""
    trigger = parse_schedule(text).trigger(AMS)
    copy = pickle.loads(pickle.dumps(trigger))
    assert repr(copy) == repr(trigger)
    start = utc(2026, 11, 1)
    end = utc(2027, 6, 1)
    assert scheduler_run(copy, start, end) == scheduler_run(trigger, start, end)


def test_scheduler_catches_up_missed_fire_times_in_order() -> None:
    """With a previous fire time and a later now, each call gives the next missed time."""
    trigger = parse_schedule("every day at 08:00").trigger(AMS)
    previous = datetime(2026, 11, 20, 8, tzinfo=AMS)
    now = utc(2026, 11, 23, 12)
    missed = []
    while (fire := trigger.get_next_fire_time(previous, now)) is not None and fire <= now:
        missed.append(fire.astimezone(UTC))
        previous = fire
    assert missed == [utc(2026, 11, 21, 7), utc(2026, 11, 22, 7), utc(2026, 11, 23, 7)]


# --- Daylight saving time -------------------------------------------------------------------


def test_weekly_ritual_keeps_its_local_time_when_summer_time_ends() -> None:
    schedule = parse_schedule("every sunday at 09:00")
    before, on_change, after = fires(schedule, utc(2026, 10, 12), 3)
    assert (before, on_change, after) == (
        utc(2026, 10, 18, 7),  # 09:00 CEST
        utc(2026, 10, 25, 8),  # 09:00 CET, on the day the clocks go back
        utc(2026, 11, 1, 8),
    )
    for fire in (before, on_change, after):
        assert fire.astimezone(AMS).time() == time(9, 0)
    assert before.astimezone(AMS).utcoffset() == timedelta(hours=2)
    assert on_change.astimezone(AMS).utcoffset() == timedelta(hours=1)


def test_weekly_ritual_keeps_its_local_time_when_summer_time_starts() -> None:
    schedule = parse_schedule("elke zondag om 09:00")
    before, on_change = fires(schedule, utc(2027, 3, 15), 2)
    assert (before, on_change) == (utc(2027, 3, 21, 8), utc(2027, 3, 28, 7))
    assert before.astimezone(AMS).utcoffset() == timedelta(hours=1)
    assert on_change.astimezone(AMS).utcoffset() == timedelta(hours=2)
    assert on_change.astimezone(AMS).time() == time(9, 0)
    monday = parse_schedule("every monday at 09:00")
    assert fires(monday, utc(2027, 3, 20), 2) == [utc(2027, 3, 22, 8), utc(2027, 3, 29, 7)]


def test_time_skipped_by_spring_forward_fires_an_hour_later_the_same_day() -> None:
    """02:30 does not exist on 2027-03-28 (02:00 CET jumps to 03:00 CEST): it fires at 03:30
    CEST, the moment the clock would have read 02:30 without the jump; never skipped."""
    schedule = parse_schedule("every day at 02:30")
    assert fires(schedule, utc(2027, 3, 26, 12), 3) == [
        utc(2027, 3, 27, 1, 30),  # 02:30 CET
        utc(2027, 3, 28, 1, 30),  # 03:30 CEST
        utc(2027, 3, 29, 0, 30),  # 02:30 CEST
    ]
    assert utc(2027, 3, 28, 1, 30).astimezone(AMS).time() == time(3, 30)
    # Asked from inside the jumped hour's aftermath (03:10 CEST), the 03:30 fire is still due.
    assert schedule.next_after(utc(2027, 3, 28, 1, 10), AMS) == utc(2027, 3, 28, 1, 30)
    # The scheduler sees the same times.
    trigger = schedule.trigger(AMS)
    run = scheduler_run(trigger, utc(2027, 3, 26, 12), utc(2027, 3, 29, 12))
    assert run == [utc(2027, 3, 27, 1, 30), utc(2027, 3, 28, 1, 30), utc(2027, 3, 29, 0, 30)]


def test_time_repeated_by_fall_back_fires_once_at_the_first_occurrence() -> None:
    """02:30 happens twice on 2026-10-25 (CEST, then CET): the ritual fires once, at 02:30 CEST."""
    schedule = parse_schedule("every day at 02:30")
    assert fires(schedule, utc(2026, 10, 24, 12), 2) == [
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 26, 1, 30),  # 02:30 CET the next day; not 01:30 UTC on the 25th
    ]
    # From inside the repeated hour (02:15 CET, the second pass) the next is the next day.
    assert schedule.next_after(utc(2026, 10, 25, 1, 15), AMS) == utc(2026, 10, 26, 1, 30)
    run = scheduler_run(schedule.trigger(AMS), utc(2026, 10, 24, 12), utc(2026, 10, 26, 12))
    assert run == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_cron_every_half_hour_through_both_changes() -> None:
    """Each wall-clock time fires once: the repeated hour is not run twice, the skipped hour's
    times fire at the shifted moment, which coincide with the real 03:00 and 03:30."""
    trigger = parse_schedule('cron "0,30 1-3 * * *"').trigger(AMS)
    autumn = scheduler_run(trigger, utc(2026, 10, 24, 22), utc(2026, 10, 25, 12))
    assert [f.astimezone(AMS).strftime("%H:%M%z") for f in autumn] == [
        "01:00+0200",
        "01:30+0200",
        "02:00+0200",
        "02:30+0200",
        "03:00+0100",
        "03:30+0100",
    ]
    spring = scheduler_run(trigger, utc(2027, 3, 27, 22), utc(2027, 3, 28, 12))
    assert [f.astimezone(AMS).strftime("%H:%M%z") for f in spring] == [
        "01:00+0100",
        "01:30+0100",
        "03:00+0200",
        "03:30+0200",
    ]


def test_midnight_after_a_dst_change_is_not_skipped() -> None:
    """APScheduler's own CronTrigger(timezone=...) fires a 00:30 Monday ritual in New York a day
    late after the March change; the wall-clock trigger does not."""
    new_york = ZoneInfo("America/New_York")
    schedule = parse_schedule("every monday and tuesday at 00:30")
    # Saturday 2026-03-07 evening; summer time starts Sunday 2026-03-08 at 02:00.
    after = datetime(2026, 3, 7, 22, tzinfo=new_york)
    assert schedule.next_after(after, new_york) == datetime(2026, 3, 9, 0, 30, tzinfo=new_york)


@st.composite
def weekly_cases(draw: st.DrawFn) -> tuple[Schedule, ZoneInfo, datetime]:
    tz = ZoneInfo(
        draw(
            st.sampled_from(
                [
                    "Europe/Amsterdam",
                    "America/New_York",
                    "America/Santiago",  # changes at midnight
                    "Australia/Lord_Howe",  # 30-minute change
                    "Pacific/Chatham",
                    "UTC",
                ]
            )
        )
    )
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    hour = draw(st.sampled_from([0, 1, 2, 3, 9, 23]) | st.integers(0, 23))
    minute = draw(st.sampled_from([0, 15, 30, 45]) | st.integers(0, 59))
    names = " and ".join(schedule_words._SPEC_DAYS[d] for d in sorted(days))
    schedule = parse_schedule(f"every {names} at {hour:02d}:{minute:02d}")
    # Around the 2026/2027 changes in these zones, or anywhere in between.
    changes = [
        date(2026, 3, 8),
        date(2026, 4, 5),
        date(2026, 9, 6),
        date(2026, 9, 27),
        date(2026, 10, 25),
        date(2026, 11, 1),
        date(2027, 3, 28),
    ]
    day = draw(st.sampled_from(changes))
    after = datetime.combine(day, time(), tzinfo=UTC) + timedelta(
        minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)), seconds=draw(st.integers(0, 59))
    )
    return schedule, tz, after


@settings(max_examples=300, deadline=None)
@given(weekly_cases())
def test_next_after_matches_the_documented_rule(case: tuple[Schedule, ZoneInfo, datetime]) -> None:
    """Brute force: each chosen day's HH:MM, taken with fold=0 (first occurrence if repeated,
    shifted by the jump if skipped); the answer is the earliest such moment after `after`."""
    schedule, tz, after = case
    moments = []
    start = after.astimezone(tz).date() - timedelta(days=2)
    for offset in range(12):
        day = start + timedelta(days=offset)
        if day.weekday() in schedule.weekdays:
            wall = datetime.combine(day, time(schedule.hour, schedule.minute), tzinfo=tz)
            moments.append(wall.astimezone(UTC))
    assert schedule.next_after(after, tz) == min(m for m in moments if m > after)


# --- Every N weeks --------------------------------------------------------------------------


def test_biweekly_spec_keeps_its_anchor() -> None:
    schedule = parse_schedule("every 2 weeks on friday at 15:00", anchor=ANCHOR)
    assert schedule.spec == "every 2 weeks on friday at 15:00 from 2026-11-27"
    assert schedule.every_weeks == 2
    assert schedule.anchor == date(2026, 11, 27)  # first Friday on or after the anchor
    assert parse_schedule(schedule.spec) == schedule
    assert parse_schedule(schedule.spec, anchor=date(2030, 1, 1)) == schedule
    for text in (
        "every other week on friday at 15:00",
        "every second week on friday at 15:00",
        "every two weeks on fri at 3pm",
        "elke 2 weken op vrijdag om 15:00",
        "om de week op vrijdag om 15:00",
        "om de twee weken op vrijdag om 15:00",
        "om de 2 weken op vrijdag om 15u",
    ):
        assert parse_schedule(text, anchor=ANCHOR) == schedule, text
    # An anchor on the Friday itself is kept; the day after moves a week on.
    assert parse_schedule(EXAMPLE_BIWEEKLY, anchor=date(2026, 11, 27)).anchor == date(2026, 11, 27)
    assert parse_schedule(EXAMPLE_BIWEEKLY, anchor=date(2026, 11, 28)).anchor == date(2026, 12, 4)
    # A from-date that is not a Friday starts on the next Friday.
    from_wednesday = parse_schedule("every 2 weeks on friday at 15:00 vanaf 2026-11-25")
    assert from_wednesday == schedule
    assert parse_schedule("every 2 weeks on friday at 15:00 from 27-11-2026") == schedule


def test_biweekly_default_anchor_is_today_in_utc() -> None:
    # 23:30 on Thursday 2026-11-26 in UTC is already Friday in Amsterdam: UTC's date counts.
    with time_machine.travel(utc(2026, 11, 26, 23, 30), tick=False):
        schedule = parse_schedule(EXAMPLE_BIWEEKLY)
    assert schedule.anchor == date(2026, 11, 27)
    with time_machine.travel(utc(2026, 11, 28, 10), tick=False):
        assert parse_schedule(EXAMPLE_BIWEEKLY).anchor == date(2026, 12, 4)


def test_biweekly_is_stable_across_year_end_and_dst() -> None:
    """Counted from the anchor, not from ISO weeks: 2026 has 53 ISO weeks, so ISO week parity
    would flip between 2026-12-25 (week 52) and 2027-01-08 (week 1)."""
    schedule = parse_schedule("every 2 weeks on friday at 15:00 from 2026-11-27")
    series = fires(schedule, utc(2026, 11, 1), 30)  # does not fire before the anchor
    local = [fire.astimezone(AMS) for fire in series]
    assert local[0].date() == date(2026, 11, 27)
    assert [d.date() for d in local[:6]] == [
        date(2026, 11, 27),
        date(2026, 12, 11),
        date(2026, 12, 25),
        date(2027, 1, 8),
        date(2027, 1, 22),
        date(2027, 2, 5),
    ]
    assert date(2026, 12, 25).isocalendar().week == 52
    assert date(2027, 1, 8).isocalendar().week == 1
    for earlier, later in pairwise(local):
        assert (later.date() - earlier.date()).days == 14
    assert all(d.time() == time(15, 0) and d.weekday() == 4 for d in local)
    # Across the start of summer time the wall clock stays 15:00 and UTC moves.
    assert date(2027, 3, 19) in [d.date() for d in local]
    assert schedule.next_after(utc(2027, 3, 10), AMS) == utc(2027, 3, 19, 14)
    assert schedule.next_after(utc(2027, 3, 20), AMS) == utc(2027, 4, 2, 13)
    # Asking from any moment gives a fire in the same series.
    for after in (utc(2027, 12, 20), utc(2028, 1, 3), utc(2028, 6, 30, 13, 30)):
        nxt = schedule.next_after(after, AMS)
        assert nxt is not None
        assert (nxt.astimezone(AMS).date() - date(2026, 11, 27)).days % 14 == 0


def test_biweekly_over_the_spring_forward_gap() -> None:
    schedule = parse_schedule("every 2 weeks on sunday at 02:30 from 2027-03-14")
    assert fires(schedule, utc(2027, 3, 1), 3) == [
        utc(2027, 3, 14, 1, 30),  # 02:30 CET
        utc(2027, 3, 28, 1, 30),  # 02:30 does not exist: 03:30 CEST
        utc(2027, 4, 11, 0, 30),  # 02:30 CEST
    ]


def test_every_n_weeks_on_several_days() -> None:
    # Anchor Thursday 2026-11-26; its week's Monday (11-23) is before the anchor.
    schedule = parse_schedule("every 2 weeks on monday and thursday at 09:00 from 2026-11-26")
    assert schedule.anchor == date(2026, 11, 26)
    assert [f.astimezone(AMS).date() for f in fires(schedule, utc(2026, 11, 1), 5)] == [
        date(2026, 11, 26),
        date(2026, 12, 7),
        date(2026, 12, 10),
        date(2026, 12, 21),
        date(2026, 12, 24),
    ]
    three = parse_schedule("every 3 weeks on wednesday at 10:00 from 2026-11-25")
    assert [f.astimezone(AMS).date() for f in fires(three, utc(2026, 11, 1), 3)] == [
        date(2026, 11, 25),
        date(2026, 12, 16),
        date(2027, 1, 6),
    ]
    # Every 1 week is plain weekly, without an anchor.
    assert parse_schedule("every 1 week on monday at 09:00") == parse_schedule("every monday at 09:00")


# --- Canonical specs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("every monday at 09:00", "every monday at 09:00"),
        ("Elke Maandag om 9:00", "every monday at 09:00"),
        ("every weekday at 16:30", "every weekday at 16:30"),
        (
            "every monday, tuesday, wednesday, thursday and friday at 16:30",
            "every weekday at 16:30",
        ),
        ("elke werkdagen om 16:30", "every weekday at 16:30"),
        ("every weekend at 10:00", "every saturday and sunday at 10:00"),
        ("elke weekenddag om 10u", "every saturday and sunday at 10:00"),
        (
            "om de week op werkdagen om 9:00",
            "every 2 weeks on monday, tuesday, wednesday, thursday and friday at 09:00 from 2026-11-23",
        ),
        ("every day at 8:00", "every day at 08:00"),
        ("elke dag om 8u", "every day at 08:00"),
        ("every thursday and monday at 09:00", "every monday and thursday at 09:00"),
        ("every mon, wed & fri at 9:00", "every monday, wednesday and friday at 09:00"),
        ("every month on the first tuesday at 09:00", "every month on the first tuesday at 09:00"),
        ("every month on the 2nd thu at 09:00", "every month on the second thursday at 09:00"),
        ("elke maand op de vierde vrijdag om 09:00", "every month on the fourth friday at 09:00"),
        ("every month on the first day at 09:00", "every month on day 1 at 09:00"),
        ("every month on day 15 at 09:00", "every month on day 15 at 09:00"),
        ("every month on the last day at 09:00", "every month on the last day at 09:00"),
        ('cron "0 9 * * 1"', 'cron "0 9 * * 1"'),
        ("cron '0  9 * *   1'", 'cron "0 9 * * 1"'),
        ("every monday at 09:00 open 2d", "every monday at 09:00 open 2d"),
        ("every monday at 09:00, open for 48 hours", "every monday at 09:00 open 2d"),
        ("every monday at 09:00 open 14d", "every monday at 09:00 open 2w"),
        ("every monday at 09:00 open 90m", "every monday at 09:00 open 90m"),
        ("elke maandag om 09:00 open 2 dagen", "every monday at 09:00 open 2d"),
        ("elke maandag om 09:00 open 4 uur", "every monday at 09:00 open 4h"),
        ('cron "0 9 * * 1" open 1w', 'cron "0 9 * * 1" open 1w'),
        (
            "every 2 weeks on friday at 15:00 open 1d",
            "every 2 weeks on friday at 15:00 from 2026-11-27 open 1d",
        ),
    ],
)
def test_spec_is_canonical_and_round_trips(text: str, spec: str) -> None:
    schedule = parse_schedule(text, anchor=ANCHOR)
    assert schedule.spec == spec
    assert parse_schedule(schedule.spec) == schedule
    assert parse_schedule(schedule.spec.upper()) == schedule


def test_schedule_fields() -> None:
    weekly = parse_schedule("every monday and thursday at 09:05 open 4h")
    assert weekly.kind is ScheduleKind.WEEKLY
    assert (weekly.weekdays, weekly.hour, weekly.minute) == ((0, 3), 9, 5)
    assert weekly.open_for == timedelta(hours=4)
    assert weekly.anchor is None and weekly.every_weeks == 1
    monthly = parse_schedule("every month on the last friday at 09:00")
    assert (monthly.kind, monthly.nth, monthly.weekdays) == (ScheduleKind.MONTHLY, -1, (4,))
    assert parse_schedule("every month on day 15 at 09:00").month_day == 15
    cron = parse_schedule('cron "0 9 * * 1"')
    assert (cron.kind, cron.cron, cron.open_for) == (ScheduleKind.CRON, "0 9 * * 1", None)


# --- Descriptions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english", "dutch"),
    [
        ("every monday at 09:00", "every Monday at 09:00", "elke maandag om 09:00"),
        ("every weekday at 16:30", "every weekday at 16:30", "elke werkdag om 16:30"),
        ("every day at 08:00", "every day at 08:00", "elke dag om 08:00"),
        (
            "every monday and thursday at 09:00",
            "every Monday and Thursday at 09:00",
            "elke maandag en donderdag om 09:00",
        ),
        (
            "every monday, wednesday and friday at 09:00",
            "every Monday, Wednesday and Friday at 09:00",
            "elke maandag, woensdag en vrijdag om 09:00",
        ),
        (
            "every 2 weeks on friday at 15:00",
            "every 2 weeks on Friday at 15:00",
            "om de twee weken op vrijdag om 15:00",
        ),
        (
            "every 3 weeks on tuesday at 10:00",
            "every 3 weeks on Tuesday at 10:00",
            "om de 3 weken op dinsdag om 10:00",
        ),
        (
            "every month on the first tuesday at 09:00",
            "every month on the first Tuesday at 09:00",
            "elke maand op de eerste dinsdag om 09:00",
        ),
        (
            "every month on the last sunday at 09:00",
            "every month on the last Sunday at 09:00",
            "elke maand op de laatste zondag om 09:00",
        ),
        (
            "every month on day 15 at 09:00",
            "every month on day 15 at 09:00",
            "elke maand op de 15e om 09:00",
        ),
        (
            "every month on the last day at 17:00",
            "every month on the last day at 17:00",
            "elke maand op de laatste dag om 17:00",
        ),
        ('cron "0 9 * * 1"', 'cron "0 9 * * 1"', 'cron "0 9 * * 1"'),
        (
            "every monday at 09:00 open 2d",
            "every Monday at 09:00, open for 2 days",
            "elke maandag om 09:00, 2 dagen open",
        ),
        (
            "every monday at 09:00 open 1d",
            "every Monday at 09:00, open for 1 day",
            "elke maandag om 09:00, 1 dag open",
        ),
        (
            "every weekday at 16:30 open 90m",
            "every weekday at 16:30, open for 90 minutes",
            "elke werkdag om 16:30, 90 minuten open",
        ),
        (
            "every day at 08:00 open 4h",
            "every day at 08:00, open for 4 hours",
            "elke dag om 08:00, 4 uur open",
        ),
        (
            "every saturday at 08:00 open 1w",
            "every Saturday at 08:00, open for 1 week",
            "elke zaterdag om 08:00, 1 week open",
        ),
    ],
)
def test_describe(text: str, english: str, dutch: str) -> None:
    schedule = parse_schedule(text, anchor=ANCHOR)
    assert schedule.describe(EN) == english
    assert schedule.describe(NL) == dutch


# --- Durations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2d", timedelta(days=2)),
        ("4h", timedelta(hours=4)),
        ("30m", timedelta(minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("1w", timedelta(weeks=1)),
        ("2 dagen", timedelta(days=2)),
        ("1 dag", timedelta(days=1)),
        ("4 uur", timedelta(hours=4)),
        ("3 days", timedelta(days=3)),
        ("2 hours", timedelta(hours=2)),
        ("1 week", timedelta(weeks=1)),
        ("2 weken", timedelta(weeks=2)),
        ("30 minuten", timedelta(minutes=30)),
        ("45 min", timedelta(minutes=45)),
        ("1d 12h", timedelta(hours=36)),
        ("1 day and 2 hours", timedelta(hours=26)),
        ("an hour", timedelta(hours=1)),
        ("twee dagen", timedelta(days=2)),
        (" 2D ", timedelta(days=2)),
        ("365d", timedelta(days=365)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("", E_MISSING_DURATION),
        ("2", E_BAD_DURATION),
        ("d", E_BAD_DURATION),
        ("2 fortnights", E_BAD_DURATION),
        ("1.5h", E_BAD_DURATION),
        ("-2d", E_BAD_DURATION),
        ("99999999999999999999d", E_BAD_DURATION),
        ("0m", E_SHORT_DURATION),
        ("366d", E_LONG_DURATION),
        ("53w", E_LONG_DURATION),
    ],
)
def test_parse_duration_errors(text: str, msgid: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_duration(text)
    assert caught.value.msgid == msgid
    assert parse_schedule(caught.value.example).open_for is not None


def test_open_window_on_every_kind() -> None:
    cases = {
        "every monday at 09:00 open 2d": timedelta(days=2),
        "every weekday at 16:30 open 4h": timedelta(hours=4),
        "elke dag om 08:00 open 90m": timedelta(minutes=90),
        "every 2 weeks on friday at 15:00 open 1w": timedelta(weeks=1),
        "elke maand op de eerste dinsdag om 09:00 open 2 dagen": timedelta(days=2),
        "every month on day 15 at 09:00 open for 3 days": timedelta(days=3),
        'cron "0 9 * * 1" open 30m': timedelta(minutes=30),
    }
    for text, expected in cases.items():
        assert parse_schedule(text, anchor=ANCHOR).open_for == expected, text
    assert parse_schedule("every monday at 09:00").open_for is None


# --- Errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "msgid", "params"),
    [
        ("", E_EMPTY, {}),
        ("   \n\t ", E_EMPTY, {}),
        ("every funday at 25:00", E_UNKNOWN_DAY, {"day": "funday"}),
        ("elke maandg om 09:00", E_UNKNOWN_DAY, {"day": "maandg"}),
        ("every monday and funday at 09:00", E_UNKNOWN_DAY, {"day": "funday"}),
        ("every 2 weeks on funday at 09:00", E_UNKNOWN_DAY, {"day": "funday"}),
        ("every month on the first funday at 09:00", E_UNKNOWN_DAY, {"day": "funday"}),
        ("every monday at 25:00", E_BAD_TIME, {"time": "25:00"}),
        ("every monday at 24:00", E_BAD_TIME, {"time": "24:00"}),
        ("every monday at 9:60", E_BAD_TIME, {"time": "9:60"}),
        ("every monday at 9:5", E_BAD_TIME, {"time": "9:5"}),
        ("every monday at 13pm", E_BAD_TIME, {"time": "13pm"}),
        ("every monday at noon", E_BAD_TIME, {"time": "noon"}),
        ("elke maandag om 123:00", E_BAD_TIME, {"time": "123:00"}),
        ("every monday", E_MISSING_TIME, {}),
        ("every monday at", E_MISSING_TIME, {}),
        ("elke maandag om", E_MISSING_TIME, {}),
        ("every month on day 15", E_MISSING_TIME, {}),
        ("every 2 weeks at 15:00", E_MISSING_DAY, {}),
        ('cron "0 9 * *"', E_BAD_CRON, {"expr": "0 9 * *"}),
        ('cron "0 9 * * * *"', E_BAD_CRON, {"expr": "0 9 * * * *"}),
        ('cron "61 9 * * 1"', E_CRON_MINUTE, {"value": "61"}),
        ('cron "0 24 * * 1"', E_CRON_HOUR, {"value": "24"}),
        ('cron "0 9 0 * *"', E_CRON_DAY, {"value": "0"}),
        ('cron "0 9 * 13 *"', E_CRON_MONTH, {"value": "13"}),
        ('cron "0 9 * * 8"', E_CRON_WEEKDAY, {"value": "8"}),
        ('cron "0 9 * * fri-mon"', E_CRON_BACKWARDS, {"range": "fri-mon"}),
        ('cron "0 9 1 nov-feb *"', E_CRON_BACKWARDS, {"range": "nov-feb"}),
        ('cron "0 9 * * 1#2"', E_CRON_WEEKDAY, {"value": "1#2"}),
        ('cron "0 9 * * 5l"', E_CRON_WEEKDAY, {"value": "5l"}),
        ('cron "0 9 l * *"', E_CRON_DAY, {"value": "l"}),
        ('cron "0 9 15w * *"', E_CRON_DAY, {"value": "15w"}),
        ('cron "0 9 ? * 1"', E_CRON_DAY, {"value": "?"}),
        ('cron "0 9 last * *"', E_CRON_DAY, {"value": "last"}),
        ('cron "0 9 lastfoo * *"', E_CRON_DAY, {"value": "lastfoo"}),
        ('cron "0 9 10 november *"', E_CRON_MONTH, {"value": "november"}),
        ('cron "0 9 10 nov12 *"', E_CRON_MONTH, {"value": "nov12"}),
        ('cron "0 9 * * monday"', E_CRON_WEEKDAY, {"value": "monday"}),
        ('cron "0 9 * * ma"', E_CRON_WEEKDAY, {"value": "ma"}),
        ('cron "0 9 1,,15 * *"', E_CRON_DAY, {"value": "1,,15"}),
        ('cron "0 9,  * * *"', E_CRON_HOUR, {"value": "9,"}),
        ('cron "0 9 * * ٣"', E_CRON_WEEKDAY, {"value": "٣"}),
        ('cron "*/0 9 * * *"', E_CRON_STEP, {"item": "*/0"}),
        ('cron "1-5/x 9 * * *"', E_CRON_STEP, {"item": "1-5/x"}),
        ('cron "5/15 9 * * *"', E_CRON_BARE_STEP, {"item": "5/15", "fix": "5-59/15"}),
        ('cron "0 9 1 jan/3 *"', E_CRON_BARE_STEP, {"item": "jan/3", "fix": "jan-dec/3"}),
        ('cron "0 9 * * mon/2"', E_CRON_BARE_STEP, {"item": "mon/2", "fix": "mon-sun/2"}),
        ('cron "0 9 * * sun/2"', E_CRON_BARE_STEP, {"item": "sun/2", "fix": "sun-sat/2"}),
        ('cron "a b c d e"', E_CRON_MINUTE, {"value": "a"}),
        ('cron "@daily"', E_BAD_CRON, {"expr": "@daily"}),
        ("cron", E_BAD_CRON, {"expr": "cron"}),
        ('cron "0 9 31 2 *"', E_CRON_NEVER, {"expr": "0 9 31 2 *"}),
        ('cron "0 9 1 * 1"', E_CRON_BOTH_DAYS, {}),
        ("hello", E_UNKNOWN, {"text": "hello"}),
        ("every monday at 09:00 please", E_UNKNOWN, {"text": "every monday at 09:00 please"}),
        ("every monday at 09:00 from 2026-11-27", E_UNKNOWN, {}),
        ("om de dag om 09:00", E_UNKNOWN, {}),
        ("every month on the fifth monday at 09:00", E_UNKNOWN, {}),
        ("open 2d", E_UNKNOWN, {}),
        ("every month on day 32 at 09:00", E_BAD_MONTH_DAY, {"day": "32"}),
        ("every month on day 0 at 09:00", E_BAD_MONTH_DAY, {"day": "0"}),
        ("every 0 weeks on friday at 09:00", E_BAD_WEEKS, {}),
        ("every 53 weeks on friday at 09:00", E_BAD_WEEKS, {}),
        ("every 2 weeks on friday at 09:00 from 2026-02-30", E_BAD_DATE, {"date": "2026-02-30"}),
        ("every 2 weeks on friday at 09:00 from tomorrow", E_BAD_DATE, {"date": "tomorrow"}),
        ("every 2 weeks on friday at 09:00 from 9999-12-31", E_BAD_DATE, {}),
        ("every monday at 09:00 open", E_MISSING_DURATION, {}),
        ("every monday at 09:00 open soon", E_BAD_DURATION, {"text": "soon"}),
        ("every monday at 09:00 open 0m", E_SHORT_DURATION, {}),
        ("every monday at 09:00 open 400d", E_LONG_DURATION, {}),
    ],
)
def test_errors(text: str, msgid: str, params: dict[str, object]) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    error = caught.value
    assert error.msgid == msgid
    assert params.items() <= error.params.items()
    assert str(error) == msgid.format(**error.params)
    assert isinstance(error, ValueError)
    parse_schedule(error.example)  # the example shown to the user parses
    # Every error message reads in Dutch too.
    assert NL(error.msgid, **error.params) != EN(error.msgid, **error.params)


def test_error_text_is_kept_short() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("blah " * 100)
    assert len(str(caught.value.params["text"])) <= 40


def test_error_examples_fit_the_mistake() -> None:
    def example(text: str) -> str:
        with pytest.raises(ScheduleError) as caught:
            parse_schedule(text)
        return caught.value.example

    assert example('cron "0 9 * *"').startswith("cron ")
    assert example("every month on day 32 at 09:00").startswith("every month")
    assert example("every 2 weeks on funday at 09:00").startswith("every 2 weeks")
    assert "open" in example("every monday at 09:00 open soon")


# --- Any input ------------------------------------------------------------------------------


def check_any(text: str) -> None:
    try:
        schedule = parse_schedule(text, anchor=ANCHOR)
    except ScheduleError as error:
        assert isinstance(error.msgid, str) and isinstance(error.params, dict)
        assert isinstance(error.example, str)
        return
    assert isinstance(schedule, Schedule)
    assert parse_schedule(schedule.spec) == schedule
    assert schedule.describe(EN) and schedule.describe(NL)
    schedule.next_after(utc(2026, 11, 22, 12), AMS)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_gives_a_schedule_or_a_schedule_error(text: str) -> None:
    check_any(text)


WORDS = [
    "every", "elke", "om", "de", "the", "on", "op", "at", "and", "en", ",", "of", "van",
    "monday", "maandag", "ma", "fri", "vrijdag", "sundays", "funday", "day", "dag",
    "weekday", "werkdag", "week", "weeks", "weken", "other", "2", "0", "53", "twee",
    "month", "maand", "first", "eerste", "last", "laatste", "15", "15e", "31st", "32",
    "9:00", "09:00", "9.00", "9u", "9am", "12pm", "25:00", "9:60", "uur", "from", "vanaf",
    "2026-11-27", "2026-02-30", "27-11-2026", "open", "for", "2d", "4", "uur", "90m",
    "0m", "400d", "cron", '"0 9 * * 1"', "'*/5 * * * 0-7'", '"0 9 31 2 *"', '"1 2 3"',
    "9999999999999999999999", "\x00", "İ", "٣", "²", "ﬀ",
]  # fmt: skip


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join))
def test_any_word_soup_gives_a_schedule_or_a_schedule_error(text: str) -> None:
    check_any(text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_duration_gives_a_timedelta_or_a_schedule_error(text: str) -> None:
    try:
        result = parse_duration(text)
    except ScheduleError:
        return
    assert timedelta(minutes=1) <= result <= timedelta(days=365)


# --- Catalogs and boundaries ----------------------------------------------------------------


def _source_msgids() -> set[str]:
    modules = (schedule_module, schedule_words, schedule_grammar)
    source = "\n".join(Path(m.__file__).read_text(encoding="utf-8") for m in modules if m.__file__)
    found = re.findall(r"""\b(?:N_|_)\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""", source)
    return {double or single.replace("\\'", "'") for double, single in found}


def test_every_message_is_in_both_catalogs() -> None:
    msgids = _source_msgids()
    assert "Unknown day: {day}" in msgids and 'cron "{expr}"' in msgids
    for lang in ("en", "nl"):
        with catalog_path(lang, "messages").open("rb") as fh:
            catalog = {m.id: m.string for m in read_po(fh) if m.id}
        missing = sorted(m for m in msgids if not catalog.get(m))
        assert not missing, (lang, missing)
        if lang == "en":
            assert all(catalog[m] == m for m in msgids)


def test_dutch_descriptions_use_no_english_words() -> None:
    english = re.compile(r"\b(every|on|at|and|open for|weeks|days?|month|first|last)\b")
    for day in schedule_words._SPEC_DAYS:
        for text in (
            f"every {day} at 09:00 open 2d",
            f"every 2 weeks on {day} and monday at 09:00",
            f"every month on the last {day} at 09:00 open 1w",
        ):
            described = parse_schedule(text, anchor=ANCHOR).describe(NL)
            assert not english.search(described), described
            assert not re.search(r"[A-Z]", described), described


def test_module_stays_free_of_platform_and_storage_imports() -> None:
    code = (
        "import sys, rituals.schedule; "
        "bad = {'slack_sdk', 'slack_bolt', 'botbuilder', 'aiohttp', 'sqlalchemy'}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))"
    )
    root = Path(schedule_module.__file__).parents[1]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
