"""The school year's commands, as a teamleider types them: the year plan with learning goals, a
focus of some weeks, core values with what they look like here, going first."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.server import ENGINE
from rituals.i18n import translator
from rituals.kinds.base import PlanContext
from rituals.kinds.reflection import Reflection
from rituals.library import REQUIRES, VALUE_QUESTIONS
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground, open_playground
from tests.fakes.teams import team_view

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
async def pg_nl(sqlite_url: str, clock: Clock) -> AsyncIterator[Playground]:
    async with open_playground(sqlite_url, clock, language="nl") as playground:
        yield playground


async def test_plan_add_stores_a_learning_goal_after_the_theme(pg: Playground) -> None:
    added = await pg.command("anna", "plan add 2027-01-05..2027-03-27 samen leren We visit each other's classrooms")
    assert added["title"] == "Year plan updated"
    assert "Learning together" in added["text"]
    assert "Our learning goal this period: We visit each other's classrooms" in added["text"]
    await pg.command("anna", "plan add 2026-09-01..2026-10-31 safety")
    listed = await pg.command("chris", "plan list")
    assert listed["title"] == "Not allowed"
    listed = await pg.command("anna", "plan list")
    assert listed["fields"] == [
        ["2026-09-01..2026-10-31", "Psychological safety"],
        ["2027-01-05..2027-03-27", "Learning together: We visit each other's classrooms"],
    ]
    refused = await pg.command("anna", "plan add 2027-01-05..2027-03-27 astrology Read the stars")
    assert refused["title"] == "That did not work" and "'astrology' is not a theme" in refused["text"]
    too_long = await pg.command("anna", "plan add 2027-01-05..2027-03-27 safety " + "word " * 80)
    assert too_long["title"] == "That did not work" and "at most 300 characters" in too_long["text"]


async def test_the_dutch_plan_command_of_the_issue(pg_nl: Playground) -> None:
    added = await pg_nl.command(
        "anna", "jaarplan toevoegen 2027-01-05..2027-03-27 veiligheid Iedereen komt aan het woord"
    )
    assert added["title"] == "Jaarplan bijgewerkt", added
    assert "Ons leerdoel deze periode: Iedereen komt aan het woord" in added["text"]


async def test_a_focus_of_some_weeks_keeps_the_theme_and_says_so(pg: Playground) -> None:
    set_ = await pg.command("anna", "theme safety learning for 6 weeks")
    assert set_["title"] == "Themes set"
    assert set_["footer"] == "Each theme stays for 6 weeks, outside the year plan's periods."
    refused = await pg.command("anna", "theme safety for 30 weeks")
    assert refused["title"] == "That did not work" and "from 1 to 20 weeks" in refused["text"]


async def test_one_week_takes_the_singular_in_dutch(pg_nl: Playground) -> None:
    one = await pg_nl.command("anna", "thema veiligheid voor 1 week")
    assert one["footer"] == "Buiten de periodes van het jaarplan blijft elk thema 1 week staan."


async def test_core_values_with_their_meaning_are_kept_and_offered_in_appreciation(pg: Playground) -> None:
    refused = await pg.command("bram", "values core Trust, Humour, Safety")
    assert refused["title"] == "That did not work" and "'Humour' is not one of the values" in refused["text"]
    assert (await pg.command("chris", "values core Trust, Ownership, Safety"))["title"] == "Not allowed"
    assert (await pg.command("bram", "values core Trust, Safety"))["title"] == "That did not work"  # three to five
    await pg.command("anna", "values add Humour")
    chosen = await pg.command("bram", "values core Trust, humour, Veiligheid")  # Dutch name, any case
    assert chosen["title"] == "Our core values"
    assert chosen["text"] == "\u2022 Trust\n\u2022 Humour\n\u2022 Safety"
    meant = await pg.command("bram", "values mean Trust: we do what we say, and say it when we cannot")
    assert meant["text"].startswith("\u2022 Trust: we do what we say, and say it when we cannot")
    assert (await pg.command("bram", "values mean Curiosity: we ask"))["title"] == "That did not work"
    listing = await pg.command("chris", "values")
    assert ["Our core values", meant["text"]] in listing["fields"]

    await pg.command("bram", "appreciation start")
    (prompt,) = await pg.prompts()
    assert "Our core values: Trust (we do what we say, and say it when we cannot); Humour; Safety" in prompt["intro"]
    (value,) = [i for i in prompt["inputs"] if i["key"] == "value"]
    assert [o["label"] for o in value["options"]] == ["Trust", "Humour", "Safety"]


async def test_the_teamleider_goes_first_in_the_next_round_only(pg: Playground, clock: Clock) -> None:
    await pg.command("anna", "add reflection every monday at 09:00")
    assert (await pg.command("chris", "first #1 Me first"))["title"] == "Not allowed"
    refused = await pg.command("bram", "first #1")
    assert refused["title"] == "That did not work" and "Use 'first #N TEXT'" in refused["text"]
    went = await pg.command("bram", "first #1 Last week I asked Dewi for help with a pupil, and it helped")
    assert went["title"] == "You go first"
    for week in (0, 1):
        clock.set(datetime(2026, 11, 23 + 7 * week, 9, 0, 1, tzinfo=AMS))
        await pg.app[ENGINE].tick()
    first, second = await pg.prompts()
    assert first["intro"].startswith("Bram goes first: \u201cLast week I asked Dewi for help with a pupil")
    assert "goes first" not in second["intro"]


def asked(settings: dict[str, object], theme: str, rounds: int) -> list[str]:
    history: list[dict[str, object]] = []
    for _ in range(rounds):
        ctx = PlanContext(
            team=team_view(themes=[theme], **settings),
            options={},
            day=date(2026, 11, 23),
            history=tuple(reversed(history)),
            rng=random.Random(0),
        )
        history.append(Reflection().plan(ctx))
    return [str(h["question"]) for h in history]


def test_questions_about_our_values_wait_until_the_team_has_stored_them() -> None:
    about_values = {q for q, needs in REQUIRES.items() if needs == "core_values"}
    assert not set(asked({}, "values", 16)) & about_values
    core = [{"key": "trust", "name": "", "meaning": "we do what we say"}, {"key": "care"}, {"key": "joy"}]
    questions = asked({"core_values": core}, "values", 10)
    assert questions[:2] == list(VALUE_QUESTIONS) and about_values <= set(questions)


def test_the_question_about_our_learning_goal_waits_for_a_learning_goal() -> None:
    about_goal = {q for q, needs in REQUIRES.items() if needs == "learning_goal"}
    plan = [{"start": "2026-11-01", "end": "2026-12-20", "theme": "rhythm"}]
    assert not set(asked({"plan": plan}, "rhythm", 16)) & about_goal
    plan[0]["goal"] = "We plan our moments to look back"
    assert about_goal <= set(asked({"plan": plan}, "rhythm", 9))


def test_a_value_question_names_the_value_and_what_it_looks_like_here() -> None:
    core = [{"key": "trust", "meaning": "we do what we say"}, {"name": "Humour"}, {"key": "joy"}]
    kind, history, _ = Reflection(), [], translator("en")
    for _round in range(2):
        ctx = PlanContext(
            team=team_view(themes=["values"], core_values=core),
            options={},
            day=date(2026, 11, 23),
            history=tuple(history),
        )
        history.insert(0, kind.plan(ctx))
    first, second = reversed(history)
    assert kind.inputs(first, team_view(), _)[0].label == (
        "For us, Trust means: \u201cwe do what we say\u201d. "
        "Where did you see that this week, in your class or in the team?"
    )
    assert kind.inputs(second, team_view(), _)[0].label == (
        "What does Humour look like in your class? Give a concrete example from this week."
    )
    assert "Our core values: Trust (we do what we say); Humour; Joy" in kind.intro(
        first, team_view(core_values=core), _
    )


async def test_the_last_values_round_suggests_the_core_values(pg: Playground) -> None:
    await pg.command("anna", "add values every month on day 1 at 09:00")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    picks = {"anna": ["trust", "care", "joy"], "bram": ["trust", "care", "growth"], "chris": ["trust", "safety", "joy"]}
    for user, values in picks.items():
        assert (await pg.answer(user, prompt["occurrence_id"], {"values": values}))["ok"]
    await pg.command("anna", "close #1")
    listing = await pg.command("dewi", "values")
    assert ["Chosen most in the last values round", "Trust (3), Care (2), Joy (2), Growth (1), Safety (1)"] in listing[
        "fields"
    ]
    assert listing["footer"] == "Choose them as core values: /ritme values core Trust, Care, Joy"
