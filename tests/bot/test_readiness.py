"""``GET /readyz``: ready when the database answers at the migrations this version ships with;
503 while draining after SIGTERM (the process still serving), and when the database is behind
or does not answer. ``/healthz`` stays liveness."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.server import create_app
from storage.db import upgrade
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.servers import Replica, free_port, poll

BEHIND = "0006"  # a revision before the head


async def status(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, str]]:
    async with session.get(url) as response:
        body = await response.json() if response.content_type == "application/json" else {}
        return response.status, body


async def test_sigterm_drains_then_stops_cleanly(tmp_path: Path) -> None:
    """A real ``ritme serve``: after SIGTERM ``/readyz`` answers 503 while the process still
    serves everything else; after the drain it stops by itself with exit status 0."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RITME_", "SLACK_", "Microsoft"))}
    env.update({"RITME_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", "RITME_DRAIN_SECONDS": "10"})
    server = Replica("drain", port, env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                try:
                    return (await status(session, f"{base}/readyz"))[0] == 200
                except aiohttp.ClientError:
                    return server.proc.poll() is not None  # stopped: no use waiting

            assert await poll(ready, within=60, every=0.1), server.tail()
            assert server.proc.poll() is None, server.tail()

            server.stop(signal.SIGTERM)

            async def draining() -> bool:
                return (await status(session, f"{base}/readyz")) == (
                    503,
                    {"status": "unavailable", "reason": "draining"},
                )

            assert await poll(draining, within=5, every=0.02), server.tail()
            assert server.proc.poll() is None  # still serving while the load balancer notices
            assert (await status(session, f"{base}/healthz"))[0] == 200
            async with session.get(f"{base}/") as page:
                assert page.status == 200
        exit_status = await asyncio.to_thread(server.proc.wait, 90)
        assert exit_status == 0, server.tail()
        log = server.log.read_text()
        assert "SIGTERM: draining for 10s" in log and "engine stopped" in log
    finally:
        server.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def behind_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database migrated up to a revision before the head only."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    await asyncio.to_thread(upgrade, url, BEHIND)
    return url


@asynccontextmanager
async def client_for(url: str) -> AsyncIterator[TestClient]:
    """The real app on ``url`` (no playground, no background work) behind a test client."""
    settings = Settings(RITME_DATABASE_URL=url, RITME_SECRET_KEY=SECRET_KEY, RITME_PLAYGROUND=False)
    async with TestClient(TestServer(create_app(settings, background=False))) as client:
        yield client


async def test_a_database_behind_on_migrations_is_not_ready(behind_url: str) -> None:
    async with client_for(behind_url) as client:
        response = await client.get("/readyz")
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "reason": "migrations"}
        assert (await client.get("/healthz")).status == 200  # alive all the same
        await asyncio.to_thread(upgrade, behind_url)
        response = await client.get("/readyz")
        assert response.status == 200 and await response.json() == {"status": "ready"}


async def test_a_database_that_does_not_answer_is_not_ready() -> None:
    url = f"postgresql+asyncpg://ritme:x@127.0.0.1:{free_port()}/ritme"  # nothing listens there
    async with client_for(url) as client:
        response = await client.get("/readyz")
        assert response.status == 503
        assert await response.json() == {"status": "unavailable", "reason": "database"}
        assert (await client.get("/healthz")).status == 503
