"""Review: one team's year summary in a database of 1,000,000 stored replies.

The data: 273 teams of 25 members, each with a weekly reflection, a weekly check-out and a
weekly anonymous pulse for a year (about 3,900 replies per team, 1,000,000 together),
bulk-inserted (COPY on PostgreSQL, multi-row inserts on SQLite).

Ritme, for one team: the ``review`` command's summary (``bot.review.review_notice``, what
``/ritme review`` answers) and the review page's query (``bot.export.load_report``, the
year of rounds and answers the page is drawn from; the full page render is a note).
Baseline: one indexed GROUP BY of the team's year of replies per round, on the same index
(``ix_replies_team_created``). Median of repeated runs, warm.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bench import Database, Figure, quiet_logs

TEAMS = 273  # x 3 weekly rituals x 52 weeks x 25 members x 94% answering: 1,000,000 replies
MEMBERS = 25
WEEKS = 52
KINDS = ("reflection", "checkout", "pulse")
RUNS = 15
CHUNK = 20_000


def values_for(kind: str, rng: random.Random, statements: list[str]) -> dict[str, Any]:
    if kind == "reflection":
        return {
            "answer": rng.choice(
                [
                    "We asked each other more questions.",
                    "Planning together helped.",
                    "I learned from Bram's lesson.",
                    "Less rush this week.",
                ]
            )
        }
    if kind == "checkout":
        return {"score": rng.randint(1, 5), "takeaway": rng.choice(["Clear agreements", "Good energy", "Too long"])}
    return {key: rng.randint(1, 5) for key in statements}


async def seed(url: str, teams: int, now: datetime) -> tuple[int, int]:
    """The year of data; returns (the benchmarked team's id, replies stored)."""
    from rituals.library import PULSE_STATEMENTS, THEMES
    from storage.db import create_engine
    from storage.models import Member, Occurrence, Participation, Reply, Ritual, Team, TeamMember

    rng = random.Random(11)
    statements = [s.key for s in PULSE_STATEMENTS]
    theme = next(iter(THEMES.values()))
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    start = now - timedelta(weeks=WEEKS)
    total = 0
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(Team),
                [
                    {
                        "platform": "slack",
                        "workspace_id": "T1",
                        "channel_id": f"C{t:05d}",
                        "name": f"team {t}",
                        "timezone": "Europe/Amsterdam",
                        "language": "en",
                        "goal": "Every pupil reads with pleasure",
                        "holiday_country": None,
                        "anonymity_threshold": 3,
                        "retention_days": 730,
                        "settings": {},
                        "conversation": {},
                        "active": True,
                        "created_at": start,
                    }
                    for t in range(teams)
                ],
            )
            team_ids = list((await conn.execute(select(Team.id).order_by(Team.id))).scalars())
            await conn.execute(
                insert(Member),
                [
                    {
                        "platform": "slack",
                        "workspace_id": "T1",
                        "user_id": f"U{t:05d}{m:02d}",
                        "display_name": f"Member {m}",
                        "mute_reminders": False,
                        "created_at": start,
                    }
                    for t in range(teams)
                    for m in range(MEMBERS)
                ],
            )
            member_rows = (await conn.execute(select(Member.id, Member.user_id).order_by(Member.id))).all()
            members = {uid: mid for mid, uid in member_rows}
            await conn.execute(
                insert(TeamMember),
                [
                    {"team_id": team_ids[t], "member_id": members[f"U{t:05d}{m:02d}"]}
                    for t in range(teams)
                    for m in range(MEMBERS)
                ],
            )
            await conn.execute(
                insert(Ritual),
                [
                    {
                        "team_id": tid,
                        "kind": kind,
                        "schedule": "every monday at 09:00",
                        "open_seconds": 2 * 86400,
                        "options": {},
                        "paused": False,
                        "next_due_at": now + timedelta(days=1),
                        "created_at": start,
                    }
                    for tid in team_ids
                    for kind in KINDS
                ],
            )
            rituals = (await conn.execute(select(Ritual.id, Ritual.team_id, Ritual.kind))).all()
            occurrences = []
            for rid, _tid, kind in rituals:
                content = (
                    {"theme": theme.key, "question": theme.questions[0]}
                    if kind == "reflection"
                    else {"statements": statements}
                    if kind == "pulse"
                    else {}
                )
                for w in range(WEEKS):
                    planned = start + timedelta(weeks=w)
                    occurrences.append(
                        {
                            "ritual_id": rid,
                            "planned_at": planned,
                            "status": "closed",
                            "reason": None,
                            "content": content,
                            "opened_at": planned,
                            "closes_at": planned + timedelta(days=2),
                            "closed_at": planned + timedelta(days=2),
                            "claimed_by": "bench",
                        }
                    )
            for i in range(0, len(occurrences), CHUNK):
                await conn.execute(insert(Occurrence), occurrences[i : i + CHUNK])
            occ_rows = (
                await conn.execute(
                    select(Occurrence.id, Occurrence.planned_at, Ritual.team_id, Ritual.kind).join(
                        Ritual, Ritual.id == Occurrence.ritual_id
                    )
                )
            ).all()
        team_index = {tid: t for t, tid in enumerate(team_ids)}

        def replies() -> Any:
            for occ_id, planned, tid, kind in occ_rows:
                t = team_index[tid]
                for m in range(MEMBERS):
                    if rng.random() < 0.06:  # not everyone answers every round
                        continue
                    day = (planned + timedelta(days=rng.randint(0, 1))).date()
                    anonymous = kind == "pulse"
                    mid = members[f"U{t:05d}{m:02d}"]
                    yield (
                        {
                            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            "occurrence_id": occ_id,
                            "member_id": None if anonymous else mid,
                            "team_id": tid,
                            "values": values_for(kind, rng, statements),
                            "created_on": day,
                            "updated_at": None,
                        },
                        (occ_id, mid) if anonymous else None,
                    )

        batch: list[dict[str, Any]] = []
        taken: list[tuple[int, int]] = []

        async def flush() -> None:
            nonlocal batch, taken, total
            if postgres:
                await copy(engine, batch, taken)
            else:
                async with engine.begin() as conn:
                    await conn.execute(insert(Reply), batch)
                    if taken:
                        await conn.execute(
                            insert(Participation), [{"occurrence_id": o, "member_id": m} for o, m in taken]
                        )
            total += len(batch)
            batch, taken = [], []

        for reply, participation in replies():
            batch.append(reply)
            if participation:
                taken.append(participation)
            if len(batch) >= CHUNK:
                await flush()
        if batch:
            await flush()
        if postgres:
            async with engine.begin() as conn:
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return team_ids[teams // 2], total


async def copy(engine: Any, replies: list[dict[str, Any]], taken: list[tuple[int, int]]) -> None:
    """PostgreSQL COPY through asyncpg: a million rows in seconds, not minutes."""
    import json

    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        await driver.copy_records_to_table(
            "replies",
            columns=["id", "occurrence_id", "member_id", "team_id", "values", "created_on", "updated_at"],
            records=[
                (
                    r["id"],
                    r["occurrence_id"],
                    r["member_id"],
                    r["team_id"],
                    json.dumps(r["values"]),
                    r["created_on"],
                    None,
                )
                for r in replies
            ],
        )
        if taken:
            await driver.copy_records_to_table("participations", columns=["occurrence_id", "member_id"], records=taken)


async def median_ms(work: Callable[[], Awaitable[Any]], runs: int = RUNS) -> float:
    await work()  # warm: caches, prepared statements
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def run(db: Database, scale: float = 1.0) -> list[Figure]:
    from bot.export import load_report
    from bot.review import review_notice
    from bot.review_page import render_page
    from rituals.engine import Engine
    from rituals.i18n import translator
    from storage.answers.seal import Sealer
    from storage.db import create_engine
    from storage.models import Reply
    from storage.queries import Queries
    from storage.repo import Repo

    teams = max(4, int(TEAMS * scale))
    url = await db.fresh("review")
    now = datetime.now(UTC).replace(microsecond=0)
    clock = time.perf_counter()
    team_id, total = await seed(url, teams, now)
    seed_s = time.perf_counter() - clock

    repo = Repo(create_engine(url), Sealer(os.urandom(32)))
    engine = Engine(repo, {})
    queries = Queries(repo)
    _ = translator("en")
    try:
        async with quiet_logs():
            team = await repo.team(team_id)
            rituals = await repo.rituals(team_id)
            notice = await review_notice(repo, engine, team, rituals, _)
            assert "#" in notice.text, notice
            report = await load_report(queries, team, now)
            answers = sum(len(a) for a in report.named.values()) + sum(a.answered for a in report.anonymous.values())

            review_ms = await median_ms(lambda: review_notice(repo, engine, team, rituals, _))
            page_ms = await median_ms(lambda: load_report(queries, team, now))

            async def full_page() -> str:
                found = await load_report(queries, team, now)
                return render_page(found, _, token="t", expires=now + timedelta(days=7))

            render_ms = await median_ms(full_page, runs=5)
            since = (now - timedelta(days=365)).date()

            async def group_by() -> list[Any]:
                async with repo.engine.connect() as conn:
                    return list(
                        (
                            await conn.execute(
                                select(Reply.occurrence_id, func.count())
                                .where(Reply.team_id == team_id, Reply.created_on >= since)
                                .group_by(Reply.occurrence_id)
                            )
                        ).all()
                    )

            groups = len(await group_by())
            base_ms = await median_ms(group_by)
    finally:
        await repo.dispose()
    name = "indexed GROUP BY of the team's year of replies per round"
    return [
        Figure(
            bench="review",
            what=f"`review` command summary, one team of {teams} in {total:,} replies",
            unit="ms",
            ritme=review_ms,
            baseline=base_ms,
            baseline_name=name,
            higher_is_better=False,
            target="< 50 ms",
            met=review_ms < 50,
            notes=f"the baseline groups {groups} rounds; seeding took {seed_s:.0f} s",
        ),
        Figure(
            bench="review",
            what="review page query (load_report: the team's year of rounds and answers)",
            unit="ms",
            ritme=page_ms,
            baseline=base_ms,
            baseline_name=name,
            higher_is_better=False,
            target="< 50 ms",
            met=page_ms < 50,
            notes=f"{len(report.rounds)} rounds, {answers:,} answers (anonymous ones as totals); "
            f"with the page rendered: {render_ms:.0f} ms",
        ),
    ]
