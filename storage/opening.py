"""What the tick reads and writes to open a batch of due rituals, as statements built once.

A tick at the Monday 09:00 peak claims thousands of rituals, a batch at a time. Each batch
is read with one statement per table (teams, holidays, rosters, recent contents, agreed
actions, open rounds) and written with one statement per table, each an executemany:
next due times, occurrences, outbox messages, followed-up actions (the last agreed action
of a ritual wins). The statements are Core statements over tables, built once per dialect,
with the batch's ids as one parameter, so SQLAlchemy compiles each once and the ORM stays
out of the way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from rituals.ports import OccurrenceView, Opening, OpeningContext, Outgoing, RitualView
from storage.answers.statements import list_filter
from storage.models import Action, Holiday, Member, Occurrence, OutboxMessage, Ritual, Team, TeamMember, table_of
from storage.views import channel_to, occurrence_view, ritual_view, team_view

_rituals, _teams, _holidays = table_of(Ritual), table_of(Team), table_of(Holiday)
_members, _team_members, _occurrences = table_of(Member), table_of(TeamMember), table_of(Occurrence)
_actions, _outbox = table_of(Action), table_of(OutboxMessage)


class OpeningSql:
    """The tick's statements for one dialect, built once. A list of ids is an array on
    PostgreSQL (one statement text whatever the batch's length, its ids sent as one value)
    and an expanding IN on SQLite; rows are locked (``FOR UPDATE SKIP LOCKED``) on
    PostgreSQL, where replicas claim side by side."""

    def __init__(self, postgresql: bool) -> None:
        one_of = list_filter(postgresql)
        teams = one_of(_teams.c.id, "teams", BigInteger)
        due = (
            select(_rituals)
            .join(_teams, _teams.c.id == _rituals.c.team_id)
            .where(_rituals.c.paused.is_(False), _rituals.c.next_due_at <= bindparam("now"), _teams.c.active.is_(True))
            .order_by(_rituals.c.next_due_at, _rituals.c.id)  # one order: a batch plans as one by one would
            .limit(bindparam("limit"))
        )
        self.due = due.with_for_update(skip_locked=True, of=_rituals) if postgresql else due
        self.teams = select(*(_teams.c[name] for name in TEAM_COLUMNS)).where(teams)
        self.holidays = (
            select(_holidays.c.team_id, _holidays.c.start_date, _holidays.c.end_date, _holidays.c.name)
            .where(
                one_of(_holidays.c.team_id, "teams", BigInteger),
                _holidays.c.end_date >= bindparam("first"),
                _holidays.c.start_date <= bindparam("last"),
            )
            .order_by(_holidays.c.start_date, _holidays.c.id)
        )
        self.rosters = (
            select(_team_members.c.team_id, _members.c.id, _members.c.display_name, _members.c.user_id)
            .join(_members, _members.c.id == _team_members.c.member_id)
            .where(one_of(_team_members.c.team_id, "teams", BigInteger))
            .order_by(_members.c.display_name, _members.c.id)
        )
        recent = (
            select(
                _occurrences,
                func.row_number()
                .over(
                    partition_by=_occurrences.c.ritual_id,
                    order_by=(_occurrences.c.planned_at.desc(), _occurrences.c.id.desc()),
                )
                .label("n"),
            )
            .where(one_of(_occurrences.c.ritual_id, "rituals", BigInteger))
            .subquery()
        )
        self.recent = (  # the last ``history`` occurrences of each ritual, and any still open
            select(recent)
            .where(or_(recent.c.n <= bindparam("history"), recent.c.status == "open"))
            .order_by(recent.c.ritual_id, recent.c.n)
        )
        self.actions = (
            select(_actions.c.ritual_id, _actions.c.id, _actions.c.text)
            .where(one_of(_actions.c.ritual_id, "rituals", BigInteger), _actions.c.followup_occurrence_id.is_(None))
            .order_by(_actions.c.id)
        )
        self.claim = (  # the occurrences' insert: a (ritual, planned time) taken already is not returned
            (pg_insert if postgresql else sqlite_insert)(_occurrences)
            .on_conflict_do_nothing(index_elements=[_occurrences.c.ritual_id, _occurrences.c.planned_at])
            .returning(_occurrences.c.id, _occurrences.c.ritual_id)
        )


# What a team's view needs (not its conversation reference, a platform's JSON).
TEAM_COLUMNS = (
    "id",
    "platform",
    "workspace_id",
    "channel_id",
    "name",
    "timezone",
    "language",
    "goal",
    "holiday_country",
    "anonymity_threshold",
    "settings",
    "retention_days",
)
SET_NEXT_DUE = update(_rituals).where(_rituals.c.id == bindparam("ritual")).values(next_due_at=bindparam("when"))
FOLLOW_UP = (
    update(_actions).where(_actions.c.id == bindparam("action")).values(followup_occurrence_id=bindparam("occurrence"))
)
INSERT_OUTBOX = _outbox.insert()


@functools.cache
def opening_sql(postgresql: bool) -> OpeningSql:
    return OpeningSql(postgresql)


Connection = AsyncSession | AsyncConnection


async def lock_due(conn: Connection, now: datetime, limit: int, *, locking: bool) -> list[RitualView]:
    rows: Sequence[Any] = (await conn.execute(opening_sql(locking).due, {"now": now, "limit": limit})).all()
    return [ritual_view(r) for r in rows]


async def opening_context(
    conn: Connection, rituals: Sequence[RitualView], first_day: date, last_day: date, history: int, *, locking: bool
) -> OpeningContext:
    """What opening ``rituals`` reads, one statement per table."""
    sql = opening_sql(locking)
    teams = {"teams": sorted({r.team_id for r in rituals})}
    ids = {"rituals": sorted({r.id for r in rituals})}
    holidays: dict[int, list[tuple[date, date, str]]] = {}
    for team_id, first, last, name in await conn.execute(sql.holidays, teams | {"first": first_day, "last": last_day}):
        holidays.setdefault(team_id, []).append((first, last, name))
    rosters: dict[int, list[tuple[int, str, str]]] = {}
    for team_id, member_id, name, user_id in await conn.execute(sql.rosters, teams):
        rosters.setdefault(team_id, []).append((member_id, name or user_id, user_id))
    histories: dict[int, list[dict[str, Any]]] = {}
    open_rounds: dict[int, list[OccurrenceView]] = {}
    recent: Sequence[Any] = (await conn.execute(sql.recent, ids | {"history": history})).all()
    for row in recent:
        if row.n <= history:
            histories.setdefault(row.ritual_id, []).append(dict(row.content or {}))
        if row.status == "open":
            open_rounds.setdefault(row.ritual_id, []).append(occurrence_view(row))
    for rounds in open_rounds.values():
        rounds.sort(key=lambda occ: (occ.planned_at, occ.id))
    rows: Sequence[Any] = (await conn.execute(sql.teams, teams)).all()
    return OpeningContext(
        teams={row.id: team_view(row) for row in rows},
        holidays=holidays,
        rosters=rosters,
        histories=histories,
        actions={
            ritual: (action, text) for ritual, action, text in await conn.execute(sql.actions, ids)
        },  # latest wins
        open_rounds=open_rounds,
    )


async def open_batch(
    conn: Connection,
    openings: Sequence[Opening],
    next_due: Sequence[tuple[int, datetime | None]],
    *,
    claimed_by: str,
    locking: bool,
) -> dict[int, int]:
    """The batch's writes (``rituals.ports.Tx.open_batch``): four executemany statements."""
    if next_due:
        await conn.execute(SET_NEXT_DUE, [{"ritual": ritual, "when": when} for ritual, when in next_due])
    if not openings:
        return {}
    inserted = await conn.execute(
        opening_sql(locking).claim, [_occurrence_row(opening, claimed_by) for opening in openings]
    )
    ids = {ritual: occ for occ, ritual in inserted.all()}
    outbox = [
        _outbox_row(opening.team_id, ids[opening.ritual_id], message, opening.opened_at)
        for opening in openings
        if opening.ritual_id in ids
        for message in opening.messages
    ]
    if outbox:
        await conn.execute(INSERT_OUTBOX, outbox)
    followed = [
        {"action": opening.action_id, "occurrence": ids[opening.ritual_id]}
        for opening in openings
        if opening.action_id is not None and opening.ritual_id in ids
    ]
    if followed:
        await conn.execute(FOLLOW_UP, followed)
    return ids


def _occurrence_row(opening: Opening, claimed_by: str) -> dict[str, Any]:
    return {
        "ritual_id": opening.ritual_id,
        "planned_at": opening.planned_at,
        "status": opening.status,
        "reason": opening.reason,
        "content": opening.content,
        "opened_at": opening.opened_at,
        "closes_at": opening.closes_at,
        "remind_at": opening.remind_at,
        "claimed_by": claimed_by,
    }


def _outbox_row(team_id: int, occurrence_id: int, message: Outgoing, at: datetime | None) -> dict[str, Any]:
    payload = message.payload if message.payload is not None else {"type": "prompt", "occurrence_id": occurrence_id}
    return {
        "team_id": team_id,
        "occurrence_id": occurrence_id,
        "destination": channel_to(message.destination),
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }
