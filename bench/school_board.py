"""A school board's peak: what memory and CPU 200 teams need (README, "Run it for your school").

200 teams (Slack channels), each with a reflection ritual due at the same moment, as on a
Monday at 09:00 when every team keeps the same rhythm; then each team's 15 members answer,
16 answers in flight at a time (far more at once than people answer in a real morning).
Ritme is one real ``ritme serve`` process, Slack configured and pointed at a fake Slack Web
API in its own process; the load comes from this process, on 127.0.0.1.

Measured from ``/proc`` of the serve process: its resident memory once it answers (before
any work: the baseline), its peak resident memory (``VmHWM``) after the whole peak, and the
CPU time it used (user + system) for the fan-out of the 200 prompts and for the answers, with
the wall time of each. CPU time over wall time is the share of one core the peak took.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

from bench import Database, Figure, quiet_logs, wait_until
from bench.answers import Run, healthy, post, serve, stop, submission

TEAMS = 200
MEMBERS = 15
IN_FLIGHT = 16


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (``/proc/PID/stat``, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, key: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (the peak) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


async def answer_all(url: str, work: list[tuple[int, str, str]]) -> tuple[Run, float]:
    """Every (occurrence, channel, member) answers once, ``IN_FLIGHT`` at a time."""
    run = Run()
    queue = iter(work)
    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def worker() -> None:
            for occurrence, channel, user in queue:
                body = submission(occurrence, user, f"answer of {user}", channel=channel)
                await post(session, url, body, run, user)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return run, time.monotonic() - started


async def run(db: Database, scale: float = 1.0) -> list[Figure]:
    from sqlalchemy import func, select

    from storage.db import create_engine
    from storage.models import Occurrence, Reply, Ritual, Team
    from tests.fakes.bulk import seed_rituals, utc_now
    from tests.fakes.servers import free_port
    from tests.fakes.slack_server import SlackProcess

    teams = max(10, int(TEAMS * scale))
    url = await db.fresh("school_board")
    engine = create_engine(url)
    now = utc_now()
    workdir = db.tmp / f"school-board-{db.backend}"
    workdir.mkdir(exist_ok=True)
    port = free_port()
    async with quiet_logs():
        with SlackProcess() as slack:
            ritme = serve(url, port, slack.api_url, workdir)
            try:
                assert await healthy(f"http://127.0.0.1:{port}/healthz"), (workdir / "ritme.log").read_text()[-2000:]
                idle_mb = memory_mb(ritme.pid, "VmRSS")
                cpu_idle = cpu_seconds(ritme.pid)
                # The peak: every team's ritual falls due at once.
                fan_started = time.monotonic()
                await seed_rituals(engine, teams, now=now, due=lambda i, s, tz: now - timedelta(seconds=1))

                async def all_prompted() -> bool:
                    return (await asyncio.to_thread(slack.stats))["methods"].get("chat.postMessage", 0) >= teams

                assert await wait_until(all_prompted, within=300, every=0.1), "not every prompt went out"
                fan_seconds = time.monotonic() - fan_started
                cpu_fanned = cpu_seconds(ritme.pid)
                async with engine.connect() as conn:
                    rows = await conn.execute(
                        select(Occurrence.id, Team.channel_id)
                        .join(Ritual, Ritual.id == Occurrence.ritual_id)
                        .join(Team, Team.id == Ritual.team_id)
                    )
                    occurrences = rows.all()
                users = (f"U{n:07d}" for n in itertools.count())
                work = [(occ, channel, next(users)) for occ, channel in occurrences for _ in range(MEMBERS)]
                answered, answer_seconds = await answer_all(f"http://127.0.0.1:{port}/slack/events", work)
                cpu_answered = cpu_seconds(ritme.pid)
                peak_mb = memory_mb(ritme.pid, "VmHWM")
            finally:
                stop(ritme)
            async with engine.connect() as conn:
                stored = int((await conn.execute(select(func.count()).select_from(Reply))).scalar_one())
    await engine.dispose()

    fan_cpu = cpu_fanned - cpu_idle
    answer_cpu = cpu_answered - cpu_fanned
    bench = "school board"
    base = "the same ritme serve once it answers, before any work"
    return [
        Figure(
            bench=bench,
            what=f"peak resident memory over the peak of {teams} teams",
            unit="MB",
            ritme=peak_mb,
            baseline=idle_mb,
            baseline_name=base,
            higher_is_better=False,
            target="< 512 MB",
            met=peak_mb < 512,
        ),
        Figure(
            bench=bench,
            what=f"CPU time for the fan-out of {teams} prompts (ritual due to prompt posted)",
            unit="s",
            ritme=fan_cpu,
            higher_is_better=False,
            notes=f"in {fan_seconds:.1f} s of wall time: {fan_cpu / fan_seconds:.0%} of one core",
        ),
        Figure(
            bench=bench,
            what=f"CPU time for {len(work):,} answers ({MEMBERS} per team, {IN_FLIGHT} in flight)",
            unit="s",
            ritme=answer_cpu,
            higher_is_better=False,
            notes=(
                f"in {answer_seconds:.1f} s of wall time: {answer_cpu / answer_seconds:.0%} of one core; "
                f"{answer_cpu / len(work) * 1000:.1f} ms of CPU an answer"
            ),
        ),
        Figure(
            bench=bench,
            what="acknowledged answers stored",
            unit="",
            ritme=stored,
            baseline=answered.acked,
            baseline_name="acknowledged",
            target="all stored",
            met=stored == answered.acked and answered.refused == 0,
            notes=f"{answered.refused} requests not acknowledged",
        ),
    ]
