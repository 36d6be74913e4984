"""Faults: a replica stopped gracefully mid-fan-out, and the database going away and back.

Waits are bounded polls with generous limits; nothing asserts on time.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.server import ENGINE, create_app
from rituals.delivery import notice_to_dict
from rituals.engine import Engine, EngineSettings
from rituals.types import ChannelRef, MessageRef, Notice, Prompt
from storage.db import create_engine, upgrade
from storage.models import OutboxMessage
from storage.repo import Repo
from tests.fakes.bulk import channel_name, seed_rituals, utc_now
from tests.fakes.sealing import SEALER
from tests.fakes.secret_key import SECRET_KEY
from tests.fakes.servers import Replica, free_port, poll, replica_env
from tests.fakes.slack_server import SlackProcess

RITUALS = 400


async def test_sigterm_mid_fan_out_finishes_what_it_took_and_loses_nothing(tmp_path: Path) -> None:
    """SIGTERM halfway: the replica finishes the sends under way, gives back what it had
    claimed and not started, takes nothing more and exits 0; a replica started afterwards
    sends the rest. Every channel gets its prompt exactly once: a graceful stop leaves
    nothing in doubt."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    await asyncio.to_thread(upgrade, url)
    db = create_engine(url)
    now = utc_now()
    await seed_rituals(db, RITUALS, now=now, due=lambda i, spec, tz: now - timedelta(seconds=5))

    async def scalar(stmt: Any) -> Any:
        async with db.connect() as conn:
            return (await conn.execute(stmt)).scalar_one()

    replicas: list[Replica] = []
    try:
        # Slack answers a post in ten with 429 and Retry-After (as under its rate limits): the fan-out
        # takes long enough to be stopped halfway on a fast machine too.
        with SlackProcess(ratelimit_every=10) as slack:
            env = replica_env(url, slack)

            async def posted() -> int:
                return sum((await asyncio.to_thread(slack.stats))["posts"].values())

            first = Replica("first", free_port(), env, tmp_path)
            replicas.append(first)

            async def some_out() -> bool:
                return await posted() >= RITUALS // 3 or first.proc.poll() is not None

            assert await poll(some_out, within=120), first.tail()
            first.stop(signal.SIGTERM)
            try:
                code = first.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                code = None
            assert code == 0, first.tail()
            # Nothing it claimed is left waiting for its lease to run out: sent, or given back.
            held = await scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.claimed_by == "first",
                    OutboxMessage.status == "pending",
                    OutboxMessage.lease_until.is_not(None),
                )
            )
            assert held == 0, first.tail()
            log = first.log.read_text()
            assert "engine stopping" in log and "engine stopped" in log

            second = Replica("second", free_port(), env, tmp_path)
            replicas.append(second)

            async def all_sent() -> bool:
                total = await scalar(select(func.count()).select_from(OutboxMessage))
                sent = await scalar(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
                )
                return total == RITUALS and sent == RITUALS

            assert await poll(all_sent, within=120, every=0.2), second.tail()
            stats = await asyncio.to_thread(slack.stats)
            # The first may have sent everything before its SIGTERM: the second is stopped once it
            # runs (a SIGTERM while Python still imports ends it as the signal does, not with exit 0).
            async with aiohttp.ClientSession() as http:
                assert await second.serving(http), second.tail()
            second.stop(signal.SIGTERM)
            assert second.proc.wait(timeout=60) == 0, second.tail()
        by_first = await scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.claimed_by == "first")
        )
    finally:
        for r in replicas:
            r.close()
        await db.dispose()
    posts = stats["posts"]
    assert sorted(posts.get(channel_name(i), 0) for i in range(RITUALS)) == [1] * RITUALS
    assert 0 < by_first < RITUALS  # it really stopped mid-fan-out


# -- the database goes away and comes back ----------------------------------------------


async def _admin(url: str, sql: str) -> None:
    """Run SQL on the server's ``postgres`` database (not the one being taken away)."""
    dsn = make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn, timeout=30)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def served(fresh_postgres_url: str) -> AsyncIterator[tuple[TestClient, SlackProcess, str]]:
    """A real app on a fresh PostgreSQL database, with its tick and dispatcher running."""
    await asyncio.to_thread(upgrade, fresh_postgres_url)
    with SlackProcess() as slack:
        settings = Settings(
            **{
                "RITME_DATABASE_URL": fresh_postgres_url,
                "RITME_SECRET_KEY": SECRET_KEY,
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": "fault-secret",
                "SLACK_API_URL": slack.api_url,
                "RITME_TICK_SECONDS": 0.5,
                "RITME_DEFAULT_LANGUAGE": "en",
            }
        )
        async with TestClient(TestServer(create_app(settings))) as client:
            yield client, slack, fresh_postgres_url


@pytest.mark.postgres
async def test_database_away_and_back_health_follows_and_the_engine_goes_on(
    served: tuple[TestClient, SlackProcess, str],
) -> None:
    """No connections allowed (superusers are not held back by CONNECTION LIMIT 0, so the
    database refuses all connections instead) and every backend terminated: /healthz
    answers 503 and the engine logs and waits. Allowed again: /healthz answers 200 and a
    ritual that comes due is prompted."""
    client, slack, url = served
    name = make_url(url).database

    async def health() -> int:
        response = await client.get("/healthz")
        await response.read()
        return response.status

    assert await health() == 200
    await _admin(url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await _admin(url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    try:

        async def down() -> bool:
            return await health() == 503

        assert await poll(down, within=60, every=0.2)
        await asyncio.sleep(1.5)  # ticks and claims fail meanwhile; they must not stop the engine
        assert await health() == 503
    finally:
        await _admin(url, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    async def up() -> bool:
        return await health() == 200

    assert await poll(up, within=60, every=0.2)

    db = create_engine(url)
    try:
        now = utc_now()
        await seed_rituals(db, 3, now=now, due=lambda i, spec, tz: now - timedelta(seconds=1))
    finally:
        await db.dispose()

    async def prompted() -> bool:
        posts = (await asyncio.to_thread(slack.stats))["posts"]
        return all(posts.get(channel_name(i), 0) >= 1 for i in range(3))

    assert await poll(prompted, within=60, every=0.2)


# -- a slow platform --------------------------------------------------------------------------


class SlowPlatform:
    """Records notices in order; sends to ``slow`` channels wait until ``release`` is set."""

    name = "slack"

    def __init__(self, slow: set[str]) -> None:
        self.slow = slow
        self.release = asyncio.Event()
        self.sent: list[tuple[str, str]] = []
        self.started: list[str] = []

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        self.started.append(notice.title)
        if to.channel_id in self.slow:
            await self.release.wait()
        self.sent.append((to.channel_id, notice.title))
        return MessageRef(channel_id=to.channel_id, message_id=notice.title)

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        raise AssertionError("no prompts here")

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        raise AssertionError("no prompts here")


async def _queue_notices(repo: Repo, per_channel: dict[str, int]) -> None:
    now = utc_now()
    team_ids = await seed_rituals(repo.engine, len(per_channel), now=now)
    async with repo.transaction() as tx:
        for team_number, (channel, count) in enumerate(per_channel.items()):
            team = await tx.team((await tx.ritual(team_ids[team_number])).team_id)  # type: ignore[union-attr]
            for n in range(count):
                await tx.enqueue(
                    team_id=team.id,
                    occurrence_id=None,
                    destination=ChannelRef(platform="slack", workspace_id="T1", channel_id=channel),
                    payload={"type": "notice", "notice": notice_to_dict(Notice(title=f"{channel}-{n}", text=""))},
                    at=now,
                )


async def test_a_slow_conversation_holds_up_only_itself_and_stopping_gives_back_the_rest(tmp_path: Path) -> None:
    """The dispatcher serves conversations side by side and each in order; one stuck send
    (a rate limit waited out inside the platform call) does not stop the others. Stopped,
    it finishes the send under way and gives back what it had not started."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    await asyncio.to_thread(upgrade, url)
    repo = Repo(create_engine(url), SEALER)
    channels = {channel_name(i): 5 for i in range(6)}
    slow = channel_name(0)
    await _queue_notices(repo, channels)
    platform = SlowPlatform({slow})
    engine = Engine(repo, {"slack": platform}, settings=EngineSettings(replica="r", batch=10, send_concurrency=3))
    stop = asyncio.Event()
    dispatcher = asyncio.create_task(engine.run_dispatcher(stop))
    try:

        async def others_done() -> bool:
            return len(platform.sent) == 25

        assert await poll(others_done, within=30)
        assert {c for c, _ in platform.sent} == set(channels) - {slow}
        for channel in set(channels) - {slow}:
            assert [t for c, t in platform.sent if c == channel] == [f"{channel}-{n}" for n in range(5)]
        assert platform.started.count(f"{slow}-0") == 1 and f"{slow}-1" not in platform.started
        stop.set()
        await asyncio.sleep(0.2)
        platform.release.set()  # the send under way finishes
        await asyncio.wait_for(dispatcher, timeout=30)
    finally:
        platform.release.set()
        stop.set()
        await asyncio.gather(dispatcher, return_exceptions=True)
    async with repo.session() as s:
        rows = (
            await s.execute(
                select(OutboxMessage.payload, OutboxMessage.status, OutboxMessage.lease_until, OutboxMessage.last_error)
            )
        ).all()
    await repo.dispose()
    waiting = {r.payload["notice"]["title"]: r for r in rows if r.status != "sent"}  # a sent notice keeps no text
    assert sorted(waiting) == [f"{slow}-{n}" for n in range(1, 5)]  # the slow one's first went out
    for row in waiting.values():  # given back: due again at once, for any replica
        assert (row.status, row.lease_until) == ("pending", None) and "stopping" in row.last_error
    assert sum(r.status == "sent" for r in rows) == 26


async def test_stopping_lets_the_tick_under_way_finish(tmp_path: Path) -> None:
    """A stop in the middle of a tick waits for it (APScheduler's own shutdown would cancel
    it) before the database engine is disposed."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'ritme.db'}"
    await asyncio.to_thread(upgrade, url)
    app = create_app(Settings(RITME_DATABASE_URL=url, RITME_PLAYGROUND=False, RITME_TICK_SECONDS=3600))
    engine = app[ENGINE]
    started, finished = asyncio.Event(), asyncio.Event()
    tick = engine.tick

    async def slow_tick() -> int:
        started.set()
        await asyncio.sleep(0.3)
        changed = await tick()
        finished.set()
        return changed

    engine.tick = slow_tick  # type: ignore[method-assign]
    server = TestServer(app)
    await server.start_server()
    try:
        await asyncio.wait_for(started.wait(), timeout=30)
    finally:
        await server.close()  # the app's cleanup: the background lifecycle stops here
    assert finished.is_set()
