"""The tick opens a batch of due rituals with a few statements (``Engine.fire_due``,
``Tx.open_batch``). What it writes must be exactly what opening them one by one writes:
the same occurrences with the same content, the same outbox messages, the same next due
times and followed-up actions; and replicas racing for the same minute open each ritual once.

The reference is the same engine with a batch of one ritual, on a second database seeded
the same way, with the same clock and the same random seed (rituals are claimed in one
order: due time, then id, so both runs draw from the generator in the same order).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rituals.engine import Engine, EngineSettings
from rituals.kinds import KINDS
from storage.db import create_engine, upgrade
from storage.models import Action, Holiday, Member, Occurrence, OutboxMessage, Ritual, Team, TeamMember
from storage.repo import Repo
from tests.fakes.bulk import seed_rituals
from tests.fakes.platform import RecordingPlatform
from tests.fakes.postgres import fresh_database
from tests.fakes.sealing import SEALER

NOW = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)  # Monday 09:00:30 in Amsterdam
DUE = NOW - timedelta(seconds=30)
SCHEDULES = ("every monday at 09:00", 'cron "0 9 * * 1"', "every weekday at 09:00", "every 2 weeks on monday at 09:00")
ZONES = ("Europe/Amsterdam", "Europe/Brussels", "UTC")
PER_KIND = 250  # 8 kinds: 2,000 due rituals


async def seed(url: str) -> None:
    """2,000 due rituals of every kind, one team each: three members a team; a school
    holiday today for every tenth team (skipped), an agreed action for every seventh ritual
    (followed up), and an earlier round still open for every eleventh (closed first)."""
    engine = create_engine(url)
    try:
        for n, kind in enumerate(sorted(KINDS)):
            await seed_rituals(
                engine,
                PER_KIND,
                now=DUE - timedelta(days=7),
                kind=kind,
                schedules=SCHEDULES,
                timezones=ZONES,
                due=lambda i, s, tz: DUE,
                workspace=f"W{n}",
                platform="test",
            )
        await _extras(engine)
    finally:
        await engine.dispose()


async def _extras(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        teams = (await conn.execute(select(Team.id, Team.workspace_id).order_by(Team.id))).all()
        await conn.execute(
            insert(Member),
            [
                {"platform": "test", "workspace_id": ws, "user_id": f"U{team}-{m}"}
                | {"display_name": f"Person {team}.{m}", "created_at": DUE}
                for team, ws in teams
                for m in range(3)
            ],
        )
        members = (await conn.execute(select(Member.id, Member.user_id))).all()
        await conn.execute(
            insert(TeamMember),
            [{"team_id": int(user.split("-")[0][1:]), "member_id": member} for member, user in members],
        )
        await conn.execute(
            insert(Holiday),
            [
                {"team_id": team, "start_date": date(2026, 11, 23), "end_date": date(2026, 11, 27), "name": "break"}
                for team, _ in teams[::10]
            ],
        )
        rituals = (await conn.execute(select(Ritual.id).order_by(Ritual.id))).scalars().all()
        await conn.execute(
            insert(Action),
            [{"ritual_id": r, "text": f"agreed {r}", "created_at": DUE} for r in rituals[::7]],
        )
        await conn.execute(
            insert(Occurrence),
            [
                {
                    "ritual_id": r,
                    "planned_at": DUE - timedelta(days=7),
                    "status": "open",
                    "content": {},
                    "opened_at": DUE - timedelta(days=7),
                    "closes_at": DUE + timedelta(days=1),
                    "claimed_by": "earlier",
                }
                for r in rituals[::11]
            ],
        )


async def tick(url: str, batch: int) -> int:
    repo = Repo(create_engine(url), SEALER)
    try:
        engine = Engine(
            repo,
            {"test": RecordingPlatform()},
            settings=EngineSettings(tick_batch=batch),
            clock=lambda: NOW,
            rng=random.Random(11),
        )
        return await engine.fire_due(NOW)
    finally:
        await repo.dispose()


async def snapshot(url: str) -> dict[str, Any]:
    """Everything the tick wrote, with database ids replaced by the ritual they belong to."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            occurrences = (await conn.execute(select(Occurrence.__table__).order_by(Occurrence.id))).all()
            ritual_of = {o.id: (o.ritual_id, o.planned_at) for o in occurrences}
            outbox = (await conn.execute(select(OutboxMessage.__table__).order_by(OutboxMessage.id))).all()
            rituals = (await conn.execute(select(Ritual.id, Ritual.next_due_at, Ritual.paused))).all()
            actions = (await conn.execute(select(Action.ritual_id, Action.followup_occurrence_id))).all()
    finally:
        await engine.dispose()

    def payload(p: dict[str, Any]) -> str:
        return repr(sorted((k, ritual_of.get(v) if k == "occurrence_id" else v) for k, v in p.items()))

    return {
        "occurrences": sorted(
            (o.ritual_id, o.planned_at, o.status, o.reason, repr(o.content), o.closes_at, o.remind_at, o.closed_at)
            for o in occurrences
        ),
        "outbox": sorted(
            (ritual_of[m.occurrence_id], repr(m.destination), payload(m.payload), m.status) for m in outbox
        ),
        "rituals": sorted(rituals),
        "actions": sorted((a.ritual_id, ritual_of.get(a.followup_occurrence_id)) for a in actions),
    }


@pytest.fixture(params=["sqlite", "postgres"])
async def two_databases(request, tmp_path) -> list[str]:
    if request.param == "sqlite":
        urls = [f"sqlite+aiosqlite:///{tmp_path / f'ritme{n}.db'}" for n in range(2)]
    else:
        server = request.getfixturevalue("postgres_url")
        urls = [fresh_database(server) for _ in range(2)]
    for url in urls:
        await asyncio.to_thread(upgrade, url)
        await seed(url)
    return urls


async def test_a_batched_tick_writes_what_opening_one_by_one_writes(two_databases: list[str]) -> None:
    one_by_one, batched = two_databases
    opened = await tick(one_by_one, 1)
    assert await tick(batched, 200) == opened
    reference, result = await snapshot(one_by_one), await snapshot(batched)
    assert result == reference

    by_status: dict[str, int] = {}
    for row in result["occurrences"]:
        by_status[row[2]] = by_status.get(row[2], 0) + 1
    due = PER_KIND * len(KINDS)
    skipped = len(range(0, due, 10))
    earlier = len(range(0, due, 11))
    assert by_status["skipped"] == skipped
    assert opened == due - skipped  # every due ritual once: opened, or skipped for its holiday
    # The earlier open rounds of rituals that opened again were closed first, with their results.
    assert by_status["open"] + by_status["closed"] == due - skipped + earlier
    assert any(followed is not None for _, followed in result["actions"])
    assert all(when is not None and when > NOW for _, when, _ in result["rituals"])


@pytest.mark.postgres
async def test_three_replicas_racing_for_the_same_minute_open_each_ritual_once(postgres_url: str) -> None:
    url = fresh_database(postgres_url)
    await asyncio.to_thread(upgrade, url)
    await seed(url)
    repos = [Repo(create_engine(url), SEALER) for _ in range(3)]
    try:
        engines = [
            Engine(
                repo,
                {"test": RecordingPlatform()},
                settings=EngineSettings(replica=f"r{n}", tick_batch=50),
                clock=lambda: NOW,
            )
            for n, repo in enumerate(repos)
        ]
        opened = await asyncio.gather(*(engine.fire_due(NOW) for engine in engines))
    finally:
        for repo in repos:
            await repo.dispose()
    result = await snapshot(url)
    now_planned = [row for row in result["occurrences"] if row[1] == DUE]
    assert len(now_planned) == len({row[0] for row in now_planned}) == PER_KIND * len(KINDS)
    assert sum(opened) == sum(1 for row in now_planned if row[2] != "skipped")
    assert all(n > 0 for n in opened), f"every replica took a share of the minute: {opened}"
    prompts = [m for m in result["outbox"] if "'prompt'" in m[2]]
    assert len(prompts) == len({m[0] for m in prompts})  # one prompt per occurrence
