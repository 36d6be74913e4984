"""A school year simulated under an injected clock: a plan of three periods with a theme and a
learning goal each, a weekly reflection, a weekly goal ritual and a fortnightly meeting
check-out, with school holidays. Time moves by hand, day by day; nothing sleeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.server import ENGINE
from rituals.calendar import public_holiday
from rituals.kinds.base import PlanContext
from rituals.kinds.checkout import Checkout
from rituals.kinds.reflection import Reflection
from rituals.library import (
    END_OF_YEAR_QUESTIONS,
    KICKOFF_QUESTIONS,
    MIDYEAR_QUESTION,
    PERIOD_END_QUESTION,
    PERIOD_GOAL_QUESTIONS,
    THEMES,
)
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground
from tests.fakes.teams import team_view

AMS = ZoneInfo("Europe/Amsterdam")

PERIODS = (  # (first day, last day, theme, learning goal)
    (date(2026, 8, 31), date(2026, 12, 18), "safety", "Everyone gets a turn to speak"),
    (date(2027, 1, 4), date(2027, 3, 26), "learning", "We visit each other's classrooms"),
    (date(2027, 4, 6), date(2027, 7, 9), "interdependence", "We make one series of lessons together"),
)
HOLIDAYS = (
    (date(2026, 10, 19), date(2026, 10, 23)),  # autumn
    (date(2026, 12, 21), date(2027, 1, 1)),  # Christmas
    (date(2027, 2, 22), date(2027, 2, 26)),  # spring
    (date(2027, 4, 26), date(2027, 5, 7)),  # May
)


@dataclass
class Year:
    """What the team saw: each prompt with the day it came, by ritual."""

    prompts: dict[str, list[tuple[date, dict[str, Any]]]] = field(default_factory=dict)
    notices: list[dict[str, Any]] = field(default_factory=list)


def period_of(day: date) -> tuple[date, date, str, str] | None:
    return next((p for p in PERIODS if p[0] <= day <= p[1]), None)


def on_holiday(day: date) -> bool:
    """A school holiday of the team, or a public holiday of the Netherlands (the playground
    team's country): Easter Monday, Whit Monday."""
    return any(a <= day <= b for a, b in HOLIDAYS) or public_holiday("NL", day) is not None


async def live_a_year(pg: Playground, clock: Clock) -> Year:
    clock.set(datetime(2026, 8, 24, 12, 0, tzinfo=AMS))
    for first, last, theme, goal in PERIODS:
        reply = await pg.command("anna", f"plan add {first.isoformat()}..{last.isoformat()} {theme} {goal}")
        assert reply["title"] == "Year plan updated", reply
    for a, b in HOLIDAYS:
        assert (await pg.command("anna", f"holiday add {a.isoformat()}..{b.isoformat()}"))["title"] != "Not allowed"
    assert (await pg.command("anna", "add reflection every monday at 09:00"))["title"] == "Ritual #1 added"
    assert (await pg.command("anna", "add goal every friday at 15:00"))["title"] == "Ritual #2 added"
    assert (await pg.command("anna", "add checkout every 2 weeks on wednesday at 16:30"))["title"] == "Ritual #3 added"
    year, seen = Year(), 0  # the id of the last message read: the page shows the latest 200 only
    day = date(2026, 8, 31)
    while day <= date(2027, 7, 16):
        if day == date(2027, 6, 30):  # the teamleider goes first in the year's last reflection
            clock.set(datetime.combine(day, datetime.min.time(), AMS).replace(hour=12))
            reply = await pg.command("bram", "first #1 I am proud of how we opened our classrooms to each other")
            assert reply["title"] == "You go first", reply
        for hour, minute in ((9, 0), (15, 0), (16, 30)):
            clock.set(datetime(day.year, day.month, day.day, hour, minute, 1, tzinfo=AMS))
            await pg.app[ENGINE].tick()
        await pg.deliver()
        for message in (await pg.state("chris"))["messages"]:
            payload = message["payload"]
            if message["id"] <= seen:
                continue
            seen = message["id"]
            if payload["type"] == "prompt" and not message["private"]:  # not a reminder
                year.prompts.setdefault(payload["title"].split(" ", 1)[1], []).append((day, payload))
            elif payload["type"] == "notice" and not message["private"]:
                year.notices.append(payload)
        day += timedelta(days=1)
    return year


def labels(prompt: dict[str, Any]) -> list[str]:
    return [i["label"] for i in prompt["inputs"]]


async def test_a_school_year_keeps_its_themes_goals_moments_and_holidays(pg: Playground, clock: Clock) -> None:
    year = await live_a_year(pg, clock)
    reflections = year.prompts["Reflection"]

    # Holidays skipped: no round on a holiday, and every other Monday in a period has one.
    days = [d for d, _p in reflections]
    assert not [d for d in days if on_holiday(d)]
    mondays = [PERIODS[0][0] + timedelta(weeks=n) for n in range(46)]
    assert days == [d for d in mondays if not on_holiday(d)]

    for day, prompt in reflections:
        if period_of(day) is None:  # between periods and after the last: the focus of six weeks
            assert "learning goal" not in prompt["intro"] and "learning goal" not in labels(prompt)[0]

    for day, prompt in [(d, p) for d, p in reflections if period_of(d)]:
        first, last, theme, goal = period_of(day)  # type: ignore[misc]
        # The reflection stays on the period's theme, and its learning goal is in every prompt.
        assert THEMES[theme].name in prompt["intro"], (day, prompt["intro"])
        asked = labels(prompt)
        in_period = [d for d, _p in reflections if first <= d <= last]
        if day == in_period[-1]:  # asked about at its end
            if last == PERIODS[-1][1]:
                assert asked == list(END_OF_YEAR_QUESTIONS), day
            else:
                assert asked == [PERIOD_END_QUESTION.format(goal=goal)]
        else:
            assert f"Our learning goal this period: {goal}" in prompt["intro"], (day, prompt["intro"])

    # The moments of the year: kickoff first, the good intentions come back in the middle.
    assert labels(reflections[0][1]) == list(KICKOFF_QUESTIONS)
    assert reflections[0][0] == date(2026, 8, 31) and "A new school year begins" in reflections[0][1]["intro"]
    (midyear,) = [(d, p) for d, p in reflections if labels(p) == [MIDYEAR_QUESTION]]
    assert midyear[0] == date(2027, 1, 4)
    end_day, end = [(d, p) for d, p in reflections if period_of(d)][-1]
    assert end_day == date(2027, 7, 5) and "The school year is nearly over" in end["intro"]
    assert end["intro"].startswith(
        "Bram goes first: \u201cI am proud of how we opened our classrooms to each other\u201d"
    )
    assert sum("goes first" in p["intro"] for _d, p in reflections) == 1  # once, not every round after

    # Within a period the theme's questions go deeper in the library's order.
    safety = [labels(p)[0] for d, p in reflections if period_of(d) == PERIODS[0]][1:4]
    assert safety == [str(q) for q in THEMES["safety"].questions[:3]]

    # The goal ritual looks back at the end of each period, not in calendar quarters.
    look_backs = [d for d, p in year.prompts["Our shared goal"] if labels(p)[0] in PERIOD_GOAL_QUESTIONS]
    # 2027-03-26 is Good Friday, a public holiday: the last round of the second period is the 19th.
    assert look_backs == [date(2026, 12, 18), date(2027, 3, 19), date(2027, 7, 9)]

    # The meeting check-out brings back the theme's discussion questions, one per meeting in turn.
    checkouts = year.prompts["Meeting check-out"]
    assert checkouts and not [d for d, _p in checkouts if on_holiday(d)]
    for day, prompt in checkouts:
        period = period_of(day)
        if period is None:
            assert "For our next meeting" not in prompt["intro"]
            continue
        theme = THEMES[period[2]]
        assert f"For our next meeting ({theme.name}): " in prompt["intro"]
        assert any(q in prompt["intro"] for q in theme.discussion)
    first_three = [p["intro"].split("): ", 1)[1] for d, p in checkouts if period_of(d) == PERIODS[0]][:3]
    assert first_three == [str(q) for q in THEMES["safety"].discussion]

    # The end of the year closes with a call for an appreciation round before the summer.
    assert any("Before the summer" in n["text"] for n in year.notices)


def test_a_look_back_missed_on_a_holiday_comes_in_the_first_round_after() -> None:
    plan = [{"start": "2026-11-02", "end": "2026-11-27", "theme": "safety", "goal": "We listen first"}]
    history = ({"theme": "safety", "period": "2026-11-02", "since": "2026-11-02", "question": "q"},)
    ctx = PlanContext(team=team_view(plan=plan), options={}, day=date(2026, 11, 30), history=history)
    content = Reflection().plan(ctx)
    assert content["moment"] == "end_of_year" and content["looks_back"] == "2026-11-02"  # its year's only period
    plan.append({"start": "2026-12-07", "end": "2027-03-26", "theme": "learning"})  # the same school year
    content = Reflection().plan(ctx)
    assert (content["moment"], content["question"], content["goal"]) == (
        "period_end",
        PERIOD_END_QUESTION,
        "We listen first",
    )
    later = PlanContext(team=team_view(plan=plan), options={}, day=date(2026, 12, 3), history=(content, *history))
    assert "moment" not in Reflection().plan(later)  # asked once
    too_late = PlanContext(team=team_view(plan=plan), options={}, day=date(2026, 12, 14), history=history)
    assert "looks_back" not in Reflection().plan(too_late)  # more than two weeks on, the moment has passed


def test_the_kickoff_comes_only_at_the_start_of_the_year() -> None:
    plan = [{"start": "2026-08-31", "end": "2026-12-18", "theme": "safety"}]
    for day, expected in ((date(2026, 9, 7), "kickoff"), (date(2026, 10, 5), None)):
        content = Reflection().plan(PlanContext(team=team_view(plan=plan), options={}, day=day))
        assert content.get("moment") == expected, day  # a plan added in October does not start the year over


def test_the_meeting_check_out_follows_a_set_focus_without_a_plan() -> None:
    settings = {"themes": ["safety", "learning"], "focus": {"weeks": 2, "since": "2026-11-02"}}
    for day, theme in ((date(2026, 11, 13), "safety"), (date(2026, 11, 18), "learning"), (date(2026, 12, 2), "safety")):
        content = Checkout().plan(PlanContext(team=team_view(**settings), options={}, day=day))
        assert content["focus_theme"] == theme and content["meeting_question"] in THEMES[theme].discussion
    assert Checkout().plan(PlanContext(team=team_view(), options={}, day=date(2026, 11, 13))) == {}
