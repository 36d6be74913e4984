"""Every ritual kind end to end through the playground's HTTP interface, on the real app."""

from __future__ import annotations

import json

import pytest

from adapters.playground.platform import PLATFORM, WORKSPACE
from bot.server import ENGINE, REPO
from storage.models import Base
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground, open_playground


async def test_new_user_flow_add_run_answer_review(pg: Playground) -> None:
    reply = await pg.command("anna", "/ritme add reflection every monday at 09:00 team")
    assert reply["title"] == "Ritual #1 added"
    assert "every Monday at 09:00" in reply["text"]
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    assert prompt["title"] == "#1 Reflection" and prompt["inputs"][0]["kind"] == "text"
    occ = prompt["occurrence_id"]
    assert (await pg.answer("chris", occ, {"answer": "I asked Dewi for help."}))["ok"]
    assert (await pg.answer("dewi", occ, {"answer": "Chris asked me, that felt good."}))["ok"]
    review = await pg.command("bram", "review #1")
    assert "Chris: I asked Dewi for help." in review["text"]
    assert "Dewi: Chris asked me, that felt good." in review["text"]
    assert "2 of 4 answered" in review["text"]
    listing = await pg.command("chris", "list")
    assert listing["fields"][0][0] == "#1 Reflection"
    assert "every Monday at 09:00" in listing["fields"][0][1] and "open until" in listing["fields"][0][1]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("add dance every monday at 09:00", "'dance' is not a kind of ritual"),
        ("add reflection every funday at 25:00", "funday"),
        ("pause", "Which ritual?"),
        ("run #x", "not a ritual number"),
        ("frobnicate", "I don't know the command"),
        ("language fr", "nl or en"),
        ("timezone Mars/Olympus", "not a timezone"),
        ("run #99", "There is no ritual #99"),
    ],
)
async def test_bad_input_gets_a_reason_and_an_example_and_changes_nothing(
    pg: Playground, text: str, reason: str
) -> None:
    reply = await pg.command("anna", text)
    assert reply["title"] == "That did not work"
    assert reason in reply["text"]
    assert reply["footer"].startswith("For example: /ritme ")
    assert "Traceback" not in str(reply)
    assert (await pg.command("anna", "list"))["fields"] == []


async def test_roles_are_checked(pg: Playground) -> None:
    refused = await pg.command("chris", "add reflection every monday at 09:00 team")
    assert refused["title"] == "Not allowed" and "admin" in refused["text"]
    assert (await pg.command("anna", "list"))["fields"] == []
    await pg.command("anna", "add checkout every weekday at 16:30")
    assert (await pg.command("chris", "run #1"))["title"] == "Not allowed"
    assert (await pg.command("bram", "run #1"))["title"] == "Ritual #1 sent"
    assert (await pg.command("bram", "pause #1"))["title"] == "Not allowed"
    await pg.command("anna", "role add leader chris")
    assert (await pg.command("chris", "close #1"))["title"] == "Ritual #1 closed"
    roles = await pg.command("anna", "role list")
    assert ("Chris", "leader") in [tuple(f) for f in roles["fields"]]


async def test_goal_ritual(pg: Playground) -> None:
    await pg.command("bram", "goal set Every pupil reads with pleasure")
    assert (await pg.command("dewi", "goal"))["text"] == "Every pupil reads with pleasure"
    await pg.command("anna", "add goal every month on the first tuesday at 09:00")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    assert "Every pupil reads with pleasure" in prompt["intro"]
    assert (await pg.answer("chris", prompt["occurrence_id"], {"answer": "Reading corner"}))["ok"]
    await pg.command("anna", "close #1")
    await pg.deliver()
    (results,) = await pg.notices()
    assert "Chris: Reading corner" in results["text"]


async def test_checkout_ritual(pg: Playground) -> None:
    await pg.command("anna", "add checkout every weekday at 16:30 open 4h team")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    occ = prompt["occurrence_id"]
    assert [i["kind"] for i in prompt["inputs"]] == ["scale", "text", "text"]
    bad = await pg.answer("chris", occ, {"score": 7, "takeaway": "x"})
    assert not bad["ok"] and "1 to 5" in bad["message"]
    assert (await pg.answer("chris", occ, {"score": 4, "takeaway": "Clear agenda"}))["ok"]
    assert (await pg.answer("dewi", occ, {"score": 2, "takeaway": "Too long"}))["ok"]
    await pg.command("bram", "close #1")
    await pg.deliver()
    (results,) = await pg.notices()
    assert ["How useful was this meeting for you?", "average 3.0, spread 1.0"] in results["fields"]
    closed = (await pg.prompts())[0]
    assert closed["closed"] is True
    late = await pg.answer("anna", occ, {"score": 5, "takeaway": "late"})
    assert not late["ok"] and "closed" in late["message"]


async def test_pulse_ritual_is_anonymous(pg: Playground) -> None:
    await pg.command("anna", "add pulse every 2 weeks on friday at 15:00 open 2d")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    assert prompt["anonymous"] is True
    scores = {i["key"]: 4 for i in prompt["inputs"] if i["kind"] == "scale"}
    for user in ("anna", "chris"):
        assert (await pg.answer(user, prompt["occurrence_id"], scores))["ok"]
    await pg.command("anna", "close #1")
    await pg.deliver()
    (results,) = await pg.notices()
    assert "Too few answers" in results["text"]


async def test_appreciation_round(pg: Playground) -> None:
    started = await pg.command("bram", "appreciation start 2d")
    assert started["title"] == "Appreciation round started"
    (prompt,) = await pg.prompts()
    colleague = prompt["inputs"][0]
    assert colleague["kind"] == "choice" and {o["label"] for o in colleague["options"]} == {
        "Anna",
        "Bram",
        "Chris",
        "Dewi",
    }
    occ = prompt["occurrence_id"]
    chris = next(o["value"] for o in colleague["options"] if o["label"] == "Chris")
    himself = await pg.answer("chris", occ, {"colleague": chris, "appreciation": "I am great"})
    assert not himself["ok"] and himself["message"] == "Choose a colleague other than yourself."
    assigned = await pg.app[REPO].assigned_colleague(
        platform=PLATFORM, workspace_id=WORKSPACE, user_id="chris", occurrence_id=occ
    )
    assert assigned is not None
    other = next(o for o in colleague["options"] if o["value"] not in (chris, assigned[0]))
    instead = await pg.answer("chris", occ, {"colleague": other["value"], "appreciation": "Your questions"})
    assert not instead["ok"] and instead["message"].startswith(f"This round you appreciate {assigned[1]};")
    both = {
        "colleague": assigned[0],
        "appreciation": "Your calm in the morning",
        "also_colleague": other["value"],
        "also_appreciation": "Your questions",
    }
    assert (await pg.answer("chris", occ, both))["ok"]  # the other colleague as an extra
    review = await pg.command("bram", "review")
    assert "Your calm" in review["text"]  # a leader reads named answers as they come in
    assert not await pg.notices()  # the team, when the round closes
    assert (await pg.command("bram", "appreciation close"))["title"] == "Appreciation round closed"
    await pg.deliver()
    (results,) = await pg.notices()
    expected = sorted([(assigned[1], "Your calm in the morning"), (other["label"], "Your questions")])
    assert results["text"] == "\n\n".join(f"*{who}*\n\u2022 \u201c{what}\u201d \u2014 Chris" for who, what in expected)
    assert results["footer"] == ""  # no count that tells how many received nothing


async def test_values_ritual(pg: Playground) -> None:
    await pg.command("anna", "add values every month on day 1 at 09:00")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    (choice,) = prompt["inputs"]
    assert choice["kind"] == "multi" and choice["max_choices"] == 3
    too_many = await pg.answer("chris", prompt["occurrence_id"], {"values": ["trust", "care", "joy", "growth"]})
    assert not too_many["ok"]
    assert (await pg.answer("chris", prompt["occurrence_id"], {"values": ["trust", "care", "joy"]}))["ok"]
    assert (await pg.answer("dewi", prompt["occurrence_id"], {"values": ["trust", "growth"]}))["ok"]
    await pg.command("anna", "close #1")
    await pg.deliver()
    (results,) = await pg.notices()
    assert results["fields"][0][1].startswith("Trust (2)")


async def test_everything_survives_a_restart(sqlite_url: str, clock: Clock) -> None:
    async with open_playground(sqlite_url, clock) as first:
        await first.command("anna", "add reflection every monday at 09:00 team")
        await first.command("anna", "run #1")
        (prompt,) = await first.prompts()
        await first.answer("chris", prompt["occurrence_id"], {"answer": "Still here"})
    async with open_playground(sqlite_url, clock) as second:
        assert "Chris: Still here" in (await second.command("anna", "review #1"))["text"]
        assert len(await second.prompts()) == 1


async def test_forget_me_erases_the_member(pg: Playground) -> None:
    await pg.command("anna", "add reflection every monday at 09:00 team")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    await pg.answer("chris", prompt["occurrence_id"], {"answer": "Something personal"})
    await pg.answer("dewi", prompt["occurrence_id"], {"answer": "Mine stays"})
    await pg.command("anna", "close #1")
    await pg.deliver()  # the results, quoting both, went to the channel

    async def everything() -> str:
        """Every row of every table, as text."""
        async with pg.app[REPO].engine.connect() as conn:
            return json.dumps(
                [
                    [list(map(str, row)) for row in (await conn.execute(table.select())).all()]
                    for table in Base.metadata.sorted_tables
                ]
            )

    assert "Something personal" in await everything()
    reply = await pg.command("chris", "forget-me")
    assert "1 of your answers" in reply["text"]
    assert "Something personal" not in (await pg.command("anna", "review #1"))["text"]
    assert "Something personal" not in await everything()  # no copy anywhere: not in the channel, not in the outbox


async def test_small_slips_are_understood_or_explained(pg: Playground) -> None:
    assert (await pg.command("anna", "timezone europe/london"))["text"] == "Times are now in Europe/London."
    reply = await pg.command("bram", "review link foo")
    assert reply["title"] == "That did not work" and "review link revoke" in reply["text"]
    digest = await pg.command("anna", "add digest every friday at 15:00")
    assert "First post:" in digest["text"] and "Answers" not in digest["text"]
    pulse = await pg.command("anna", "add pulse every 2 weeks on friday at 15:00 open 2d")
    assert pulse["text"].count("2 days") == 1, pulse["text"]
    assert "One ritual at a time" in (await pg.command("anna", "pause 1 2"))["text"]
    assert (await pg.command("anna", "pause #1"))["title"] == "Ritual #1 paused"
    assert (await pg.command("anna", "pause #1"))["title"] == "Ritual #1 is paused already"
    started = await pg.command("bram", "appreciation start 2d")
    assert started["footer"] == "Ritual #3: /ritme close #3 closes it early."
    await pg.command("anna", "holiday add 2026-12-24")
    assert (await pg.command("anna", "holiday list"))["fields"] == [["2026-12-24..2026-12-24", "holiday"]]
    await pg.command("anna", "theme safety")
    assert (await pg.command("anna", "theme"))["text"] == "Reflections draw from: Psychological safety"


async def test_dutch_team(pg: Playground) -> None:
    await pg.command("anna", "language nl")
    reply = await pg.command("anna", "add reflectie elke maandag om 09:00")
    assert reply["title"] == "Ritueel #1 toegevoegd"
    assert "elke maandag om 09:00" in reply["text"]


async def test_malformed_requests_get_4xx(pg: Playground) -> None:
    c = pg.client
    assert (await c.post("/playground/api/command", data=b"{not json")).status == 400
    assert (await c.post("/playground/api/command", json=[1, 2])).status == 400
    assert (await c.post("/playground/api/command", json={"user": "mallory", "text": "help"})).status == 400
    assert (
        await c.post("/playground/api/answer", json={"user": "anna", "occurrence_id": "1", "values": {}})
    ).status == 400
    assert (await c.post("/playground/api/command", data=b"x" * (2 * 1024 * 1024))).status == 413
    health = await c.get("/healthz")
    assert health.status == 200 and await health.json() == {"status": "ok"}


async def test_a_team_adds_values_of_its_own(pg: Playground) -> None:
    assert (await pg.command("chris", "values add Humor"))["title"] == "Not allowed"
    assert (await pg.command("anna", "values add Humor"))["title"] == "Value added"
    assert "already one of the values" in (await pg.command("anna", "waarden toevoegen trust"))["text"]
    listed = await pg.command("chris", "values")
    assert listed["fields"][0] == ["The team's own", "Humor"] and "Trust" in listed["text"]
    await pg.command("anna", "add values every month on day 1 at 09:00")
    await pg.command("anna", "run #1")
    (prompt,) = await pg.prompts()
    options = {o["label"]: o["value"] for o in prompt["inputs"][0]["options"]}
    assert options["Humor"] == "own:Humor"
    assert (await pg.answer("chris", prompt["occurrence_id"], {"values": ["own:Humor", "trust"]}))["ok"]
    await pg.command("anna", "close #1")
    started = await pg.command("bram", "appreciation start 2d")
    assert started["title"] == "Appreciation round started"
    appreciation = (await pg.prompts())[-1]
    tags = {o["label"]: o["value"] for o in appreciation["inputs"][2]["options"]}
    assert tags["Humor"] == "own:Humor"
    assert (await pg.command("anna", "values remove humor"))["title"] == "Value removed"
    assert "none yet" in (await pg.command("chris", "values"))["fields"][0][1]


async def test_moving_west_does_not_ask_the_same_day_twice(sqlite_url: str) -> None:
    """A weekly round went out on Monday 09:00 in Amsterdam; the team then moves to New York,
    where it is still Monday morning: the next round is next Monday, not 09:00 New York today."""
    from datetime import UTC, datetime

    clock = Clock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 08:00 in Amsterdam
    async with open_playground(sqlite_url, clock) as pg:
        await pg.command("anna", "add reflection every monday at 09:00 team")
        clock.advance(hours=1, minutes=1)
        assert await pg.app[ENGINE].fire_due(clock()) == 1
        clock.advance(hours=1)
        await pg.command("anna", "timezone America/New_York")
        listing = await pg.command("anna", "list")
        assert "Mon 30 Nov 09:00" in listing["fields"][0][1], listing
        clock.advance(hours=6)  # 09:00 in New York
        assert await pg.app[ENGINE].fire_due(clock()) == 0


async def test_every_two_weeks_counts_from_the_teams_own_today(sqlite_url: str) -> None:
    from datetime import UTC, datetime

    clock = Clock(datetime(2026, 11, 26, 21, 0, tzinfo=UTC))  # Friday 08:00 in Sydney, Thursday in UTC
    async with open_playground(sqlite_url, clock) as pg:
        await pg.command("anna", "timezone Australia/Sydney")
        added = await pg.command("anna", "add reflection every 2 weeks on thursday at 10:00")
        assert "First prompt: Thu 3 Dec 10:00" in added["text"], added["text"]
