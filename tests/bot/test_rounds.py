"""One open round per ritual, and ``remind``: through the playground on the real app, on
SQLite and PostgreSQL (``db_url``), with an injected clock."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.server import REPO
from rituals.answers import WHO_READS
from rituals.i18n import translator
from rituals.visibility import Visibility, who_reads
from storage.models import Occurrence, OutboxMessage
from tests.fakes.clock import Clock
from tests.fakes.playground import Playground, open_playground


@pytest.fixture
async def team(db_url: str, clock: Clock) -> AsyncIterator[Playground]:
    """The playground (Anna admin, Bram leader, Chris and Dewi members) on either database."""
    async with open_playground(db_url, clock) as playground:
        yield playground


async def open_rounds(pg: Playground) -> int:
    async with pg.app[REPO].session() as s:
        return int(await s.scalar(select(func.count()).select_from(Occurrence).where(Occurrence.status == "open")) or 0)


def private_prompts(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [m["payload"] for m in state["messages"] if m["private"] and m["payload"]["type"] == "prompt"]


async def test_run_on_an_open_round_says_so_and_opens_no_second(team: Playground, clock: Clock) -> None:
    await team.command("anna", "add reflection every monday at 09:00 team")
    assert (await team.command("anna", "run #1"))["title"] == "Ritual #1 sent"
    clock.advance(minutes=5)
    again = await team.command("bram", "run #1")
    assert again["title"] == "Ritual #1 is still open"
    assert "open until Tue 24 Nov 12:00" in again["text"]  # two days from the first run, Amsterdam time
    assert "/ritme close #1" in again["footer"] and "/ritme remind #1" in again["footer"]
    assert len(await team.prompts()) == 1 and await open_rounds(team) == 1
    listed = (await team.command("chris", "list"))["fields"][0][1]
    assert listed.count("open until") == 1

    await team.command("bram", "close #1")
    assert (await team.command("bram", "run #1"))["title"] == "Ritual #1 sent"  # closed first: a new round
    assert await open_rounds(team) == 1 and len(await team.prompts()) == 2


async def test_remind_sends_the_private_reminder_to_who_has_not_answered(team: Playground) -> None:
    await team.command("anna", "add checkout every monday at 09:00 team")
    nothing = await team.command("bram", "remind #1")
    assert nothing["title"] == "Nothing to remind" and "has no open round" in nothing["text"]
    await team.command("anna", "run #1")
    (prompt,) = await team.prompts()
    assert (await team.answer("chris", prompt["occurrence_id"], {"score": 4, "takeaway": "Clear goals"}))["ok"]
    await team.command("dewi", "reminders off")

    refused = await team.command("chris", "remind #1")
    assert refused["title"] == "Not allowed" and "leader" in refused["text"]
    sent = await team.command("bram", "remind #1")
    assert sent == {
        "type": "notice",
        "title": "Reminder sent",
        "text": "Not answered #1 yet: 2. Each got a private reminder.",
        "fields": [],
        "footer": "",
    }
    await team.deliver()
    got = {user: private_prompts(await team.state(user)) for user in ("anna", "bram", "chris", "dewi")}
    assert [len(v) for v in got.values()] == [1, 1, 0, 0]  # Chris answered, Dewi muted reminders
    assert got["anna"][0]["title"] == "Reminder: #1 Meeting check-out"
    assert got["anna"][0]["intro"].startswith("This round closes soon and your answer still counts.")


async def test_everyone_answered_is_nobody_to_remind(team: Playground) -> None:
    await team.command("anna", "add checkout every monday at 09:00 team")
    await team.command("anna", "run #1")
    (prompt,) = await team.prompts()
    for user in ("anna", "bram", "chris", "dewi"):
        assert (await team.answer(user, prompt["occurrence_id"], {"score": 3, "takeaway": "ok"}))["ok"]
    said = await team.command("anna", "remind #1")
    assert said["title"] == "Nobody to remind"
    async with team.app[REPO].session() as s:
        queued = await s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    assert queued == 0


async def test_dutch_words_and_answers(db_url: str, clock: Clock) -> None:
    async with open_playground(db_url, clock, language="nl") as team:
        await team.command("anna", "toevoegen reflectie elke maandag om 09:00 team")
        await team.command("anna", "start #1")
        again = await team.command("anna", "start #1")
        assert again["title"] == "Ritueel #1 staat nog open"
        assert "/ritme sluit #1" in again["footer"] and "/ritme herinner #1" in again["footer"]
        said = await team.command("bram", "herinner #1")
        assert said["text"] == "Nog niet geantwoord op #1: 4. Ieder kreeg een persoonlijke herinnering."
        prompt, reminder = await team.prompts()  # Chris's own reminder comes as a prompt too
        assert prompt["answered_mark"] == reminder["answered_mark"] == "Beantwoord ✓ · wijzigen"


@pytest.mark.parametrize("language", ["en", "nl"])
async def test_who_reads_open_answers_is_said_in_the_same_words_in_all_four_places(
    sqlite_url: str, clock: Clock, language: str
) -> None:
    """Each card says who reads its round's answers, in its level's words (team, leaders or
    anonymous); the chat's review, the review page and /privacy say the same words for that
    level, and the one rule for open rounds (one msgid each)."""
    _ = translator(language)
    rule = _(WHO_READS)
    levels = (Visibility.TEAM, Visibility.LEADERS, Visibility.ANONYMOUS)
    async with open_playground(sqlite_url, clock, language=language) as team:
        for level in levels:
            await team.command("anna", f"add reflection every monday at 09:00 {level.value}")
        for n in (1, 2, 3):
            await team.command("anna", f"run #{n}")
        cards = await team.prompts()
        review = await team.command("bram", "review")
        link = (await team.command("bram", "review link"))["text"]
        page = await (await team.client.get(link[link.index("/review/") :].split()[0])).text()
        privacy = await (await team.client.get("/privacy", params={"lang": language})).text()
        assert review["footer"] == rule and html.escape(rule) in page and html.escape(rule) in privacy
        for card, level in zip(cards, levels, strict=True):
            line = who_reads(level, 3, _)
            assert card["context"] == line
            assert line in review["text"]
            assert html.escape(line) in page
            assert html.escape(line) in privacy


def own_of(state: dict[str, Any], occurrence: int) -> list[Any]:
    """What the feed says of ``occurrence``'s prompts about the persona's own answer."""
    return [
        m.get("own")
        for m in state["messages"]
        if m["payload"]["type"] == "prompt" and m["payload"]["occurrence_id"] == occurrence
    ]


async def test_the_playground_card_remembers_an_answer_while_the_round_is_open(team: Playground) -> None:
    await team.command("anna", "add checkout every monday at 09:00 team")
    await team.command("anna", "add pulse every friday at 15:00")
    await team.command("anna", "run #1")
    await team.command("anna", "run #2")
    checkout, pulse = await team.prompts()
    assert checkout["answered_mark"] == "Answered ✓ · change" and pulse["answered_mark"] == "Answered ✓"
    assert own_of(await team.state("chris"), checkout["occurrence_id"]) == [None]

    answer = {"score": 4, "takeaway": "Clear goals"}
    assert (await team.answer("chris", checkout["occurrence_id"], answer))["ok"]
    scores = {s: 2 for s in [i["key"] for i in pulse["inputs"] if i["kind"] == "scale"]}
    assert (await team.answer("chris", pulse["occurrence_id"], scores))["ok"]
    state = await team.state("chris")  # as after a reload
    assert own_of(state, checkout["occurrence_id"]) == [{"values": answer}]
    assert own_of(state, pulse["occurrence_id"]) == [{"values": None}]  # sealed: answered, not read back
    assert own_of(await team.state("dewi"), checkout["occurrence_id"]) == [None]  # someone else's

    await team.command("anna", "close #1")
    await team.deliver()
    assert own_of(await team.state("chris"), checkout["occurrence_id"]) == [None]  # nothing left to change
