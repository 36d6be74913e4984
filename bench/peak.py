"""Monday 09:00: 10,000 rituals due in the same minute, opened by the tick.

Ritme: the real engine's tick (``Engine.fire_due``) on 10,000 due reflections with the
many-rituals benchmark's mix of 12 schedules and 6 time zones: it claims a batch (its
``tick_batch``, 500), plans it in memory and writes next due times, occurrences, outbox
rows (and followed-up actions) with a statement each.

Floor: the very rows that tick wrote (read back from its database), written into a second
database seeded the same way, per batch of 200 in a transaction of three bulk statements
(SQLAlchemy Core executemany, as the app's engine runs them) and nothing else: no claim, no
reading, no planning. Target: the tick's rate at least 0.4 of the floor's.

Replicas (PostgreSQL): 1, 2 and 3 processes, each the real engine started apart and waiting
at a barrier, tick the same minute together; the time from the barrier to the last
process done, and whether each ritual was opened exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import ROOT, Database, Figure, Timer, quiet_logs
from bench.many_rituals import SCHEDULES, ZONES

RITUALS = 10_000
BATCH = 200
TARGET = 0.4
NOW = datetime(2026, 11, 23, 8, 0, 30, tzinfo=UTC)  # the minute they are due, 30 s in
DUE = NOW - timedelta(seconds=30)


async def seeded(db: Database, name: str, count: int) -> str:
    from storage.db import create_engine
    from tests.fakes.bulk import seed_rituals

    url = await db.fresh(name)
    engine = create_engine(url)
    try:
        await seed_rituals(
            engine, count, now=DUE - timedelta(days=7), schedules=SCHEDULES, timezones=ZONES, due=lambda i, s, tz: DUE
        )
    finally:
        await engine.dispose()
    return url


async def tick(url: str) -> tuple[int, float]:
    from rituals.engine import Engine, EngineSettings
    from storage.db import create_engine
    from storage.repo import Repo
    from tests.fakes.sealing import SEALER

    repo = Repo(create_engine(url), SEALER)
    try:
        engine = Engine(repo, {}, settings=EngineSettings(), clock=lambda: NOW)
        clock = Timer()
        opened = await engine.fire_due(NOW)
        return opened, clock.seconds
    finally:
        await repo.dispose()


async def written(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows the tick wrote: next due times, occurrences and outbox messages."""
    from sqlalchemy import select

    from storage.db import create_engine
    from storage.models import Occurrence, OutboxMessage, Ritual, table_of

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rituals = [
                {"ritual": r.id, "when": r.next_due_at}
                for r in await conn.execute(select(Ritual.id, Ritual.next_due_at).order_by(Ritual.id))
            ]
            occurrences = [
                dict(o._mapping) for o in await conn.execute(select(table_of(Occurrence)).order_by(Occurrence.id))
            ]
            outbox = [
                {k: v for k, v in m._mapping.items() if k != "id"}
                for m in await conn.execute(select(table_of(OutboxMessage)).order_by(OutboxMessage.id))
            ]
    finally:
        await engine.dispose()
    return rituals, occurrences, outbox


async def floor(url: str, rows: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]) -> float:
    """Seconds to write the same rows per batch of ``BATCH``: three executemany statements."""
    from sqlalchemy import bindparam, insert, select, update

    from storage.db import create_engine
    from storage.models import Occurrence, OutboxMessage, Ritual, table_of

    rituals, occurrences, outbox = rows
    table = table_of(Ritual)
    set_next = update(table).where(table.c.id == bindparam("ritual")).values(next_due_at=bindparam("when"))
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:  # the pool's connection made before the clock starts
            await conn.execute(select(1))
        clock = Timer()
        for start in range(0, len(occurrences), BATCH):
            async with engine.begin() as conn:
                await conn.execute(set_next, rituals[start : start + BATCH])
                await conn.execute(insert(table_of(Occurrence)), occurrences[start : start + BATCH])
                await conn.execute(insert(table_of(OutboxMessage)), outbox[start : start + BATCH])
        return clock.seconds
    finally:
        await engine.dispose()


REPLICA = """
import asyncio, json, sys, time
from datetime import datetime
from bench.peak import replica_tick
url, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
print(json.dumps(asyncio.run(replica_tick(url, now, sys.stdin))), flush=True)
"""


async def replica_tick(url: str, now: datetime, barrier: Any) -> dict[str, Any]:
    """One replica: the real engine, connected and warmed up, ticks once the barrier opens."""
    from rituals.engine import Engine, EngineSettings
    from storage.db import create_engine, ping
    from storage.repo import Repo
    from tests.fakes.sealing import SEALER

    repo = Repo(create_engine(url), SEALER)
    try:
        engine = Engine(repo, {}, settings=EngineSettings(replica=f"p{os.getpid()}"), clock=lambda: now)
        await ping(repo.engine)
        print("ready", flush=True)
        await asyncio.to_thread(barrier.readline)
        started = time.monotonic()
        opened = await engine.fire_due(now)
        return {"opened": opened, "seconds": time.monotonic() - started}
    finally:
        await repo.dispose()


def replicas(url: str, count: int) -> tuple[float, list[int]]:
    """Seconds from the barrier until the last of ``count`` replica processes is done."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA, url, NOW.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.monotonic()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.communicate(timeout=600)[0]) for proc in procs]
    return time.monotonic() - started, [r["opened"] for r in results]


async def opened_once(url: str) -> tuple[int, int]:
    """(occurrences planned for the minute, distinct rituals among them)."""
    from sqlalchemy import func, select

    from storage.db import create_engine
    from storage.models import Occurrence

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(func.count(), func.count(func.distinct(Occurrence.ritual_id))).where(
                        Occurrence.planned_at == DUE
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    return int(rows[0]), int(rows[1])


async def run(db: Database, scale: float = 1.0) -> list[Figure]:
    count = max(400, int(RITUALS * scale))
    async with quiet_logs():
        url = await seeded(db, "peak", count)
        opened, tick_s = await tick(url)
        assert opened == count, f"the tick opened {opened} of {count}"
        floor_s = await floor(await seeded(db, "peak-floor", count), await written(url))
    ratio = floor_s / tick_s
    figures = [
        Figure(
            bench="peak",
            what=f"tick opening {count:,} due rituals (12 schedules, 6 zones)",
            unit="rituals/s",
            ritme=count / tick_s,
            baseline=count / floor_s,
            baseline_name=f"floor: the same rows in batches of {BATCH}, three executemany statements",
            target=f">= {TARGET} of the floor",
            met=ratio >= TARGET,
            notes=f"tick {tick_s:.2f} s, floor {floor_s:.2f} s",
        )
    ]
    if db.backend == "postgresql":
        figures += await replica_figures(db, count)
    return figures


async def replica_figures(db: Database, count: int) -> list[Figure]:
    times: dict[int, float] = {}
    notes: list[str] = []
    exact = True
    for n in (1, 2, 3):
        url = await seeded(db, f"peak-r{n}", count)
        seconds, opened = await asyncio.to_thread(replicas, url, n)
        rows, distinct = await opened_once(url)
        exact = exact and rows == distinct == count == sum(opened)
        times[n] = seconds
        notes.append(f"{n}: {seconds:.2f} s ({'+'.join(map(str, opened))} opened, {rows} rows, {distinct} rituals)")
    return [
        Figure(
            bench="peak",
            what=f"{n} replicas ticking the same minute ({count:,} rituals)",
            unit="s",
            ritme=times[n],
            baseline=times[1],
            baseline_name="one replica",
            higher_is_better=False,
            target="each ritual opened exactly once",
            met=exact,
            notes="; ".join(notes) if n == 3 else f"speed-up {times[1] / times[n]:.2f}x on {os.cpu_count()} cores",
        )
        for n in (2, 3)
    ]
