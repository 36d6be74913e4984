"""Repositories: the engine's store (``rituals.ports.Store``) and what the commands need.

Everything that touches SQL lives here. Each public coroutine of ``Repo`` is one
transaction; ``SqlTx`` is the engine's view of one transaction.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    String,
    and_,
    any_,
    bindparam,
    cast,
    column,
    delete,
    false,
    func,
    insert,
    null,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from rituals.kinds.appreciation import assign_colleagues, round_roster
from rituals.ports import (
    Delivery,
    NewAnswer,
    NewReply,
    OccurrenceView,
    OpeningContext,
    OutboxItem,
    ReplyView,
    RitualView,
    Saved,
    TeamView,
)
from rituals.types import Actor, ChannelRef, MessageRef
from storage.db import Writer, WriterConnection, autocommit_connection, in_memory, sessionmaker
from storage.erasure import forget_member
from storage.models import (
    DELIVERED_NOTICE,
    Action,
    AuditEntry,
    ChannelMessage,
    Holiday,
    Member,
    Occurrence,
    OutboxMessage,
    Participation,
    Reply,
    Ritual,
    RoleGrant,
    SentPrompt,
    Team,
    TeamMember,
    UTCDateTime,
)

_shuffle = random.SystemRandom().shuffle


log = logging.getLogger(__name__)

T = TypeVar("T")


def team_view(t: Team) -> TeamView:
    return TeamView(
        id=t.id, platform=t.platform, workspace_id=t.workspace_id, channel_id=t.channel_id,
        name=t.name, timezone=t.timezone, language=t.language, goal=t.goal,
        holiday_country=t.holiday_country, anonymity_threshold=t.anonymity_threshold,
        settings=dict(t.settings or {}), retention_days=t.retention_days,
    )


def ritual_view(r: Ritual) -> RitualView:
    return RitualView(
        id=r.id, team_id=r.team_id, kind=r.kind, schedule=r.schedule,
        open_seconds=r.open_seconds, options=dict(r.options or {}), paused=r.paused,
        next_due_at=r.next_due_at,
    )


def occurrence_view(o: Occurrence) -> OccurrenceView:
    return OccurrenceView(
        id=o.id, ritual_id=o.ritual_id, planned_at=o.planned_at, status=o.status,
        reason=o.reason, content=dict(o.content or {}), opened_at=o.opened_at,
        closes_at=o.closes_at, closed_at=o.closed_at,
    )


def channel_from(data: dict[str, Any]) -> ChannelRef:
    return ChannelRef(
        platform=data["platform"], workspace_id=data["workspace_id"], channel_id=data["channel_id"],
        user_id=data.get("user_id"), ephemeral=bool(data.get("ephemeral", False)),
        members=tuple(data.get("members") or ()),
    )


def channel_to(ref: ChannelRef) -> dict[str, Any]:
    return {
        "platform": ref.platform, "workspace_id": ref.workspace_id, "channel_id": ref.channel_id,
        "user_id": ref.user_id, "ephemeral": ref.ephemeral, "members": list(ref.members),
    }


class AnswerSql:
    """The statements that store answers, built once per dialect: answers arrive by the
    hundreds a second, and building a statement (an ``ON CONFLICT`` clause's ``excluded``
    above all) cost more than running it (bench/answers.py)."""

    def __init__(self, postgresql: bool) -> None:
        insert_ = pg_insert if postgresql else sqlite_insert
        parts = [(Occurrence, "o_"), (Ritual, "r_"), (Team, "t_")]
        if postgresql:
            # Arrays as parameters: one statement text whatever the number of answers, so
            # that asyncpg prepares it once (an expanding IN is a new statement, and a new
            # prepare, for each length).
            def one_of(column: Any, name: str, type_: Any) -> Any:
                return column == any_(bindparam(name, type_=ARRAY(type_)))
        else:
            def one_of(column: Any, name: str, type_: Any) -> Any:
                return column.in_(bindparam(name, expanding=True))
        targets = (
            select(*(c.label(prefix + c.key) for model, prefix in parts for c in model.__table__.c))
            .join_from(Occurrence, Ritual, Ritual.id == Occurrence.ritual_id)
            .join(Team, Team.id == Ritual.team_id)
            .where(one_of(Occurrence.id, "ids", BigInteger))
        )
        if postgresql:  # a close (an UPDATE of the row) waits for the transaction, and sees its answers
            # (``answer_targets``; the batch read, ``context``, takes no lock: its write does)
            self.targets = targets.with_for_update(read=True, of=Occurrence.__table__)
        else:
            self.targets = targets
        self.open_rounds = select(Occurrence.id).where(one_of(Occurrence.id, "ids", BigInteger), Occurrence.status == "open")
        self.target_parts = parts
        members = Member.__table__
        same_workspace = and_(members.c.platform == bindparam("platform"), members.c.workspace_id == bindparam("workspace"))
        if postgresql:
            # One probe of the members' unique key (platform, workspace, user) per person
            # (LIMIT 1 keeps the subquery apart, a probe per row). Given the people as an IN
            # list or a join, PostgreSQL's planner, until the table is first analysed (a new
            # database's first big round), took the whole workspace for one row and read it
            # all: some milliseconds a batch, most of the database's work.
            wanted = func.unnest(bindparam("users", type_=ARRAY(String))).table_valued("user_id").render_derived("wanted")
            m: Any = (select(members.c.user_id, members.c.id, members.c.display_name)
                      .where(same_workspace, members.c.user_id == wanted.c.user_id).limit(1).lateral("m"))
            people = select(m.c.user_id, m.c.id, m.c.display_name).select_from(wanted).join(m, true())
        else:
            m = members
            people = select(m.c.user_id, m.c.id, m.c.display_name).where(
                same_workspace, m.c.user_id.in_(bindparam("users", expanding=True)))
        self.members = people
        self.in_teams = people.add_columns(TeamMember.team_id).outerjoin(  # and which of ``teams`` they are in
            TeamMember.__table__, and_(TeamMember.member_id == m.c.id, one_of(TeamMember.team_id, "teams", BigInteger)))
        self.new_members = (insert_(members).on_conflict_do_nothing()
                            .returning(members.c.platform, members.c.workspace_id, members.c.user_id, members.c.id))
        self.rename = update(members).where(members.c.id == bindparam("member_id")).values(display_name=bindparam("name"))
        self.join = insert_(TeamMember.__table__).on_conflict_do_nothing()
        replies = Reply.__table__
        self.named_replies = _replacing_earlier(insert_(replies))
        participations = Participation.__table__
        self.participations = (insert_(participations).on_conflict_do_nothing()
                               .returning(participations.c.occurrence_id, participations.c.member_id))
        self.anonymous_replies = insert(replies)
        if postgresql:
            self.context, self.save = _pg_answer_statements(targets)


def _replacing_earlier(upsert: Any) -> Any:
    """A named reply's INSERT that replaces the member's earlier answer to the round.
    Batches commit side by side (and replicas): an answer sent earlier, committed later,
    does not replace the later one."""
    replies = Reply.__table__
    return upsert.on_conflict_do_update(
        index_elements=[replies.c.occurrence_id, replies.c.member_id],
        set_={"values": upsert.excluded["values"], "updated_at": upsert.excluded.updated_at},
        where=or_(replies.c.updated_at.is_(None), replies.c.updated_at <= upsert.excluded.updated_at),
    )


def _pg_answer_statements(targets: Any) -> tuple[Any, Any]:
    """A batch of answers on PostgreSQL in two statements, a read and a write, each whole in
    itself (two round trips, where the steps one by one took seven): under load each round
    trip waited its turn for the machine's cores, and each statement cost the writer's
    thread a third of a millisecond (bench/answers.py).

    The read: ``targets`` with, for each occurrence, the people of the batch who are
    members, and whether they are in its team (a JSON list). The write: the rounds still
    open, held FOR SHARE (a close, an UPDATE of the row, waits for the write and sees its
    answers; a close before it leaves their answers out), then members created on first
    contact, renamed, joined to the team, and their replies, in data-modifying CTEs; it
    returns the answers it took up, anonymous ones marked when taken. The people and the
    answers come as one JSON document each. A member created by a concurrent batch while
    the write ran is not seen by it: nothing is written for that person, and
    ``save_answers`` writes their answers again in a new statement."""
    members, team_members = Member.__table__, TeamMember.__table__
    replies, participations = Reply.__table__, Participation.__table__
    person = (column("platform", String), column("workspace_id", String), column("user_id", String))

    def member_of(who: Any) -> Any:  # the member with the key of ``who``, looked up by it
        return (select(members.c.id, members.c.display_name)
                .where(members.c.platform == who.c.platform, members.c.workspace_id == who.c.workspace_id,
                       members.c.user_id == who.c.user_id)
                .limit(1).lateral())

    people = func.json_to_recordset(bindparam("people", type_=JSON)).table_valued(*person).render_derived("people", with_types=True)
    member = member_of(people)
    found = (select(func.json_agg(func.json_build_array(people.c.platform, people.c.workspace_id, people.c.user_id,
                                                        member.c.id, team_members.c.team_id.is_not(None))))
             .select_from(people).join(member, true())
             .outerjoin(team_members, and_(team_members.c.member_id == member.c.id, team_members.c.team_id == Team.id))
             .correlate(Team).scalar_subquery())
    context = targets.add_columns(type_coerce(found, JSON).label("people"))

    given = (select(func.json_to_recordset(bindparam("answers", type_=JSON)).table_valued(
        *person, column("name", String), column("team_id", BigInteger), column("occurrence_id", BigInteger),
        column("anonymous", Boolean), column("values", JSON), column("created_on", Date),
        column("updated_at", DateTime(timezone=True)),
    ).render_derived("a", with_types=True)).cte("given"))
    still_open = (select(Occurrence.id).where(Occurrence.id.in_(select(given.c.occurrence_id)), Occurrence.status == "open")
                  .with_for_update(read=True).cte("still_open"))
    answers = select(given).where(given.c.occurrence_id.in_(select(still_open.c.id))).cte("answers")
    a = answers.c
    who = select(a.platform, a.workspace_id, a.user_id, func.max(a.name).label("name")).group_by(
        a.platform, a.workspace_id, a.user_id).subquery("who")
    known_member = member_of(who)
    known = (select(who, known_member.c.id, known_member.c.display_name)
             .select_from(who).outerjoin(known_member, true()).cte("known"))
    k = known.c
    created = (pg_insert(members).from_select(
        ["platform", "workspace_id", "user_id", "display_name", "created_at", "mute_reminders"],
        select(k.platform, k.workspace_id, k.user_id, k.name, bindparam("now", type_=UTCDateTime), false())
        .where(k.id.is_(None)).order_by(k.platform, k.workspace_id, k.user_id),  # one order for all: no deadlocks
    ).on_conflict_do_nothing().returning(members.c.id, members.c.platform, members.c.workspace_id, members.c.user_id)
        .cte("created"))
    same_person = and_(created.c.platform == k.platform, created.c.workspace_id == k.workspace_id, created.c.user_id == k.user_id)
    ids = (select(k.platform, k.workspace_id, k.user_id, func.coalesce(k.id, created.c.id).label("member_id"))
           .select_from(known).outerjoin(created, same_person).cte("ids"))
    renamed = (update(members).where(members.c.id == k.id, k.name != "", members.c.display_name != k.name)
               .values(display_name=k.name).returning(members.c.id).cte("renamed"))
    rows = (select(answers, ids.c.member_id).select_from(answers)
            .join(ids, and_(ids.c.platform == a.platform, ids.c.workspace_id == a.workspace_id, ids.c.user_id == a.user_id))
            .cte("rows"))
    r = rows.c
    stored = r.member_id.is_not(None)  # None: created by a concurrent batch meanwhile (see above)
    joined = (pg_insert(team_members).from_select(
        ["team_id", "member_id"], select(r.team_id, r.member_id).where(stored).distinct().order_by(r.team_id, r.member_id))
        .on_conflict_do_nothing().returning(team_members.c.member_id).cte("joined"))
    named = _replacing_earlier(pg_insert(replies).from_select(
        ["id", "occurrence_id", "member_id", "team_id", "values", "created_on", "updated_at"],
        select(cast(func.gen_random_uuid(), String), r.occurrence_id, r.member_id, r.team_id, r["values"], r.created_on, r.updated_at)
        .where(r.anonymous.is_(False), stored).order_by(r.occurrence_id, r.member_id),
    )).returning(replies.c.occurrence_id).cte("named")
    took_part = (pg_insert(participations).from_select(
        ["occurrence_id", "member_id"],
        select(r.occurrence_id, r.member_id).where(r.anonymous.is_(True), stored).order_by(r.occurrence_id, r.member_id),
    ).on_conflict_do_nothing().returning(participations.c.occurrence_id, participations.c.member_id).cte("took_part"))
    anonymous = (insert(replies).from_select(  # who answered, kept apart from what; in no order
        ["id", "occurrence_id", "member_id", "team_id", "values", "created_on", "updated_at"],
        select(cast(func.gen_random_uuid(), String), r.occurrence_id, null(), r.team_id, r["values"], r.created_on, null())
        .join_from(rows, took_part, and_(took_part.c.occurrence_id == r.occurrence_id, took_part.c.member_id == r.member_id))
        .order_by(func.random()),
    ).returning(replies.c.occurrence_id).cte("anonymous"))
    save = (select(r.platform, r.workspace_id, r.user_id, r.occurrence_id, r.member_id, took_part.c.member_id.is_not(None))
            .outerjoin_from(rows, took_part, and_(took_part.c.occurrence_id == r.occurrence_id, took_part.c.member_id == r.member_id))
            .add_cte(renamed, joined, named, anonymous))
    return context, save


def _saved(answer: NewAnswer, written: set[tuple[str, str, str, int]], taken: set[tuple[str, str, str, int]]) -> Saved:
    key = (answer.actor.platform, answer.actor.workspace_id, answer.actor.user_id, answer.occurrence_id)
    if key not in written:
        return Saved.CLOSED
    return Saved.ANSWERED if answer.anonymous and key not in taken else Saved.STORED


@functools.cache
def answer_sql(postgresql: bool) -> AnswerSql:
    return AnswerSql(postgresql)


class SqlTx:
    """The engine's operations inside one transaction (see ``rituals.ports.Tx``)."""

    def __init__(self, session: AsyncSession | AsyncConnection | WriterConnection) -> None:
        self.s: Any = session
        dialect = session.bind.dialect if isinstance(session, AsyncSession) else session.dialect  # type: ignore[union-attr]
        self.locking = dialect.name == "postgresql"
        self.sql = answer_sql(self.locking)
        # Members read by ``members_in_teams`` in this transaction ((id, name), None: none),
        # so that ``ensure_members`` after it need not read them again.
        self._seen: dict[tuple[str, str, str], tuple[int, str] | None] = {}

    def _locked(self, stmt: Any) -> Any:
        return stmt.with_for_update(skip_locked=True) if self.locking else stmt

    async def lock_due_rituals(self, now: datetime, limit: int) -> list[RitualView]:
        stmt = (
            select(Ritual)
            .join(Team, Team.id == Ritual.team_id)
            .where(Ritual.paused.is_(False), Ritual.next_due_at <= now, Team.active.is_(True))
            .order_by(Ritual.next_due_at)
            .limit(limit)
        )
        if self.locking:
            stmt = stmt.with_for_update(skip_locked=True, of=Ritual)
        return [ritual_view(r) for r in (await self.s.scalars(stmt)).all()]

    async def team(self, team_id: int) -> TeamView:
        team = await self.s.get(Team, team_id)
        assert team is not None
        return team_view(team)

    async def ritual(self, ritual_id: int) -> RitualView | None:
        r = await self.s.get(Ritual, ritual_id)
        return ritual_view(r) if r else None

    async def team_rituals(self, team_id: int) -> list[RitualView]:
        rows = await self.s.scalars(select(Ritual).where(Ritual.team_id == team_id).order_by(Ritual.id))
        return [ritual_view(r) for r in rows]

    async def set_next_due(self, ritual_id: int, when: datetime | None) -> None:
        await self.s.execute(update(Ritual).where(Ritual.id == ritual_id).values(next_due_at=when))

    async def add_occurrence(self, **fields: Any) -> int | None:
        table = Occurrence.__table__
        return await self.s.scalar(  # the claim: one statement, None when taken already
            self._insert(table).values(**fields)
            .on_conflict_do_nothing(index_elements=[table.c.ritual_id, table.c.planned_at])
            .returning(table.c.id)
        )

    async def occurrence(self, occurrence_id: int) -> OccurrenceView | None:
        o = await self.s.get(Occurrence, occurrence_id)
        return occurrence_view(o) if o else None

    async def recent_occurrences(self, ritual_id: int, limit: int) -> list[OccurrenceView]:
        table = Occurrence.__table__  # plain rows: each tick reads these for every ritual it opens
        rows = await self.s.execute(
            select(table).where(table.c.ritual_id == ritual_id)
            .order_by(table.c.planned_at.desc(), table.c.id.desc()).limit(limit)
        )
        return [occurrence_view(o) for o in rows.all()]  # type: ignore[arg-type]

    async def open_occurrences(self, ritual_id: int) -> list[OccurrenceView]:
        rows = await self.s.scalars(
            self._locked(select(Occurrence).where(Occurrence.ritual_id == ritual_id, Occurrence.status == "open"))
        )
        return [occurrence_view(o) for o in rows]

    async def lock_closable(self, now: datetime, limit: int) -> list[OccurrenceView]:
        rows = await self.s.scalars(
            self._locked(
                select(Occurrence).where(Occurrence.status == "open", Occurrence.closes_at <= now)
                .order_by(Occurrence.closes_at).limit(limit)
            )
        )
        return [occurrence_view(o) for o in rows]

    async def close_occurrence(self, occurrence_id: int, now: datetime) -> bool:
        result = await self.s.execute(
            update(Occurrence).where(Occurrence.id == occurrence_id, Occurrence.status == "open")
            .values(status="closed", closed_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def opening_context(
        self, rituals: Sequence[RitualView], first_day: date, last_day: date, history: int
    ) -> OpeningContext:
        team_ids = sorted({r.team_id for r in rituals})
        ritual_ids = sorted({r.id for r in rituals})
        teams = {row.id: team_view(row) for row in (await self.s.execute(  # type: ignore[arg-type]
            select(Team.__table__).where(Team.__table__.c.id.in_(team_ids)))).all()}
        holidays: dict[int, list[tuple[date, date, str]]] = {}
        for team_id, first, last, name in (await self.s.execute(
            select(Holiday.team_id, Holiday.start_date, Holiday.end_date, Holiday.name)
            .where(Holiday.team_id.in_(team_ids), Holiday.end_date >= first_day, Holiday.start_date <= last_day)
            .order_by(Holiday.start_date, Holiday.id)
        )).all():
            holidays.setdefault(team_id, []).append((first, last, name))
        rosters: dict[int, list[tuple[int, str, str]]] = {}
        for team_id, member_id, name, user_id in (await self.s.execute(
            select(TeamMember.team_id, Member.id, Member.display_name, Member.user_id)
            .join(Member, Member.id == TeamMember.member_id)
            .where(TeamMember.team_id.in_(team_ids)).order_by(Member.display_name, Member.id)
        )).all():
            rosters.setdefault(team_id, []).append((member_id, name or user_id, user_id))
        rank = func.row_number().over(partition_by=Occurrence.ritual_id,
                                      order_by=(Occurrence.planned_at.desc(), Occurrence.id.desc())).label("n")
        recent = (select(Occurrence.ritual_id, Occurrence.content, rank)
                  .where(Occurrence.ritual_id.in_(ritual_ids)).subquery())
        histories: dict[int, list[dict[str, Any]]] = {}
        for ritual_id, content, _n in (await self.s.execute(
            select(recent).where(recent.c.n <= history).order_by(recent.c.ritual_id, recent.c.n)
        )).all():
            histories.setdefault(ritual_id, []).append(dict(content or {}))
        actions = {ritual_id: (action_id, text) for ritual_id, action_id, text in (await self.s.execute(
            select(Action.ritual_id, Action.id, Action.text)
            .where(Action.ritual_id.in_(ritual_ids), Action.followup_occurrence_id.is_(None)).order_by(Action.id)
        )).all()}  # the latest of each ritual wins
        return OpeningContext(teams=teams, holidays=holidays, rosters=rosters, histories=histories, actions=actions)

    async def replies(self, occurrence_id: int) -> list[ReplyView]:
        rows = await self.s.execute(
            select(Reply, func.coalesce(func.nullif(Member.display_name, ""), Member.user_id))  # unnamed: by id
            .outerjoin(Member, Member.id == Reply.member_id)
            .where(Reply.occurrence_id == occurrence_id).order_by(Member.display_name, Reply.id)
        )
        return [
            ReplyView(member_id=r.member_id, member_name=name or "", values=dict(r.values), created_on=r.created_on)
            for r, name in rows.all()
        ]

    async def invited_count(self, team_id: int) -> int:
        return int(await self.s.scalar(select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)) or 0)

    async def roster(self, team_id: int) -> list[tuple[int, str, str]]:
        rows = await self.s.execute(
            select(Member.id, Member.display_name, Member.user_id).join(TeamMember, TeamMember.member_id == Member.id)
            .where(TeamMember.team_id == team_id).order_by(Member.display_name)
        )
        return [(mid, name or uid, uid) for mid, name, uid in rows.all()]

    async def answered_count(self, occurrence_id: int) -> int:
        return int(await self.s.scalar(select(func.count()).select_from(Reply).where(Reply.occurrence_id == occurrence_id)) or 0)

    async def has_answered(self, occurrence_id: int, member_id: int) -> bool:
        named = await self.s.scalar(select(Reply.id).where(Reply.occurrence_id == occurrence_id, Reply.member_id == member_id))
        if named:
            return True
        anon = await self.s.scalar(
            select(Participation.member_id).where(Participation.occurrence_id == occurrence_id, Participation.member_id == member_id)
        )
        return anon is not None

    def _insert(self, table: Any) -> Any:
        """INSERT with the dialect's ON CONFLICT clauses."""
        return (pg_insert if self.locking else sqlite_insert)(table)

    async def answer_targets(
        self, occurrence_ids: Sequence[int]
    ) -> dict[int, tuple[OccurrenceView, RitualView, TeamView]]:
        if not occurrence_ids:
            return {}
        found: dict[int, tuple[OccurrenceView, RitualView, TeamView]] = {}
        for row in (await self.s.execute(self.sql.targets, {"ids": list(occurrence_ids)})).mappings():
            occ, ritual, team = self._target(row)
            found[occ.id] = (occ, ritual, team)
        return found

    def _target(self, row: Any) -> tuple[OccurrenceView, RitualView, TeamView]:
        occ, ritual, team = (SimpleNamespace(**{k[2:]: v for k, v in row.items() if k.startswith(prefix)})
                             for _model, prefix in self.sql.target_parts)
        return occurrence_view(occ), ritual_view(ritual), team_view(team)  # type: ignore[arg-type]

    async def answer_context(
        self, occurrence_ids: Sequence[int], people: Sequence[Actor]
    ) -> tuple[dict[int, tuple[OccurrenceView, RitualView, TeamView]], dict[tuple[str, str, str, int], int]]:
        if not self.locking:
            targets = await self.answer_targets(occurrence_ids)
            teams = {team.id for _occ, _ritual, team in targets.values()}
            return targets, await self.members_in_teams([(actor, team) for actor in people for team in teams])
        if not occurrence_ids:
            return {}, {}
        keys = sorted({(a.platform, a.workspace_id, a.user_id) for a in people})
        found: dict[int, tuple[OccurrenceView, RitualView, TeamView]] = {}
        in_team: dict[tuple[str, str, str, int], int] = {}
        rows = await self.s.execute(self.sql.context, {
            "ids": list(occurrence_ids),
            "people": [{"platform": p, "workspace_id": w, "user_id": u} for p, w, u in keys]})
        for row in rows.mappings():
            occ, ritual, team = self._target(row)
            found[occ.id] = (occ, ritual, team)
            in_team.update({(p, w, u, team.id): member_id for p, w, u, member_id, joined in row["people"] or () if joined})
        return found, in_team

    async def save_answers(self, answers: Sequence[NewAnswer], now: datetime) -> list[Saved]:
        if not answers:
            return []
        if not self.locking:  # one writer at a time: the rounds stay as they are read here
            still_open = set((await self.s.execute(self.sql.open_rounds, {"ids": sorted({a.occurrence_id for a in answers})})).scalars())
            kept = [a for a in answers if a.occurrence_id in still_open]
            members = await self.ensure_members([(a.actor, a.team_id) for a in kept], now)
            stored = iter(await self.save_replies([
                NewReply(occurrence_id=a.occurrence_id, team_id=a.team_id,
                         member_id=members[(a.actor.platform, a.actor.workspace_id, a.actor.user_id)],
                         anonymous=a.anonymous, values=a.values, today=a.today, sent_at=a.sent_at)
                for a in kept], now))
            return [(Saved.STORED if next(stored) else Saved.ANSWERED) if a.occurrence_id in still_open else Saved.CLOSED
                    for a in answers]
        taken: set[tuple[str, str, str, int]] = set()
        written: set[tuple[str, str, str, int]] = set()
        waiting = list(answers)
        for _attempt in range(3):
            rows = (await self.s.execute(self.sql.save, {"now": now, "answers": [
                {"platform": a.actor.platform, "workspace_id": a.actor.workspace_id, "user_id": a.actor.user_id,
                 "name": (a.actor.display_name or "").replace("\x00", "")[:200],  # as the column's type (``Name``) does
                 "team_id": a.team_id, "occurrence_id": a.occurrence_id, "anonymous": a.anonymous, "values": a.values,
                 "created_on": a.today.isoformat(), "updated_at": (a.sent_at or now).isoformat()}
                for a in waiting]})).all()
            taken.update((p, w, u, occ) for p, w, u, occ, _member_id, was_taken in rows if was_taken)
            written.update((p, w, u, occ) for p, w, u, occ, member_id, _taken in rows if member_id is not None)
            # Members a concurrent batch created while this statement ran: not seen by it
            # (nothing was written for them); a new statement sees them. An answer the
            # statement did not return at all was for a round no longer open.
            unseen = {(p, w, u) for p, w, u, _occ, member_id, _taken in rows if member_id is None}
            waiting = [a for a in waiting if (a.actor.platform, a.actor.workspace_id, a.actor.user_id) in unseen]
            if not waiting:
                break
        else:  # met a concurrent new member three times over: those few are asked to try again
            log.warning("%d answers not stored: their members were being created by other batches", len(waiting))
        return [_saved(a, written, taken) if a not in waiting else Saved.RETRY for a in answers]

    async def channel_language(self, channel: ChannelRef) -> str | None:
        return await self.s.scalar(select(Team.language).where(
            Team.platform == channel.platform, Team.workspace_id == channel.workspace_id, Team.channel_id == channel.channel_id))

    async def members_in_teams(self, people: Sequence[tuple[Actor, int]]) -> dict[tuple[str, str, str, int], int]:
        wanted = {(a.platform, a.workspace_id, a.user_id, team_id) for a, team_id in people}
        by_workspace: dict[tuple[str, str], tuple[set[str], set[int]]] = {}
        for platform, workspace_id, user_id, team_id in wanted:
            users, teams = by_workspace.setdefault((platform, workspace_id), (set(), set()))
            users.add(user_id)
            teams.add(team_id)
        found: dict[tuple[str, str, str, int], int] = {}
        for (platform, workspace_id), (users, teams) in by_workspace.items():
            rows = await self.s.execute(self.sql.in_teams, {"platform": platform, "workspace": workspace_id,
                                                            "users": sorted(users), "teams": sorted(teams)})
            self._seen.update(dict.fromkeys(((platform, workspace_id, u) for u in users), None))
            for user_id, member_id, name, team_id in rows.all():
                self._seen[(platform, workspace_id, user_id)] = (member_id, name)
                if (platform, workspace_id, user_id, team_id) in wanted:
                    found[(platform, workspace_id, user_id, team_id)] = member_id
        return found

    async def ensure_members(self, people: Sequence[tuple[Actor, int]], now: datetime) -> dict[tuple[str, str, str], int]:
        # Statements with a list of parameters (executemany), whatever the number of rows.
        names: dict[tuple[str, str, str], str] = {}
        for actor, _team in people:
            key = (actor.platform, actor.workspace_id, actor.user_id)
            names[key] = actor.display_name or names.get(key, "")
        known = {key: seen for key in names if (seen := self._seen.get(key))}
        known.update(await self._members({key: name for key, name in names.items() if key not in self._seen}))
        missing = sorted(key for key in names if key not in known)  # one order for all: no deadlocks
        if missing:  # first contact; a concurrent first contact elsewhere is no conflict
            created = await self.s.execute(self.sql.new_members, [
                {"platform": p, "workspace_id": w, "user_id": u, "display_name": names[(p, w, u)],
                 "created_at": now, "mute_reminders": False} for p, w, u in missing
            ])
            known.update({(p, w, u): (member_id, names[(p, w, u)]) for p, w, u, member_id in created.all()})
            if any(key not in known for key in missing):  # made by someone else meanwhile
                known.update(await self._members(dict.fromkeys((k for k in missing if k not in known), "")))
        self._seen.clear()  # written from here on
        renamed = sorted(({"member_id": known[key][0], "name": name} for key, name in names.items()
                          if name and key not in missing and known[key][1] != name), key=lambda row: row["member_id"])
        if renamed:
            await self.s.execute(self.sql.rename, renamed)
        joins = {(team_id, known[(a.platform, a.workspace_id, a.user_id)][0]) for a, team_id in people}
        if joins:
            await self.s.execute(self.sql.join, [{"team_id": team_id, "member_id": member_id} for team_id, member_id in sorted(joins)])
        return {key: member_id for key, (member_id, _name) in known.items()}

    async def _members(self, keys: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], tuple[int, str]]:
        """(id, display name) of the members that exist, by (platform, workspace, user)."""
        by_workspace: dict[tuple[str, str], list[str]] = {}
        for platform, workspace_id, user_id in keys:
            by_workspace.setdefault((platform, workspace_id), []).append(user_id)
        found: dict[tuple[str, str, str], tuple[int, str]] = {}
        for (platform, workspace_id), users in sorted(by_workspace.items()):
            rows = await self.s.execute(self.sql.members, {"platform": platform, "workspace": workspace_id, "users": users})
            found.update({(platform, workspace_id, user_id): (member_id, name) for user_id, member_id, name in rows.all()})
        return found

    async def save_replies(self, replies: Sequence[NewReply], now: datetime) -> list[bool]:
        replies_in_order = sorted(replies, key=lambda r: (r.occurrence_id, r.member_id))  # no deadlocks
        named = [r for r in replies_in_order if not r.anonymous]
        if named:  # insert, or replace the member's earlier answer
            await self.s.execute(self.sql.named_replies, [
                {"id": str(uuid.uuid4()), "occurrence_id": r.occurrence_id, "member_id": r.member_id,
                 "team_id": r.team_id, "values": r.values, "created_on": r.today, "updated_at": r.sent_at or now}
                for r in named
            ])
        fresh: set[tuple[int, int]] = set()
        anonymous = [r for r in replies_in_order if r.anonymous]
        if anonymous:  # who answered, kept apart from what: nothing links the two rows
            rows = await self.s.execute(self.sql.participations,
                                        [{"occurrence_id": r.occurrence_id, "member_id": r.member_id} for r in anonymous])
            fresh = set(rows.all())
            answers = [r for r in anonymous if (r.occurrence_id, r.member_id) in fresh]
            _shuffle(answers)  # the order of insertion says nothing about who is who
            if answers:
                await self.s.execute(self.sql.anonymous_replies, [
                    {"id": str(uuid.uuid4()), "occurrence_id": r.occurrence_id, "member_id": None,
                     "team_id": r.team_id, "values": r.values, "created_on": r.today, "updated_at": None}
                    for r in answers
                ])
        return [not r.anonymous or (r.occurrence_id, r.member_id) in fresh for r in replies]

    async def save_reply(
        self, *, occurrence_id: int, team_id: int, member_id: int, anonymous: bool,
        values: dict[str, Any], today: date, now: datetime,
    ) -> bool:
        """One reply (see ``save_replies``)."""
        reply = NewReply(occurrence_id=occurrence_id, team_id=team_id, member_id=member_id,
                         anonymous=anonymous, values=values, today=today)
        return (await self.save_replies([reply], now))[0]

    async def enqueue(
        self, *, team_id: int, occurrence_id: int | None, destination: ChannelRef,
        payload: dict[str, Any], at: datetime,
    ) -> None:
        await self.s.execute(insert(OutboxMessage.__table__).values(
            team_id=team_id, occurrence_id=occurrence_id, destination=channel_to(destination),
            payload=payload, status="pending", attempts=0, next_attempt_at=at, created_at=at,
        ))

    async def prompt_refs(self, occurrence_id: int) -> list[tuple[ChannelRef, MessageRef]]:
        occ = await self.s.get(Occurrence, occurrence_id)
        if occ is None:
            return []
        ritual = await self.s.get(Ritual, occ.ritual_id)
        team = await self.s.get(Team, ritual.team_id) if ritual else None
        if team is None:
            return []
        rows = await self.s.scalars(select(SentPrompt).where(SentPrompt.occurrence_id == occurrence_id))
        return [
            (
                ChannelRef(platform=team.platform, workspace_id=team.workspace_id, channel_id=p.channel_id, user_id=p.user_id),
                MessageRef(channel_id=p.channel_id, message_id=p.message_id, thread_id=p.thread_id),
            )
            for p in rows
        ]

    async def set_paused(self, ritual_id: int, paused: bool) -> None:
        await self.s.execute(update(Ritual).where(Ritual.id == ritual_id).values(paused=paused))

    async def lock_remindable(self, now: datetime, limit: int) -> list[OccurrenceView]:
        rows = await self.s.scalars(
            self._locked(
                select(Occurrence).where(
                    Occurrence.status == "open", Occurrence.remind_at <= now,
                    Occurrence.reminded_at.is_(None), Occurrence.closes_at > now,
                ).order_by(Occurrence.remind_at).limit(limit)
            )
        )
        return [occurrence_view(o) for o in rows]

    async def mark_reminded(self, occurrence_id: int, now: datetime) -> None:
        await self.s.execute(update(Occurrence).where(Occurrence.id == occurrence_id).values(reminded_at=now))

    async def unanswered(self, occurrence_id: int, team_id: int) -> list[str]:
        named = select(Reply.member_id).where(Reply.occurrence_id == occurrence_id, Reply.member_id.is_not(None))
        anonymous = select(Participation.member_id).where(Participation.occurrence_id == occurrence_id)
        rows = await self.s.scalars(
            select(Member.user_id).join(TeamMember, TeamMember.member_id == Member.id)
            .where(TeamMember.team_id == team_id, Member.mute_reminders.is_(False),
                   Member.id.not_in(named), Member.id.not_in(anonymous))
            .order_by(Member.user_id)
        )
        return list(rows)

    async def follow_up_action(self, action_id: int, occurrence_id: int) -> None:
        # One agreement waits per ritual (``Repo.add_action`` replaces, never stacks).
        await self.s.execute(update(Action).where(Action.id == action_id).values(followup_occurrence_id=occurrence_id))


class Repo:
    """The database, as the engine and the commands use it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine)
        # Answers are written from a thread of their own (see ``Writer``), started with the
        # first answer; an in-memory database exists on one connection only.
        self._writes_apart = not in_memory(engine.url.render_as_string(hide_password=False))
        self.writer: Writer | None = None
        self._closed = False
        # PostgreSQL takes transactions side by side (their rows are locked in one order);
        # SQLite has one writer at a time.
        self.answer_concurrency = 3 if engine.dialect.name == "postgresql" else 1

    async def dispose(self) -> None:
        self._closed = True
        if self.writer is not None:
            await self.writer.dispose()
            self.writer = None
        await self.engine.dispose()

    async def run_answers(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run a batch of answers (``work`` uses ``answer_transaction``) whole on the
        writer's thread."""
        if self._closed:
            raise RuntimeError("the database is closed")
        if not self._writes_apart:
            return await work()
        if self.writer is None:
            self.writer = Writer(self.engine.url.render_as_string(hide_password=False))
        return await self.writer.submit(work())

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as s, s.begin():
            yield s

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        async with self.session() as s:
            yield SqlTx(s)

    @asynccontextmanager
    async def answer_transaction(self, *, autocommit: bool = False) -> AsyncIterator[SqlTx]:
        """On a plain connection, without an ORM session (the answer statements are Core
        statements); inside ``run_answers`` the writer's."""
        if self.writer is not None and threading.current_thread() is self.writer.thread:
            async with self.writer.transaction(autocommit=autocommit) as conn:
                yield SqlTx(conn)
        elif autocommit and self.engine.dialect.name == "postgresql":
            async with autocommit_connection(self.engine) as async_conn:
                yield SqlTx(async_conn)
        else:
            async with self.engine.begin() as async_conn:
                yield SqlTx(async_conn)

    # -- outbox ---------------------------------------------------------------------

    async def claim_outbox(self, now: datetime, limit: int, owner: str, lease_s: float) -> list[OutboxItem]:
        """Take up to ``limit`` due messages for ``lease_s`` seconds, in one transaction.

        On PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``, so replicas claiming at
        the same moment get disjoint batches; the lease keeps them disjoint after the commit.
        Plain columns, not ORM objects: this runs for every batch the dispatcher sends.
        """
        o = OutboxMessage
        async with self.session() as s:
            stmt = (
                select(o.id, o.team_id, o.occurrence_id, o.destination, o.payload, o.attempts)
                .where(o.status == "pending", o.next_attempt_at <= now,
                       or_(o.lease_until.is_(None), o.lease_until < now))
                .order_by(o.next_attempt_at, o.id)
                .limit(limit)
            )
            if s.bind.dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = (await s.execute(stmt)).all()
            if not rows:
                return []
            await s.execute(
                update(o).where(o.id.in_([r.id for r in rows]))
                .values(lease_until=now + timedelta(seconds=lease_s), claimed_by=owner, attempts=o.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            return [
                OutboxItem(id=r.id, team_id=r.team_id, occurrence_id=r.occurrence_id,
                           destination=channel_from(r.destination), payload=dict(r.payload), attempts=r.attempts + 1)
                for r in rows
            ]

    async def finish_outbox(self, deliveries: list[Delivery], now: datetime) -> None:
        """Write back a batch of outcomes in one transaction (a group commit): the sent in one
        statement, the places where prompts landed in one multi-row insert."""
        o = OutboxMessage
        async with self.session() as s:
            sent = [d for d in deliveries if d.error is None]
            if sent:
                await s.execute(
                    update(o).where(o.id.in_([d.item.id for d in sent]))
                    .values(status="sent", sent_at=now, lease_until=None, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            delivered_notices = [d.item.id for d in sent if d.item.payload.get("type") == "notice"]
            if delivered_notices:  # what a message said is the platform's now: no copy of answers kept here
                await s.execute(
                    update(o).where(o.id.in_(delivered_notices)).values(payload=DELIVERED_NOTICE)
                    .execution_options(synchronize_session=False)
                )
            landed = [
                {"occurrence_id": int(d.item.payload["occurrence_id"]), "platform": d.item.destination.platform,
                 "channel_id": d.ref.channel_id, "message_id": d.ref.message_id, "thread_id": d.ref.thread_id,
                 "user_id": d.item.destination.user_id, "created_at": now}
                for d in sent if d.ref is not None and d.item.payload.get("type") == "prompt"
            ]
            if landed:
                await s.execute(insert(SentPrompt), landed)
            for d in deliveries:
                if d.error is not None:
                    values: dict[str, Any] = {"last_error": d.error[:500], "lease_until": None}
                    if d.retry_at is None:
                        values["status"] = "failed"
                    else:
                        values["next_attempt_at"] = d.retry_at
                    await s.execute(
                        update(o).where(o.id == d.item.id).values(**values).execution_options(synchronize_session=False)
                    )

    async def outbox_prompts(self, occurrence_ids: Sequence[int]) -> dict[int, tuple[OccurrenceView, RitualView, TeamView]]:
        """What the dispatcher needs to render a batch's prompts: occurrence, ritual and team
        of each occurrence, in one query (occurrences that are gone are left out)."""
        if not occurrence_ids:
            return {}
        async with self.session() as s:
            rows = await s.execute(
                select(Occurrence, Ritual, Team)
                .join(Ritual, Ritual.id == Occurrence.ritual_id)
                .join(Team, Team.id == Ritual.team_id)
                .where(Occurrence.id.in_(list(occurrence_ids)))
            )
            return {o.id: (occurrence_view(o), ritual_view(r), team_view(t)) for o, r, t in rows.all()}

    # -- teams, members, roles ----------------------------------------------------------

    async def ensure_team(
        self, *, platform: str, workspace_id: str, channel_id: str, name: str,
        timezone: str, language: str, now: datetime,
    ) -> tuple[TeamView, bool]:
        """The team of a channel, created with the defaults on first contact."""
        where = and_(Team.platform == platform, Team.workspace_id == workspace_id, Team.channel_id == channel_id)
        async with self.session() as s:
            team = await s.scalar(select(Team).where(where))
            if team is not None:
                return team_view(team), False
            try:
                async with s.begin_nested():
                    team = Team(platform=platform, workspace_id=workspace_id, channel_id=channel_id,
                                name=name, timezone=timezone, language=language, created_at=now,
                                settings={}, conversation={}, holiday_country="NL",
                                anonymity_threshold=3, retention_days=730, active=True)
                    s.add(team)
                    await s.flush()
                return team_view(team), True
            except IntegrityError:
                team = await s.scalar(select(Team).where(where))
                assert team is not None
                return team_view(team), False

    async def ensure_member(
        self, *, platform: str, workspace_id: str, user_id: str, display_name: str,
        now: datetime, team_id: int | None = None,
    ) -> int:
        """The member's id, created on first contact; joins the team when given."""
        where = and_(Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id)
        async with self.session() as s:
            member = await s.scalar(select(Member).where(where))
            if member is None:
                try:
                    async with s.begin_nested():
                        member = Member(platform=platform, workspace_id=workspace_id, user_id=user_id,
                                        display_name=display_name, created_at=now, mute_reminders=False)
                        s.add(member)
                        await s.flush()
                except IntegrityError:
                    member = await s.scalar(select(Member).where(where))
                    assert member is not None
            elif display_name and member.display_name != display_name:
                member.display_name = display_name
            if team_id is not None:
                joined = await s.get(TeamMember, (team_id, member.id))
                if joined is None:
                    try:
                        async with s.begin_nested():
                            s.add(TeamMember(team_id=team_id, member_id=member.id))
                            await s.flush()
                    except IntegrityError:
                        pass
            return member.id

    async def leave_team(self, *, platform: str, workspace_id: str, channel_id: str, user_ids: Sequence[str]) -> int:
        """These people left the channel: its rituals no longer invite or remind them. Their
        answers and roles stay (someone who comes back finds them). Returns how many left."""
        return await self._leave(platform, workspace_id, channel_id, Member.user_id.in_(list(user_ids)))

    async def keep_in_team(self, *, platform: str, workspace_id: str, channel_id: str, user_ids: Sequence[str]) -> int:
        """The channel's complete member list is known: everyone else leaves its team."""
        return await self._leave(platform, workspace_id, channel_id, Member.user_id.not_in(list(user_ids)))

    async def _leave(self, platform: str, workspace_id: str, channel_id: str, who: Any) -> int:
        async with self.session() as s:
            team_id = await s.scalar(select(Team.id).where(
                Team.platform == platform, Team.workspace_id == workspace_id, Team.channel_id == channel_id))
            if team_id is None:
                return 0
            leaving = select(Member.id).where(Member.platform == platform, Member.workspace_id == workspace_id, who)
            result = await s.execute(delete(TeamMember).where(TeamMember.team_id == team_id,
                                                              TeamMember.member_id.in_(leaving)))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def member_teams(self, actor: Actor, limit: int = 20) -> list[tuple[TeamView, int]]:
        """The active teams a person is in, oldest first, each with their member id."""
        async with self.session() as s:
            rows = (await s.execute(
                select(Team, Member.id)
                .join(TeamMember, TeamMember.team_id == Team.id)
                .join(Member, Member.id == TeamMember.member_id)
                .where(Member.platform == actor.platform, Member.workspace_id == actor.workspace_id,
                       Member.user_id == actor.user_id, Team.active.is_(True))
                .order_by(Team.id).limit(limit)
            )).all()
            return [(team_view(team), member_id) for team, member_id in rows]

    async def find_member(self, *, platform: str, workspace_id: str, user_id: str) -> int | None:
        async with self.session() as s:
            return await s.scalar(select(Member.id).where(
                Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id))

    async def roles(self, team_id: int, member_id: int) -> set[str]:
        async with self.session() as s:
            rows = await s.scalars(select(RoleGrant.role).where(RoleGrant.team_id == team_id, RoleGrant.member_id == member_id))
            return set(rows)

    async def grant(self, team_id: int, member_id: int, role: str, now: datetime) -> bool:
        async with self.session() as s:
            if await s.get(RoleGrant, (team_id, member_id, role)) is not None:
                return False
            s.add(RoleGrant(team_id=team_id, member_id=member_id, role=role, created_at=now))
            return True

    async def revoke(self, team_id: int, member_id: int, role: str) -> bool:
        async with self.session() as s:
            result = await s.execute(delete(RoleGrant).where(
                RoleGrant.team_id == team_id, RoleGrant.member_id == member_id, RoleGrant.role == role))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def role_list(self, team_id: int) -> list[tuple[str, str, str]]:
        """(role, user id, display name) of every grant in the team."""
        async with self.session() as s:
            rows = await s.execute(
                select(RoleGrant.role, Member.user_id, Member.display_name)
                .join(Member, Member.id == RoleGrant.member_id)
                .where(RoleGrant.team_id == team_id).order_by(RoleGrant.role, Member.display_name)
            )
            return [(r, u, n) for r, u, n in rows.all()]

    async def team_conversation(self, *, platform: str, workspace_id: str, channel_id: str) -> tuple[int, dict[str, Any], bool] | None:
        """(team id, stored platform conversation reference, active) of a channel, if known."""
        async with self.session() as s:
            team = await s.scalar(select(Team).where(
                Team.platform == platform, Team.workspace_id == workspace_id, Team.channel_id == channel_id))
            return (team.id, dict(team.conversation or {}), bool(team.active)) if team else None

    async def update_team(self, team_id: int, **values: Any) -> None:
        async with self.session() as s:
            await s.execute(update(Team).where(Team.id == team_id).values(**values))

    async def team(self, team_id: int) -> TeamView:
        async with self.transaction() as tx:
            return await tx.team(team_id)

    # -- rituals --------------------------------------------------------------------

    async def add_ritual(
        self, *, team_id: int, kind: str, schedule: str, open_seconds: int,
        options: dict[str, Any], next_due_at: datetime | None, now: datetime,
    ) -> int:
        async with self.session() as s:
            ritual = Ritual(team_id=team_id, kind=kind, schedule=schedule, open_seconds=open_seconds,
                            options=options, paused=False, next_due_at=next_due_at, created_at=now)
            s.add(ritual)
            await s.flush()
            return ritual.id

    async def rituals(self, team_id: int) -> list[RitualView]:
        async with self.session() as s:
            rows = await s.scalars(select(Ritual).where(Ritual.team_id == team_id).order_by(Ritual.id))
            return [ritual_view(r) for r in rows]

    async def ritual_in_team(self, team_id: int, ritual_id: int) -> RitualView | None:
        async with self.session() as s:
            r = await s.get(Ritual, ritual_id)
            return ritual_view(r) if r is not None and r.team_id == team_id else None

    async def set_ritual(self, ritual_id: int, **values: Any) -> None:
        async with self.session() as s:
            await s.execute(update(Ritual).where(Ritual.id == ritual_id).values(**values))

    async def remove_ritual(self, ritual_id: int) -> None:
        async with self.session() as s:
            await s.execute(delete(Ritual).where(Ritual.id == ritual_id))

    async def open_occurrences(self, ritual_ids: Sequence[int]) -> dict[int, list[OccurrenceView]]:
        async with self.session() as s:
            rows = await s.scalars(select(Occurrence).where(Occurrence.ritual_id.in_(ritual_ids), Occurrence.status == "open"))
            out: dict[int, list[OccurrenceView]] = {}
            for o in rows:
                out.setdefault(o.ritual_id, []).append(occurrence_view(o))
            return out

    async def last_planned(self, ritual_ids: Sequence[int]) -> dict[int, datetime]:
        """When each ritual's latest occurrence (sent or skipped) was planned."""
        async with self.session() as s:
            rows = await s.execute(select(Occurrence.ritual_id, func.max(Occurrence.planned_at))
                                   .where(Occurrence.ritual_id.in_(ritual_ids)).group_by(Occurrence.ritual_id))
            return {ritual_id: at for ritual_id, at in rows.all() if at is not None}

    async def last_skipped(self, ritual_ids: Sequence[int]) -> dict[int, OccurrenceView]:
        async with self.session() as s:
            rows = await s.scalars(
                select(Occurrence).where(Occurrence.ritual_id.in_(ritual_ids), Occurrence.status == "skipped")
                .order_by(Occurrence.planned_at)
            )
            return {o.ritual_id: occurrence_view(o) for o in rows}

    async def add_action(self, *, ritual_id: int, text: str, member_id: int | None, now: datetime) -> tuple[int, str | None]:
        """Record an agreed action, linked to the ritual's latest closed round; (its id, the
        text it replaced). The next round asks about one agreement: one still waiting for
        that round is replaced, not stacked."""
        async with self.session() as s:
            source = await s.scalar(
                select(Occurrence.id).where(Occurrence.ritual_id == ritual_id, Occurrence.status == "closed")
                .order_by(Occurrence.planned_at.desc()).limit(1)
            )
            waiting = await s.scalar(select(Action).where(Action.ritual_id == ritual_id, Action.followup_occurrence_id.is_(None))
                                     .order_by(Action.id.desc()).limit(1))
            if waiting is not None:
                replaced = waiting.text
                waiting.text, waiting.member_id, waiting.source_occurrence_id, waiting.created_at = text, member_id, source, now
                return waiting.id, replaced
            action = Action(ritual_id=ritual_id, text=text, member_id=member_id, source_occurrence_id=source, created_at=now)
            s.add(action)
            await s.flush()
            return action.id, None

    async def set_mute(self, member_id: int, muted: bool) -> None:
        async with self.session() as s:
            await s.execute(update(Member).where(Member.id == member_id).values(mute_reminders=muted))

    async def assigned_colleague(self, *, platform: str, workspace_id: str, user_id: str, occurrence_id: int) -> tuple[str, str] | None:
        """(member id, name) of the colleague a member is asked to appreciate in a round."""
        async with self.session() as s:
            occ = await s.get(Occurrence, occurrence_id)
            if occ is None:
                return None
            me = await s.scalar(select(Member.id).where(
                Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id))
        roster = round_roster(occ.content or {})
        target = assign_colleagues([mid for mid, _name in roster], occurrence_id).get(me) if me is not None else None
        return (str(target), dict(roster)[target]) if target is not None else None

    async def private_round(self, occurrence_id: int, now: datetime) -> int:
        """Queue an open round's prompt privately to every roster member not asked yet."""
        queued = 0
        async with self.transaction() as tx:
            s = tx.s
            occ = await s.get(Occurrence, occurrence_id)
            ritual = await s.get(Ritual, occ.ritual_id) if occ else None
            row = await s.get(Team, ritual.team_id) if ritual else None
            if occ is None or row is None or occ.status != "open":
                return 0
            team = team_view(row)
            ids = [mid for mid, _name in round_roster(occ.content or {})]
            users = (await s.scalars(select(Member.user_id).where(
                Member.id.in_(ids), Member.platform == team.platform, Member.workspace_id == team.workspace_id,
            ).order_by(Member.user_id))).all() if ids else []
            rows = (await s.execute(select(OutboxMessage.destination, OutboxMessage.payload)
                                    .where(OutboxMessage.occurrence_id == occurrence_id))).all()
            asked = {str((d or {}).get("user_id")) for d, p in rows
                     if (p or {}).get("type") == "prompt" and (d or {}).get("user_id")}
            for user_id in users:
                if user_id not in asked:
                    await tx.enqueue(team_id=team.id, occurrence_id=occurrence_id,
                                     destination=ChannelRef(platform=team.platform, workspace_id=team.workspace_id,
                                                            channel_id=team.channel_id, user_id=user_id),
                                     payload={"type": "prompt", "occurrence_id": occurrence_id}, at=now)
                    queued += 1
        return queued

    # -- holidays -------------------------------------------------------------------

    async def add_holiday(self, team_id: int, start: date, end: date, name: str, source: str = "manual") -> bool:
        async with self.session() as s:
            exists = await s.scalar(select(Holiday.id).where(Holiday.team_id == team_id, Holiday.start_date == start, Holiday.end_date == end))
            if exists:
                return False
            s.add(Holiday(team_id=team_id, start_date=start, end_date=end, name=name, source=source))
            return True

    async def remove_holiday(self, team_id: int, start: date, end: date) -> bool:
        async with self.session() as s:
            result = await s.execute(delete(Holiday).where(Holiday.team_id == team_id, Holiday.start_date == start, Holiday.end_date == end))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def holidays(self, team_id: int) -> list[tuple[date, date, str]]:
        async with self.session() as s:
            rows = await s.execute(select(Holiday.start_date, Holiday.end_date, Holiday.name).where(Holiday.team_id == team_id).order_by(Holiday.start_date))
            return [(a, b, n) for a, b, n in rows.all()]

    # -- audit, privacy ---------------------------------------------------------------

    async def audit(self, team_id: int, member_id: int | None, action: str, detail: dict[str, Any], now: datetime) -> None:
        async with self.session() as s:
            s.add(AuditEntry(team_id=team_id, member_id=member_id, action=action, detail=detail, created_at=now))

    async def team_members(self, team_id: int) -> list[tuple[int, str, str]]:
        """(member id, platform user id, display name) of everyone in the team."""
        async with self.session() as s:
            rows = await s.execute(
                select(Member.id, Member.user_id, Member.display_name)
                .join(TeamMember, TeamMember.member_id == Member.id).where(TeamMember.team_id == team_id)
            )
            return [(a, b, c) for a, b, c in rows.all()]

    async def forget_member(self, member_id: int) -> int:
        """Erase a member's replies and identity everywhere, and every copy of their id and
        name in what others keep (``storage.erasure``); the number of replies erased."""
        return await forget_member(self.engine, member_id)

    async def replies_for(self, occurrence_id: int) -> list[ReplyView]:
        async with self.transaction() as tx:
            return await tx.replies(occurrence_id)

    # -- playground channel ------------------------------------------------------------

    async def post_channel_message(self, channel_id: str, user_id: str | None, payload: dict[str, Any], now: datetime) -> int:
        async with self.session() as s:
            msg = ChannelMessage(channel_id=channel_id, user_id=user_id, payload=payload, created_at=now)
            s.add(msg)
            await s.flush()
            return msg.id

    async def update_channel_message(self, message_id: int, payload: dict[str, Any], now: datetime) -> None:
        async with self.session() as s:
            await s.execute(update(ChannelMessage).where(ChannelMessage.id == message_id).values(payload=payload, updated_at=now))

    async def channel_messages(self, channel_id: str, user_id: str | None, limit: int = 200) -> list[tuple[int, str | None, dict[str, Any], datetime]]:
        """The latest messages of a channel that ``user_id`` may see, oldest first."""
        async with self.session() as s:
            rows = await s.execute(
                select(ChannelMessage.id, ChannelMessage.user_id, ChannelMessage.payload, ChannelMessage.created_at)
                .where(ChannelMessage.channel_id == channel_id,
                       or_(ChannelMessage.user_id.is_(None), ChannelMessage.user_id == user_id))
                .order_by(ChannelMessage.id.desc()).limit(limit)
            )
            return [(i, u, p, c) for i, u, p, c in reversed(rows.all())]
