"""Repositories: the engine's store (``rituals.ports.Store``) and what the commands need.

Everything that touches SQL lives here. Each public coroutine of ``Repo`` is one
transaction; ``SqlTx`` is the engine's view of one transaction.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from rituals.kinds.appreciation import assign_colleagues, round_roster
from rituals.ports import (
    AnswerRules,
    Delivery,
    OccurrenceView,
    OpeningContext,
    OutboxItem,
    ReplyView,
    RitualView,
    TeamView,
)
from rituals.types import Actor, ChannelRef, MessageRef
from storage.answers.rows import AnswerRows
from storage.answers.seal import Sealer
from storage.answers.writer import AnswerWriter, Transactions, WriterConnection, WriterThread
from storage.db import autocommit_connection, in_memory, sessionmaker, truncate_wal, vacuum
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
    SealedAnswer,
    SentPrompt,
    Team,
    TeamMember,
)
from storage.views import channel_from, channel_to, occurrence_view, ritual_view, team_view

_shuffle = random.SystemRandom().shuffle


log = logging.getLogger(__name__)

T = TypeVar("T")


class SqlTx(AnswerRows):
    """The engine's operations inside one transaction (see ``rituals.ports.Tx``); those of
    answers are ``AnswerRows``'."""

    def __init__(self, session: AsyncSession | AsyncConnection | WriterConnection, sealer: Sealer) -> None:
        super().__init__(session, sealer)
        self.locking = self.in_one_statement  # row locks: FOR UPDATE SKIP LOCKED among replicas

    def _insert(self, table: Any) -> Any:
        """INSERT with the dialect's ON CONFLICT clauses."""
        return (pg_insert if self.locking else sqlite_insert)(table)

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
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        await self.open_sealed(occurrence_id, now)
        return True

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
        """Replies and, while the round is open, sealed answers."""
        replies = select(func.count()).select_from(Reply).where(Reply.occurrence_id == occurrence_id).scalar_subquery()
        sealed = (select(func.count()).select_from(SealedAnswer)
                  .where(SealedAnswer.occurrence_id == occurrence_id).scalar_subquery())
        return int(await self.s.scalar(select(replies + sealed)) or 0)

    async def has_answered(self, occurrence_id: int, member_id: int) -> bool:
        named = await self.s.scalar(select(Reply.id).where(Reply.occurrence_id == occurrence_id, Reply.member_id == member_id))
        if named:
            return True
        anon = await self.s.scalar(
            select(Participation.member_id).where(Participation.occurrence_id == occurrence_id, Participation.member_id == member_id)
        )
        return anon is not None

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

    def __init__(self, engine: AsyncEngine, sealer: Sealer) -> None:
        self.engine = engine
        self.sealer = sealer
        self.sessions = sessionmaker(engine)
        # Answers are written from a thread of their own (``WriterThread``), started with the
        # first answer; an in-memory database exists on one connection only.
        self._writes_apart = not in_memory(engine.url.render_as_string(hide_password=False))
        self.writer: WriterThread | None = None
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

    def answer_writer(self, rules: AnswerRules, clock: Callable[[], datetime]) -> AnswerWriter:
        return AnswerWriter(self.run_answers, rules, clock, lanes=self.answer_concurrency)

    async def run_answers(self, work: Callable[[Transactions], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` (a batch of answers) whole on the writer's thread, handing it the
        transactions to use there."""
        if self._closed:
            raise RuntimeError("the database is closed")
        if not self._writes_apart:
            return await work(self.answer_transaction)
        if self.writer is None:
            self.writer = WriterThread(self.engine.url.render_as_string(hide_password=False))
        return await self.writer.submit(work(self._writer_transaction))

    @asynccontextmanager
    async def _writer_transaction(self, *, autocommit: bool = False) -> AsyncIterator[SqlTx]:
        assert self.writer is not None
        async with self.writer.transaction(autocommit=autocommit) as conn:
            yield SqlTx(conn, self.sealer)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as s, s.begin():
            yield s

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTx]:
        async with self.session() as s:
            yield SqlTx(s, self.sealer)

    @asynccontextmanager
    async def answer_transaction(self, *, autocommit: bool = False) -> AsyncIterator[SqlTx]:
        """On a plain connection of the server's loop, without an ORM session (the answer
        statements are Core statements); ``run_answers`` hands its work the writer's.
        ``autocommit`` (PostgreSQL): no transaction around the statements, each commits on
        its own, without the BEGIN and COMMIT round trips; SQLite's is one all the same."""
        if autocommit and self.engine.dialect.name == "postgresql":
            async with autocommit_connection(self.engine) as async_conn:
                yield SqlTx(async_conn, self.sealer)
        else:
            async with self.engine.begin() as async_conn:
                yield SqlTx(async_conn, self.sealer)

    async def channel_language(self, channel: ChannelRef) -> str | None:
        async with self.answer_transaction() as tx:
            return await tx.channel_language(channel)

    async def drop_deleted_copies(self) -> None:
        """After rounds closed: their sealed answers were deleted (``open_sealed``); SQLite's
        WAL is checkpointed and truncated (``secure_delete`` zeroed them in the file),
        PostgreSQL's ``sealed_answers`` vacuumed."""
        await truncate_wal(self.engine)
        await vacuum(self.engine, ["sealed_answers"])

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
        return await forget_member(self.engine, member_id, self.sealer)

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
