"""What the playground's page is told to show a new user (``GET /playground/api/state``): the
welcome card's five steps, the chips and the language switch, each for the chosen person's role
in the team as the database has it; and commands typed as other chat apps have them (``/help``)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.playground.platform import PLATFORM, WORKSPACE
from bot.server import REPO
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground, open_playground


def fills(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The welcome card's buttons that put a command in the input, in step order."""
    return [b for step in state["welcome"]["steps"] for b in step["buttons"] if "command" in b]


async def test_chips_are_what_the_persons_role_may_run_as_the_team_has_it(pg: Playground) -> None:
    """An admin's chips add and run, a leader's run and review, a member's neither; a member
    made leader gets a leader's chips (the role is read from the team, not the page's seed)."""
    admin = ["/ritme help", "/ritme list", "/ritme add reflection every monday at 09:00", "/ritme run #1"]
    assert (await pg.state("anna"))["chips"] == [*admin, "/ritme review #1"]
    assert (await pg.state("bram"))["chips"] == ["/ritme help", "/ritme list", "/ritme run #1", "/ritme review #1"]
    assert (await pg.state("chris"))["chips"] == ["/ritme help", "/ritme list"]
    await pg.command("anna", "role add leader chris")
    assert (await pg.state("chris"))["chips"] == (await pg.state("bram"))["chips"]
    assert (await pg.state("dewi"))["chips"] == ["/ritme help", "/ritme list"]


@pytest.mark.parametrize(
    ("language", "title", "added", "review"),
    [
        ("en", "Welcome to the Ritme playground", "Ritual #1 added", "Review"),
        ("nl", "Welkom in de Ritme-proeftuin", "Ritueel #1 toegevoegd", "Terugblik"),
    ],
)
async def test_the_welcome_cards_commands_work_in_the_teams_language(
    sqlite_url: str, clock: Clock, language: str, title: str, added: str, review: str
) -> None:
    """Five steps in the team's language; the commands its buttons put in the input are the
    team's words and do what the step says, run by the step's person. A member may run none of
    them: the page continues as the step's person first."""
    async with open_playground(sqlite_url, clock, language=language) as pg:
        state = await pg.state("chris")
        assert state["welcome"]["title"] == title and len(state["welcome"]["steps"]) == 5
        assert [b["may"] for b in fills(state)] == [False, False, False]
        assert [b["may"] for b in fills(await pg.state("anna"))] == [True, True, True]
        add, run, look = fills(state)
        assert (await pg.command(add["persona"], add["command"]))["title"] == added
        await pg.command(run["persona"], run["command"])
        (prompt,) = await pg.prompts()
        assert [b["persona"] for b in state["welcome"]["steps"][3]["buttons"]] == ["chris", "dewi"]
        for person in ("chris", "dewi"):  # step 4: as the people its buttons continue as
            assert (await pg.answer(person, prompt["occurrence_id"], {"answer": f"{person} was here"}))["ok"]
        reply = await pg.command(look["persona"], look["command"])
        assert reply["title"] == review and "• Chris: chris was here" in reply["text"]


async def test_the_language_switch_is_the_admins(pg: Playground) -> None:
    """The switch offers both languages with the command that sets each; an admin may run it,
    a member is told who may; the words of the page follow the team's language."""
    state = await pg.state("anna")
    switch = state["languages"]
    assert [o["code"] for o in switch["options"]] == ["nl", "en"] and switch["may_switch"] is True
    assert (await pg.state("chris"))["languages"]["may_switch"] is False
    assert (await pg.state("chris"))["languages"]["hint"] == "Only an admin can change the team's language."
    (dutch,) = [o["command"] for o in switch["options"] if o["code"] == "nl"]
    await pg.command("anna", dutch)
    after = await pg.state("chris")
    assert after["team"]["language"] == "nl" and after["labels"]["send"] == "Verstuur"
    assert [o["command"] for o in after["languages"]["options"]] == ["/ritme taal nl", "/ritme taal en"]
    assert after["chips"] == ["/ritme hulp", "/ritme lijst"]


async def test_a_command_typed_without_ritme_is_understood(pg: Playground) -> None:
    """``/help`` and ``/list`` are ``/ritme help`` and ``/ritme list``; an unknown ``/word`` gets
    the reason and an example that works; ``/ritme help`` is as it was."""
    assert (await pg.command("chris", "/help")) == (await pg.command("chris", "/ritme help"))
    assert (await pg.command("chris", " /lijst"))["title"] == "Rituals"
    unknown = await pg.command("chris", "/dance")
    assert unknown["text"] == "I don't know the command 'dance'." and unknown["footer"] == "For example: /ritme help"
    assert (await pg.command("chris", "help"))["title"] == (await pg.command("chris", "/help"))["title"]


async def test_reading_the_chips_makes_no_member_of_someone_just_forgotten(pg: Playground) -> None:
    """The page polls the state every two seconds: working out a person's chips reads their role
    and writes nothing, so someone who said forget-me is not made a member again by it."""
    await pg.command("dewi", "forget-me")
    assert (await pg.state("dewi"))["chips"] == ["/ritme help", "/ritme list"]
    assert await pg.app[REPO].find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id="dewi") is None
