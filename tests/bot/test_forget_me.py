"""``forget-me`` leaves no trace, checked as an attacker would: the raw bytes of SQLite's
files, every text and JSON column of PostgreSQL.

The real app (the playground's platform, the engine with an injected clock, the answer
writer) on both databases. A team of the four playground personas and Wilhelmina, with a
distinctive name and platform id: a pairs round (groups, group messages in the outbox), an
appreciation round (roster, private prompts, an appreciation written about her), a
reflection that another member's answer names her in, role grants, a label, a skip, a goal
and an agreed action that name her, her own answers. Then she types ``forget-me``.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, text

from adapters.playground.platform import CHANNEL, PLATFORM, WORKSPACE
from bot.config import Settings
from bot.server import ENGINE, REPO, RITME, create_app
from rituals.types import Actor, ChannelRef
from storage.db import is_sqlite
from storage.models import Member, Occurrence, OutboxMessage, Reply
from storage.models import Team as TeamRow
from tests.fakes.clock import Clock
from tests.fakes.playground import open_playground

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
PUBLIC = "http://review.test"
USER_ID = "U0FORGETME"
NAME = "Wilhelmina Zonderland"
TRACES = (USER_ID.lower().encode(), NAME.lower().encode(), b"zonderland", b"zq-her words")
HERE = ChannelRef(platform=PLATFORM, workspace_id=WORKSPACE, channel_id=CHANNEL)
WILHELMINA = Actor(platform=PLATFORM, workspace_id=WORKSPACE, user_id=USER_ID, display_name=NAME)


def persona(user: str) -> Actor:
    return Actor(platform=PLATFORM, workspace_id=WORKSPACE, user_id=user, display_name=user.title())


ANNA, BRAM, CHRIS, DEWI = (persona(u) for u in ("anna", "bram", "chris", "dewi"))


@dataclass
class Team:
    client: TestClient
    app: Any
    clock: Clock

    async def say(self, actor: Actor, words: str) -> str:
        notice = await self.app[RITME].command(actor, HERE, words)
        assert notice.title != "That did not work", notice
        return f"{notice.title}\n{notice.text}\n{notice.footer}"

    async def answer(self, actor: Actor, occ: int, values: dict[str, Any]) -> None:
        answered = await self.app[RITME].answer(actor, occ, values)
        assert answered.stored, answered.message

    async def deliver(self) -> None:
        while await self.app[ENGINE].dispatch():
            pass

    async def get(self, reply: str) -> bytes:
        path = re.search(re.escape(PUBLIC) + r"(/review/\S+)", reply).group(1)  # type: ignore[union-attr]
        resp = await self.client.get(path)
        assert resp.status == 200
        return await resp.read()


@pytest.fixture
async def team(db_url: str) -> AsyncIterator[Team]:
    clock = Clock(NOW)
    settings = Settings(
        RITME_DATABASE_URL=db_url,
        RITME_PUBLIC_URL=PUBLIC,
        RITME_DEFAULT_LANGUAGE="en",
        RITME_SECRET_KEY=secrets.token_hex(32),
    )
    app = create_app(settings, clock=clock, background=False)
    async with TestClient(TestServer(app)) as client:
        yield Team(client, app, clock)


async def test_forget_me_leaves_no_trace_in_the_database_files(
    team: Team, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    repo, engine = team.app[REPO], team.app[ENGINE]
    await team.say(WILHELMINA, "help")  # she is in the team
    her = await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id=USER_ID)
    await team.say(ANNA, f"role add leader <@{USER_ID}>")
    await team.say(ANNA, f"pairs label <@{USER_ID}> onderbouw")
    await team.say(ANNA, f"goal set {NAME} leads our reading plan")
    await team.say(ANNA, "add pairs every month on the first monday at 09:00")  # 1
    await team.say(ANNA, "add reflection every monday at 09:00 team")  # 2
    pairs = await engine.run_now(1)
    await team.deliver()
    async with repo.session() as s:
        destinations = (await s.scalars(select(OutboxMessage.destination))).all()
    grouped = [d for d in destinations if USER_ID in (d.get("members") or [])]
    assert grouped, "the pairs round gave her a group message"
    await team.answer(WILHELMINA, pairs, {"met": "yes"})
    await team.answer(BRAM, pairs, {"met": "not_yet"})

    await team.say(WILHELMINA, "first #2 zq-her words that go first")  # a leader goes first
    reflection = await engine.run_now(2)
    opened, _team = await engine.prompt(reflection)
    assert "zq-her words that go first" in opened.intro and NAME in opened.intro
    await team.say(WILHELMINA, "first #2 zq-her words for the next round")  # waiting in the settings
    await team.answer(WILHELMINA, reflection, {"answer": "zq-her own reflection"})
    await team.answer(CHRIS, reflection, {"answer": f"I asked {NAME} for help"})
    await team.answer(DEWI, reflection, {"answer": "zq-dewi's reflection"})
    await engine.close_now(2)
    await team.say(ANNA, f"action add #2 {NAME} shares her plan")

    await team.say(BRAM, "appreciation start 3d")  # 3
    appreciation = (await repo.open_occurrences([3]))[3][0]
    assert [mid for mid, _name in appreciation.content["roster"]].count(her) == 1
    assert await repo.private_round(appreciation.id, team.clock()) == 5  # a prompt to each, privately
    await team.deliver()

    async def appreciate(actor: Actor, colleague: int | None, text: str) -> None:
        """``actor`` appreciates ``colleague``: as the one the round assigned, else as an extra."""
        assigned = await repo.assigned_colleague(
            platform=PLATFORM, workspace_id=WORKSPACE, user_id=actor.user_id, occurrence_id=appreciation.id
        )
        assert assigned is not None
        if assigned[0] == str(colleague):
            values = {"colleague": assigned[0], "appreciation": text}
        else:
            extra = {"also_colleague": str(colleague), "also_appreciation": text}
            values = {"colleague": assigned[0], "appreciation": f"zq-{actor.user_id} for the assigned one"} | extra
        await team.answer(actor, appreciation.id, values)

    await appreciate(BRAM, her, f"{NAME} taught me patience")
    chris_id = await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id="chris")
    await appreciate(WILHELMINA, chris_id, "zq-her kind words")
    await appreciate(
        DEWI, await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id="bram"), "zq-dewi thanks bram"
    )
    await team.say(WILHELMINA, "pairs skip")
    await team.deliver()

    with caplog.at_level(logging.WARNING, logger="storage.db"):
        said = await team.say(WILHELMINA, "forget-me")
    assert caplog.records == []  # the WAL truncated (SQLite), the touched tables vacuumed (PostgreSQL)
    assert "3 of your answers" in said  # her pairs, reflection and appreciation answers

    # The round that was open goes on: she is no longer offered, the others' assignments stand.
    prompt, _team = await engine.prompt(appreciation.id)
    assert NAME not in str(prompt) and "former" not in str(prompt)
    assert (
        await repo.assigned_colleague(
            platform=PLATFORM, workspace_id=WORKSPACE, user_id="bram", occurrence_id=appreciation.id
        )
        is not None
    )
    assert await engine.close_now(3)
    await team.deliver()
    results = [
        p
        for _id, _u, p, _at in await repo.channel_messages(CHANNEL, None)
        if "Appreciation round" in p.get("title", "")
    ]
    assert "\u201ca former colleague taught me patience\u201d" in results[-1]["text"]
    assert "*a former colleague*" in results[-1]["text"]

    # What the team reads: the review page and the export name "a former colleague".
    page = (await team.get(await team.say(BRAM, "review link"))).decode()
    csv = (await team.get(await team.say(ANNA, "export"))).decode("utf-8-sig")
    for shown in (page, csv):
        assert "a former colleague taught me patience" in shown
        assert "I asked a former colleague for help" in shown
        assert "zq-dewi&#x27;s reflection" in shown or "zq-dewi's reflection" in shown  # the others' answers stay
        assert "zq-dewi thanks bram" in shown
        assert "zq-her" not in shown
    # whom Bram appreciated: the colleague the round assigned him, or his extra one
    assert re.search(
        r"Appreciation round,Bram,(Colleague|Another colleague too \(optional\)),a former colleague,,", csv
    )
    await team.say(ANNA, "language nl")
    page = (await team.get(await team.say(BRAM, "review link"))).decode()
    assert "een oud-collega taught me patience" in page and "a former colleague" not in page

    # What an attacker with the database finds: nothing of her.
    async with repo.session() as s:
        assert await s.scalar(select(Member.id).where(Member.id == her)) is None
        kept = {r["answer"] for r in (await s.scalars(select(Reply.values))).all() if "answer" in r}
        assert kept == {"I asked [[former-colleague]] for help", "zq-dewi's reflection"}
        rounds = (await s.scalars(select(Occurrence.content))).all()
        assert all(her not in [m["id"] for g in c.get("groups", []) for m in g] for c in rounds)
        assert not [c["first"] for c in rounds if "first" in c]  # her words given to go first
        settings = (await s.scalars(select(TeamRow.settings))).all()
        assert all(not s.get("first") for s in settings)
    for shown in (page, csv):
        assert "zq-her words" not in shown
    if is_sqlite(db_url):
        assert_files_clean(Path(repo.engine.url.database))
    else:
        await assert_columns_clean(repo.engine)


def assert_files_clean(database: Path, traces: tuple[bytes, ...] = TRACES) -> None:
    files = [database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")]
    assert database.stat().st_size > 0
    for file in files:
        if file.exists():
            raw = file.read_bytes().lower()
            for trace in traces:
                assert trace not in raw, f"{file.name} holds {trace!r} at byte {raw.index(trace)}"


async def assert_columns_clean(engine: Any, traces: tuple[bytes, ...] = TRACES) -> None:
    async with engine.connect() as conn:
        columns = (
            await conn.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() ORDER BY table_name, column_name"
                )
            )
        ).all()
        assert len(columns) > 50
        for table, column in columns:
            for trace in traces:
                found = await conn.scalar(
                    text(f'SELECT count(*) FROM "{table}" WHERE lower(CAST("{column}" AS text)) LIKE :trace'),
                    {"trace": f"%{trace.decode()}%"},
                )
                assert found == 0, f"{table}.{column} holds {trace!r}"


async def test_forget_me_of_a_name_that_is_a_common_word_leaves_the_others_words(team: Team) -> None:
    """Anyone may call themselves "Will" or "The" and type forget-me: everyone's "will" and
    "The" stay as written, and the results of a round waiting to be posted are still posted,
    with the person's answer left out and the others' words as they are."""
    repo, engine = team.app[REPO], team.app[ENGINE]
    will = Actor(platform=PLATFORM, workspace_id=WORKSPACE, user_id="U0WILL", display_name="Will")
    the = Actor(platform=PLATFORM, workspace_id=WORKSPACE, user_id="U0THE", display_name="The")
    await team.say(will, "help")
    await team.say(the, "help")
    await team.say(ANNA, "goal set We will read with every pupil. The rest follows")
    await team.say(ANNA, "add reflection every monday at 09:00 team")  # 1
    round_ = await engine.run_now(1)
    bram_says = "I will ask for help sooner. Will you join me? The plan works, <@U0WILL> helped"
    await team.answer(BRAM, round_, {"answer": bram_says})
    await team.answer(will, round_, {"answer": "Thanks to the whole team, a great week"})
    await team.answer(the, round_, {"answer": "Thanks"})
    await engine.close_now(1)  # its results wait in the outbox

    assert "1 of your answers" in await team.say(will, "forget-me")
    assert "1 of your answers" in await team.say(the, "forget-me")
    await team.deliver()

    assert "\nWe will read with every pupil. The rest follows\n" in await team.say(DEWI, "goal")
    (results,) = [
        p
        for _id, _u, p, _at in await repo.channel_messages(CHANNEL, None)
        if p["type"] == "notice" and p["title"] == "#1 Reflection: results"
    ]
    said = results["text"] + " ".join(v for f in results["fields"] for v in f)
    assert "I will ask for help sooner. Will you join me? The plan works, a former colleague helped" in said
    assert "Thanks to the whole team" not in said and "Will: \u2026" in said  # the answer, quoted, is left out
    for user_id in ("U0WILL", "U0THE"):
        assert await repo.find_member(platform=PLATFORM, workspace_id=WORKSPACE, user_id=user_id) is None


async def test_forget_me_in_the_playground_stores_no_reply_with_their_id(db_url: str) -> None:
    """The playground's channel is kept in the database: the reply to forget-me reaches the
    person in the HTTP response only, so no row holds their id or name afterwards (nor tells
    a database's holder who asked to be forgotten)."""
    async with open_playground(db_url, Clock(NOW), language="en") as pg:
        await pg.command("anna", "add reflection every monday at 09:00 team")
        await pg.command("anna", "run #1")
        (prompt,) = await pg.prompts("dewi")
        await pg.answer("dewi", prompt["occurrence_id"], {"answer": "zq-something of mine"})
        await pg.answer("chris", prompt["occurrence_id"], {"answer": "Dewi asked a good question"})
        resp = await pg.client.post("/playground/api/command", json={"user": "dewi", "text": "/ritme forget-me"})
        assert resp.status == 200
        body = await resp.json()
        assert body["reply"]["title"] == "Your data are erased" and "1 of your answers" in body["reply"]["text"]
        assert body["kept"] is False
        mine = [m["payload"] for m in (await pg.state("dewi"))["messages"] if m["private"]]  # the page polls
        assert mine == []
        engine = pg.app[REPO].engine
        traces = (b"dewi",)  # her platform id and, in any case, her name
        if is_sqlite(db_url):
            assert_files_clean(Path(engine.url.database), traces)
        else:
            await assert_columns_clean(engine, traces)
