"""The school year: rotation through a theme, the year plan, school holidays from a calendar."""

from __future__ import annotations

import base64
import random
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.server import ENGINE
from rituals.kinds.base import PlanContext
from rituals.kinds.goal import Goal
from rituals.kinds.reflection import Reflection
from rituals.library import QUARTERLY_GOAL_QUESTIONS, THEMES
from rituals.ports import TeamView
from rituals.school_calendar import CalendarError, HolidayPeriod, read_calendar
from tests.fakes.calendars import ICS
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground
from tests.fakes.teams import team_view

AMS = ZoneInfo("Europe/Amsterdam")


def team(**settings: object) -> TeamView:
    return team_view(language="nl", holiday_country="NL", **settings)


def test_reflection_rotates_through_a_theme_without_repeats() -> None:
    kind, rng, history = Reflection(), random.Random(3), []
    theme = THEMES["safety"]
    for _round in range(2):
        asked = []
        for _ in theme.questions:
            content = kind.plan(
                PlanContext(
                    team=team(themes=["veiligheid"]),
                    options={},
                    day=date(2026, 11, 23),
                    history=tuple(reversed(history)),
                    rng=rng,
                )
            )
            assert content["theme"] == "safety"
            asked.append(content["question"])
            history.append(content)
        assert sorted(asked) == sorted(theme.questions)  # every question once before any repeats


def test_team_questions_join_the_rotation() -> None:
    kind, history = Reflection(), []
    own = "What did a pupil teach you this week?"
    for _ in range(len(THEMES["learning"].questions) + 1):
        content = kind.plan(
            PlanContext(
                team=team(themes=["learning"], questions=[own]),
                options={},
                day=date(2026, 11, 23),
                history=tuple(reversed(history)),
                rng=random.Random(1),
            )
        )
        history.append(content)
    assert own in [h["question"] for h in history]


def test_year_plan_period_selects_the_theme() -> None:
    plan = [
        {"start": "2026-09-01", "end": "2026-10-31", "theme": "interdependence"},
        {"start": "2026-11-01", "end": "2026-12-20", "theme": "happiness"},
    ]
    kind = Reflection()
    for day, expected in ((date(2026, 10, 5), "interdependence"), (date(2026, 11, 23), "happiness")):
        content = kind.plan(
            PlanContext(team=team(plan=plan, themes=["safety"]), options={}, day=day, rng=random.Random(0))
        )
        assert content["theme"] == expected
    content = kind.plan(
        PlanContext(team=team(plan=plan, themes=["safety"]), options={}, day=date(2027, 1, 11), rng=random.Random(0))
    )
    assert content["theme"] == "safety"


def test_goal_asks_a_quarterly_team_reflection_once_at_the_start_of_a_quarter() -> None:
    goal, history = Goal(), []
    for day in (date(2026, 12, 28), date(2027, 1, 4), date(2027, 1, 11), date(2027, 2, 1)):
        content = goal.plan(
            PlanContext(team=team(), options={}, day=day, history=tuple(reversed(history)), rng=random.Random(0))
        )
        history.append(content)
    assert [bool(h.get("quarterly")) for h in history] == [False, True, False, False]
    assert history[1]["question"] in QUARTERLY_GOAL_QUESTIONS


def test_ics_periods_are_inclusive_and_bad_files_are_refused() -> None:
    years = (date(2026, 8, 1), date(2028, 7, 31))
    assert read_calendar(ICS, tz=AMS, years=years) == [
        HolidayPeriod(first=date(2026, 11, 30), last=date(2026, 11, 30), name="Studiedag"),
        HolidayPeriod(first=date(2026, 12, 21), last=date(2027, 1, 1), name="Kerstvakantie"),
    ]
    with pytest.raises(CalendarError):
        read_calendar(b"this is not a calendar", tz=AMS, years=years)


async def test_imported_school_holidays_skip_prompts_and_show_in_list(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add reflection every monday at 09:00")
    refused = await pg.command("anna", "holiday import")
    assert refused["title"] == "That did not work" and ".ics" in refused["text"]
    resp = await pg.client.post(
        "/playground/api/command",
        json={
            "user": "anna",
            "text": "holiday import",
            "files": [{"name": "schoolvakanties.ics", "content_base64": base64.b64encode(ICS).decode()}],
        },
    )
    reply = (await resp.json())["reply"]
    assert reply["title"] == "Holidays imported" and "Holiday periods added: 2;" in reply["text"]
    clock.set(datetime(2026, 11, 30, 9, 0, 1, tzinfo=AMS))  # the study day
    await pg.app[ENGINE].tick()
    assert await pg.prompts() == []
    listing = await pg.command("anna", "list")
    assert "skipped Mon 30 Nov (Studiedag)" in listing["fields"][0][1]
    holidays = await pg.command("anna", "holiday list")
    assert ["2026-12-21..2027-01-01", "Kerstvakantie"] in holidays["fields"]


async def test_plan_commands(pg: Playground, clock: Clock) -> None:
    added = await pg.command("anna", "plan add 2026-11-01..2026-12-20 werkgeluk")
    assert added["title"] == "Year plan updated"
    assert (await pg.command("anna", "plan list"))["fields"] == [["2026-11-01..2026-12-20", "Work happiness"]]
    await pg.command("anna", "add reflection every monday at 09:00")
    clock.set(datetime(2026, 11, 23, 9, 0, 1, tzinfo=AMS))
    await pg.app[ENGINE].tick()
    (prompt,) = await pg.prompts()
    assert "Work happiness" in prompt["intro"]
    bad = await pg.command("anna", "plan add 2026-11-01..2026-12-20 astrology")
    assert bad["title"] == "That did not work"
    assert (await pg.command("anna", "plan remove 2026-11-01..2026-12-20"))["title"] == "Year plan updated"
    assert (await pg.command("chris", "plan list"))["title"] == "Not allowed"
