"""``RITME_LOG_FORMAT=json``: a real ``ritme serve`` through a whole round (answers in, close,
results) writes one JSON object a line, with the team, ritual and platform where known, and
never an answer's text or a person's name."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text

from adapters.playground.platform import PERSONAS
from bot.logs import JsonFormatter
from rituals.logcontext import about
from storage.db import create_engine
from tests.fakes.servers import Replica, free_port, poll

ANSWERS = {
    "chris": "Ons leesrooster botst met de gymles op dinsdag",
    "dewi": "Fenna uit groep vijf hielp met de tafels",
}


async def test_a_whole_round_logs_json_without_answers_or_names(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    env.update(
        {
            "RITME_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}",
            "RITME_LOG_FORMAT": "json",
            "RITME_DEFAULT_LANGUAGE": "en",
            "RITME_DRAIN_SECONDS": "0",
        }
    )
    server = Replica("json", port, env, tmp_path)
    base = f"http://127.0.0.1:{port}/playground/api"
    try:
        async with aiohttp.ClientSession() as session:

            async def up() -> bool:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return server.proc.poll() is not None

            async def command(user: str, text: str) -> dict[str, Any]:
                async with session.post(f"{base}/command", json={"user": user, "text": text}) as response:
                    assert response.status == 200, await response.text()
                    return dict((await response.json())["reply"])

            async def messages(kind: str) -> list[dict[str, Any]]:
                async with session.get(f"{base}/state", params={"user": "chris"}) as response:
                    state = await response.json()
                return [m["payload"] for m in state["messages"] if m["payload"]["type"] == kind]

            assert await poll(up, within=60, every=0.1), server.tail()
            assert server.proc.poll() is None, server.tail()
            await command("anna", "add reflection every monday at 09:00 team")
            await command("anna", "run #1")
            assert await poll(lambda: messages("prompt"), within=30), server.tail()
            occurrence = (await messages("prompt"))[0]["occurrence_id"]
            for user, text in ANSWERS.items():
                body = {"user": user, "occurrence_id": occurrence, "values": {"answer": text}}
                async with session.post(f"{base}/answer", json=body) as response:
                    assert (await response.json())["ok"]
            await command("bram", "close #1")

            async def results() -> bool:
                return any("results" in notice["title"] for notice in await messages("notice"))

            assert await poll(results, within=30), server.tail()
        server.stop(signal.SIGTERM)
        assert await asyncio.to_thread(server.proc.wait, 60) == 0, server.tail()
    finally:
        server.close()

    lines = server.log.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(entries) > 5
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    forbidden = [*ANSWERS.values(), *(p.name for p in PERSONAS)]
    for line in lines:
        assert not any(word in line for word in forbidden), line
    opened = next(e for e in entries if "opened" in e["message"])
    assert opened["ritual_id"] == 1 and opened["team_id"] == 1 and opened["platform"] == "playground"
    closed = next(e for e in entries if e["message"].endswith("closed") and "ritual_id" in e)
    assert closed["ritual_id"] == 1 and closed["team_id"] == 1
    command = next(e for e in entries if e["message"].startswith("command 'close'"))
    assert command["team_id"] == 1 and command["platform"] == "playground"


async def test_a_failed_statement_is_logged_without_what_was_answered(tmp_path: Path) -> None:
    """A database error logged with its traceback shows the SQL, never its parameters (which
    hold answers); the line names what the work was about."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    record: logging.LogRecord | None = None
    try:
        async with engine.connect() as conn:
            await conn.execute(text("INSERT INTO replies_gone (answer) VALUES (:answer)"), {"answer": ANSWERS["dewi"]})
    except Exception:
        with about(team_id=7, platform="slack"):
            record = logging.LogRecord("storage", logging.ERROR, __file__, 1, "storing failed", None, sys.exc_info())
            line = JsonFormatter().format(record)
    finally:
        await engine.dispose()
    assert record is not None
    entry = json.loads(line)
    assert entry["team_id"] == 7 and entry["platform"] == "slack" and "ritual_id" not in entry
    assert "INSERT INTO replies_gone" in entry["exception"]
    assert ANSWERS["dewi"] not in line
