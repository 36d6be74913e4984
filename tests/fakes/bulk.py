"""Many teams and rituals at once, straight into storage (bulk inserts, not commands).

For tests and benchmarks that need thousands of channels: ``seed_rituals`` makes one team
per channel (Slack, workspace ``T1``, channels ``C00001`` ...) with one ritual each.
Teams get no public-holiday country, so a prompt is never skipped for a holiday.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rituals.schedule import parse_schedule
from storage.models import Ritual, Team

CHUNK = 5_000


def channel_name(i: int) -> str:
    return f"C{i:06d}"


async def seed_rituals(
    engine: AsyncEngine,
    count: int,
    *,
    now: datetime,
    kind: str = "reflection",
    schedules: Sequence[str] = ("every monday at 09:00",),
    timezones: Sequence[str] = ("Europe/Amsterdam",),
    due: Callable[[int, str, str], datetime | None] | None = None,
    open_seconds: int = 2 * 24 * 3600,
    platform: str = "slack",
    workspace: str = "T1",
    language: str = "en",
) -> list[int]:
    """``count`` teams with one ritual each; returns the ritual ids in channel order.

    Ritual ``i`` gets ``schedules[i % len]`` in ``timezones[i % len]``; its next due time is
    ``due(i, schedule, timezone)``, by default the schedule's next time after ``now``.
    """
    cache: dict[tuple[str, str], datetime | None] = {}

    def next_due(i: int, spec: str, tz: str) -> datetime | None:
        if due is not None:
            return due(i, spec, tz)
        if (spec, tz) not in cache:
            cache[(spec, tz)] = parse_schedule(spec).next_after(now, ZoneInfo(tz))
        return cache[(spec, tz)]

    specs = [parse_schedule(s).spec for s in schedules]
    ritual_ids: list[int] = []
    for start in range(0, count, CHUNK):
        stop = min(count, start + CHUNK)
        async with engine.begin() as conn:
            await conn.execute(
                insert(Team),
                [
                    {
                        "platform": platform,
                        "workspace_id": workspace,
                        "channel_id": channel_name(i),
                        "name": f"team {i}",
                        "timezone": timezones[i % len(timezones)],
                        "language": language,
                        "goal": None,
                        "holiday_country": None,
                        "anonymity_threshold": 3,
                        "retention_days": 730,
                        "settings": {},
                        "conversation": {},
                        "active": True,
                        "created_at": now,
                    }
                    for i in range(start, stop)
                ],
            )
            rows = await conn.execute(
                select(Team.id, Team.channel_id).where(
                    Team.platform == platform,
                    Team.workspace_id == workspace,
                    Team.channel_id.in_([channel_name(i) for i in range(start, stop)]),
                )
            )
            team_of = {channel: team_id for team_id, channel in rows.all()}
            await conn.execute(
                insert(Ritual),
                [
                    {
                        "team_id": team_of[channel_name(i)],
                        "kind": kind,
                        "schedule": specs[i % len(specs)],
                        "open_seconds": open_seconds,
                        "options": {},
                        "paused": False,
                        "next_due_at": next_due(i, specs[i % len(specs)], timezones[i % len(timezones)]),
                        "created_at": now,
                    }
                    for i in range(start, stop)
                ],
            )
            rows = await conn.execute(
                select(Ritual.id, Ritual.team_id).where(Ritual.team_id.in_(list(team_of.values())))
            )
            by_team = {team_id: ritual_id for ritual_id, team_id in rows.all()}
            ritual_ids += [by_team[team_of[channel_name(i)]] for i in range(start, stop)]
    return ritual_ids


def utc_now() -> datetime:
    return datetime.now(UTC)
