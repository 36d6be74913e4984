"""Many rituals: 100,000 rituals stored; how long until the engine is ready, and at what memory.

Ritme keeps each ritual's next due time in the database (indexed) and runs one short
APScheduler tick that claims what is due, so start-up loads nothing per ritual. Measured in
a fresh child process each: from spawn to the end of the first tick (the app built with
``create_app``, its lifecycles started, the first tick done), and the resident memory then.
"Above an empty process" is the same child on an empty database.

Baselines, each in a fresh child process reading the same 100,000 rituals:
- plain APScheduler holding one job per ritual (the ritual's own trigger), added and started;
- a bare heap of (next fire time, ritual id).

Correctness: for a sample of rituals, the next due time Ritme stored equals the next run
time APScheduler computes for the same ritual, and for the cron ones APScheduler's own
``CronTrigger`` agrees too.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bench import ROOT, Database, Figure, rss_mb

RITUALS = 100_000
SCHEDULES = (
    "every monday at 09:00",
    "every weekday at 16:30",
    "every 2 weeks on friday at 15:00",
    "every month on the first tuesday at 09:00",
    'cron "0 9 * * 1"',
    'cron "30 8 * * 1-5"',
    "elke maandag om 09:00",
    "elke werkdag om 16:30",
    "every wednesday at 12:15 open 4h",
    "every month on the last friday at 14:00",
    'cron "0 16 1,15 * *"',
    "every 3 weeks on monday at 08:30",
)
ZONES = ("Europe/Amsterdam", "Europe/Brussels", "Europe/London", "America/New_York", "Asia/Kolkata", "UTC")
SAMPLE = 300
DOW = dict(zip("01234567", ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"), strict=True))


def load_rituals(url: str) -> list[tuple[int, str, str]]:
    """(ritual id, schedule, team timezone) of every ritual, with a plain engine."""
    from sqlalchemy import select

    from storage.db import create_engine
    from storage.models import Ritual, Team

    async def read() -> list[tuple[int, str, str]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(Ritual.id, Ritual.schedule, Team.timezone)
                    .join(Team, Team.id == Ritual.team_id)
                    .order_by(Ritual.id)
                )
                return [(i, s, tz) for i, s, tz in rows.all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


# -- children: each prints one JSON line ------------------------------------------------


def child_ritme(url: str) -> dict[str, Any]:
    from aiohttp import web

    from bot.config import Settings
    from bot.server import ENGINE, create_app

    imported = rss_mb()

    async def main() -> dict[str, Any]:
        app = create_app(Settings(RITME_DATABASE_URL=url, RITME_PLAYGROUND=False, RITME_TICK_SECONDS=60))
        engine = app[ENGINE]
        ticked = asyncio.Event()
        tick = engine.tick

        async def first_tick() -> int:
            try:
                return await tick()
            finally:
                ticked.set()

        engine.tick = first_tick  # type: ignore[method-assign]
        runner = web.AppRunner(app)
        started = time.perf_counter()
        await runner.setup()  # the lifecycles: the tick and the dispatcher start here
        await asyncio.wait_for(ticked.wait(), timeout=120)
        ready = time.perf_counter() - started
        rss = rss_mb()
        await runner.cleanup()
        return {"after_imports_s": ready, "rss_mb": rss, "imports_rss_mb": imported}

    return asyncio.run(main())


def child_apscheduler(url: str, sample: list[int]) -> dict[str, Any]:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from rituals.schedule import parse_schedule

    rituals = load_rituals(url)
    loaded = rss_mb()

    async def noop(ritual_id: int) -> None:
        return None

    async def main() -> dict[str, Any]:
        scheduler = AsyncIOScheduler(timezone="UTC")
        started = time.perf_counter()
        for ritual_id, spec, tz in rituals:
            scheduler.add_job(noop, parse_schedule(spec).trigger(ZoneInfo(tz)), args=(ritual_id,), id=str(ritual_id))
        added = time.perf_counter() - started
        scheduler.start()  # computes every job's next run time, blocking the loop
        ready = time.perf_counter() - started
        rss = rss_mb()
        times = {str(i): scheduler.get_job(str(i)).next_run_time.isoformat() for i in sample}
        scheduler.shutdown(wait=False)
        return {"add_s": added, "ready_s": ready, "rss_mb": rss, "loaded_rss_mb": loaded, "next": times}

    return asyncio.run(main())


def child_heap(url: str) -> dict[str, Any]:
    from rituals.schedule import parse_schedule

    rituals = load_rituals(url)
    loaded = rss_mb()
    now = datetime.now(ZoneInfo("UTC"))
    started = time.perf_counter()
    heap = []
    for ritual_id, spec, tz in rituals:
        due = parse_schedule(spec).next_after(now, ZoneInfo(tz))
        if due is not None:
            heap.append((due, ritual_id))
    heapq.heapify(heap)
    ready = time.perf_counter() - started
    return {"ready_s": ready, "rss_mb": rss_mb(), "loaded_rss_mb": loaded, "first": heap[0][0].isoformat()}


def spawn(*args: str) -> tuple[dict[str, Any], float]:
    """Run a child; its JSON line and the wall time from spawn to its exit."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.many_rituals", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
    return json.loads(line), wall


def spawn_ritme(url: str) -> dict[str, Any]:
    """Ritme's child, timed from spawn to the first tick done (imports included)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.many_rituals", "ritme", url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()  # never leave it behind
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"ritme child failed:\n{err[-4000:]}")
    data: dict[str, Any] = json.loads([x for x in out.splitlines() if x.startswith("{")][-1])
    data["spawn_to_ready_s"] = data.pop("ready_at") - started
    return data


async def run(db: Database, scale: float = 1.0) -> list[Figure]:
    from sqlalchemy import select

    from rituals.schedule import parse_schedule
    from storage.db import create_engine
    from storage.models import Ritual, Team
    from tests.fakes.bulk import seed_rituals, utc_now

    count = max(1000, int(RITUALS * scale))
    empty_url = await db.fresh("rituals_empty")
    url = await db.fresh("rituals")
    engine = create_engine(url)
    now = utc_now()
    clock = time.perf_counter()
    await seed_rituals(engine, count, now=now, schedules=SCHEDULES, timezones=ZONES)
    seed_s = time.perf_counter() - clock
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Ritual.id, Ritual.schedule, Ritual.next_due_at, Team.timezone).join(
                    Team, Team.id == Ritual.team_id
                )
            )
        ).all()
    await engine.dispose()
    sample = random.Random(7).sample(rows, min(SAMPLE, len(rows)))

    empty = await asyncio.to_thread(spawn_ritme, empty_url)
    full = await asyncio.to_thread(spawn_ritme, url)
    aps, _ = await asyncio.to_thread(spawn, "apscheduler", url, ",".join(str(r.id) for r in sample))
    heap, _ = await asyncio.to_thread(spawn, "heap", url)

    # Spot-check: Ritme's stored next due time against APScheduler's, and for cron
    # schedules against APScheduler's own CronTrigger as well.
    from apscheduler.triggers.cron import CronTrigger

    wrong = []
    for r in sample:
        theirs = datetime.fromisoformat(aps["next"][str(r.id)])
        if r.next_due_at != theirs:
            wrong.append((r.id, r.schedule, r.next_due_at, theirs))
        spec = parse_schedule(r.schedule)
        if r.schedule.startswith("cron"):
            minute, hour, day, month, dow = r.schedule.split('"')[1].split()
            # APScheduler 3 counts weekdays from Monday = 0, crontab from Sunday = 0: use names.
            dow = "".join(DOW.get(c, c) for c in dow)
            cron = CronTrigger(
                minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=ZoneInfo(r.timezone)
            ).get_next_fire_time(None, now)
            if cron is None or cron != r.next_due_at:
                wrong.append((r.id, r.schedule, r.next_due_at, cron))
        assert spec is not None

    ritme_s = full["spawn_to_ready_s"]
    ritme_mb = full["rss_mb"] - empty["rss_mb"]
    aps_mb = aps["rss_mb"] - aps["loaded_rss_mb"]
    heap_mb = heap["rss_mb"] - heap["loaded_rss_mb"]
    return [
        Figure(
            bench="many rituals",
            what=f"{count:,} rituals: spawn to first tick done",
            unit="s",
            ritme=ritme_s,
            baseline=aps["ready_s"],
            baseline_name="APScheduler, one job per ritual: add + start (after loading)",
            higher_is_better=False,
            target="< 3 s",
            met=ritme_s < 3,
            notes=f"empty database: {empty['spawn_to_ready_s']:.2f} s; app start to first tick "
            f"{full['after_imports_s']:.2f} s (empty {empty['after_imports_s']:.2f} s); "
            f"APScheduler add {aps['add_s']:.1f} s; bare heap {heap['ready_s']:.2f} s; "
            f"seeding the rituals took {seed_s:.1f} s",
        ),
        Figure(
            bench="many rituals",
            what=f"memory for {count:,} rituals, above the same process on an empty database",
            unit="MB",
            ritme=ritme_mb,
            baseline=aps_mb,
            baseline_name="APScheduler jobs, above the loaded rituals",
            higher_is_better=False,
            target="< 80 MB",
            met=ritme_mb < 80,
            notes=f"ritme {full['rss_mb']:.0f} MB vs {empty['rss_mb']:.0f} MB empty; bare heap +{heap_mb:.0f} MB",
        ),
        Figure(
            bench="many rituals",
            what=f"next due times spot-checked ({len(sample)} rituals)",
            unit="wrong",
            ritme=len(wrong),
            higher_is_better=False,
            target="0 wrong",
            met=not wrong,
            notes="; ".join(f"#{i} {s}: {a} vs {b}" for i, s, a, b in wrong[:3]),
        ),
    ]


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "ritme":
        result = child_ritme(sys.argv[2])
        result["ready_at"] = time.perf_counter()  # CLOCK_MONOTONIC: comparable with the parent's
    elif kind == "apscheduler":
        result = child_apscheduler(sys.argv[2], [int(i) for i in sys.argv[3].split(",") if i])
    else:
        result = child_heap(sys.argv[2])
    print(json.dumps(result))
