"""The engine's store (``rituals.ports.Store``): its transactions (``SqlTx``), the answer
writer, and the outbox. The commands' queries build on it (``storage.repo.Repo``)."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from rituals.ports import (
    AnswerRules,
    Delivery,
    OccurrenceView,
    Opening,
    OpeningContext,
    OutboxItem,
    ReplyView,
    RitualView,
    TeamView,
)
from rituals.types import ChannelRef, MessageRef
from storage import opening
from storage.answers.memory import AnswerMemory
from storage.answers.rows import AnswerRows
from storage.answers.seal import Sealer
from storage.answers.writer import AnswerWriter, SqliteWriter, Transactions, WriterThread
from storage.db import autocommit_connection, in_memory, sessionmaker, truncate_wal, vacuum
from storage.models import (
    DELIVERED_NOTICE,
    Member,
    Occurrence,
    OutboxMessage,
    Participation,
    Reply,
    Ritual,
    SealedAnswer,
    SentPrompt,
    Team,
    TeamMember,
    table_of,
)
from storage.views import channel_from, channel_to, occurrence_view, ritual_view, team_view

_shuffle = random.SystemRandom().shuffle


log = logging.getLogger(__name__)

T = TypeVar("T")


class SqlTx(AnswerRows):
    """The engine's operations inside one transaction (see ``rituals.ports.Tx``); those of
    answers are ``AnswerRows``'."""

    @property
    def locking(self) -> bool:
        """Row locks (FOR UPDATE SKIP LOCKED among replicas): PostgreSQL's."""
        return self.in_one_statement

    def _insert(self, table: Any) -> Any:
        """INSERT with the dialect's ON CONFLICT clauses."""
        return (pg_insert if self.locking else sqlite_insert)(table)

    def _locked(self, stmt: Any) -> Any:
        return stmt.with_for_update(skip_locked=True) if self.locking else stmt

    async def lock_due_rituals(self, now: datetime, limit: int) -> list[RitualView]:
        return await opening.lock_due(self.s, now, limit, locking=self.locking)

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

    async def open_batch(
        self, openings: Sequence[Opening], next_due: Sequence[tuple[int, datetime | None]], *, claimed_by: str
    ) -> dict[int, int]:
        return await opening.open_batch(self.s, openings, next_due, claimed_by=claimed_by, locking=self.locking)

    async def add_occurrence(self, **fields: Any) -> int | None:
        table = table_of(Occurrence)
        return await self.s.scalar(  # the claim: one statement, None when taken already
            self._insert(table)
            .values(**fields)
            .on_conflict_do_nothing(index_elements=[table.c.ritual_id, table.c.planned_at])
            .returning(table.c.id)
        )

    async def occurrence(self, occurrence_id: int) -> OccurrenceView | None:
        o = await self.s.get(Occurrence, occurrence_id)
        return occurrence_view(o) if o else None

    async def recent_occurrences(self, ritual_id: int, limit: int) -> list[OccurrenceView]:
        table = table_of(Occurrence)  # plain rows: each tick reads these for every ritual it opens
        rows = await self.s.execute(
            select(table)
            .where(table.c.ritual_id == ritual_id)
            .order_by(table.c.planned_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        return [occurrence_view(o) for o in rows.all()]

    async def open_occurrences(self, ritual_id: int) -> list[OccurrenceView]:
        rows = await self.s.scalars(
            self._locked(select(Occurrence).where(Occurrence.ritual_id == ritual_id, Occurrence.status == "open"))
        )
        return [occurrence_view(o) for o in rows]

    async def lock_closable(self, now: datetime, limit: int) -> list[OccurrenceView]:
        rows = await self.s.scalars(
            self._locked(
                select(Occurrence)
                .where(Occurrence.status == "open", Occurrence.closes_at <= now)
                .order_by(Occurrence.closes_at)
                .limit(limit)
            )
        )
        return [occurrence_view(o) for o in rows]

    async def close_occurrence(self, occurrence_id: int, now: datetime) -> bool:
        result = await self.s.execute(
            update(Occurrence)
            .where(Occurrence.id == occurrence_id, Occurrence.status == "open")
            .values(status="closed", closed_at=now)
        )
        if not result.rowcount:
            return False
        await self.open_sealed(occurrence_id, now)
        return True

    async def opening_context(
        self, rituals: Sequence[RitualView], first_day: date, last_day: date, history: int
    ) -> OpeningContext:
        return await opening.opening_context(self.s, rituals, first_day, last_day, history, locking=self.locking)

    async def replies(self, occurrence_id: int) -> list[ReplyView]:
        rows = await self.s.execute(
            select(Reply, func.coalesce(func.nullif(Member.display_name, ""), Member.user_id))  # unnamed: by id
            .outerjoin(Member, Member.id == Reply.member_id)
            .where(Reply.occurrence_id == occurrence_id)
            .order_by(Member.display_name, Reply.id)
        )
        return [
            ReplyView(member_id=r.member_id, member_name=name or "", values=dict(r.values), created_on=r.created_on)
            for r, name in rows.all()
        ]

    async def invited_count(self, team_id: int) -> int:
        return int(
            await self.s.scalar(select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)) or 0
        )

    async def roster(self, team_id: int) -> list[tuple[int, str, str]]:
        rows = await self.s.execute(
            select(Member.id, Member.display_name, Member.user_id)
            .join(TeamMember, TeamMember.member_id == Member.id)
            .where(TeamMember.team_id == team_id)
            .order_by(Member.display_name)
        )
        return [(mid, name or uid, uid) for mid, name, uid in rows.all()]

    async def answered_count(self, occurrence_id: int) -> int:
        """Replies and, while the round is open, sealed answers."""
        replies = select(func.count()).select_from(Reply).where(Reply.occurrence_id == occurrence_id).scalar_subquery()
        sealed = (
            select(func.count())
            .select_from(SealedAnswer)
            .where(SealedAnswer.occurrence_id == occurrence_id)
            .scalar_subquery()
        )
        return int(await self.s.scalar(select(replies + sealed)) or 0)

    async def has_answered(self, occurrence_id: int, member_id: int) -> bool:
        named = await self.s.scalar(
            select(Reply.id).where(Reply.occurrence_id == occurrence_id, Reply.member_id == member_id)
        )
        if named:
            return True
        anon = await self.s.scalar(
            select(Participation.member_id).where(
                Participation.occurrence_id == occurrence_id, Participation.member_id == member_id
            )
        )
        return anon is not None

    async def enqueue(
        self,
        *,
        team_id: int,
        occurrence_id: int | None,
        destination: ChannelRef,
        payload: dict[str, Any],
        at: datetime,
    ) -> None:
        await self.s.execute(
            insert(table_of(OutboxMessage)).values(
                team_id=team_id,
                occurrence_id=occurrence_id,
                destination=channel_to(destination),
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
        )

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
                ChannelRef(
                    platform=team.platform, workspace_id=team.workspace_id, channel_id=p.channel_id, user_id=p.user_id
                ),
                MessageRef(channel_id=p.channel_id, message_id=p.message_id, thread_id=p.thread_id),
            )
            for p in rows
        ]

    async def set_paused(self, ritual_id: int, paused: bool) -> None:
        await self.s.execute(update(Ritual).where(Ritual.id == ritual_id).values(paused=paused))

    async def lock_remindable(self, now: datetime, limit: int) -> list[OccurrenceView]:
        rows = await self.s.scalars(
            self._locked(
                select(Occurrence)
                .where(
                    Occurrence.status == "open",
                    Occurrence.remind_at <= now,
                    Occurrence.reminded_at.is_(None),
                    Occurrence.closes_at > now,
                )
                .order_by(Occurrence.remind_at)
                .limit(limit)
            )
        )
        return [occurrence_view(o) for o in rows]

    async def mark_reminded(self, occurrence_id: int, now: datetime) -> None:
        await self.s.execute(update(Occurrence).where(Occurrence.id == occurrence_id).values(reminded_at=now))

    async def unanswered(self, occurrence_id: int, team_id: int) -> list[str]:
        named = select(Reply.member_id).where(Reply.occurrence_id == occurrence_id, Reply.member_id.is_not(None))
        anonymous = select(Participation.member_id).where(Participation.occurrence_id == occurrence_id)
        rows = await self.s.scalars(
            select(Member.user_id)
            .join(TeamMember, TeamMember.member_id == Member.id)
            .where(
                TeamMember.team_id == team_id,
                Member.mute_reminders.is_(False),
                Member.id.not_in(named),
                Member.id.not_in(anonymous),
            )
            .order_by(Member.user_id)
        )
        return list(rows)


class Store:
    """The database as the engine uses it (``rituals.ports.Store``): transactions, the
    answer writer, the outbox."""

    def __init__(self, engine: AsyncEngine, sealer: Sealer) -> None:
        self.engine = engine
        self.sealer = sealer
        self.sessions = sessionmaker(engine)
        # Answers are written by a writer of their own (``storage.answers.writer``), made with
        # the first answer; an in-memory database exists on one connection only.
        self._writes_apart = not in_memory(engine.url.render_as_string(hide_password=False))
        self.writer: SqliteWriter | WriterThread | None = None
        self._closed = False
        # PostgreSQL takes transactions side by side (their rows are locked in one order);
        # SQLite has one writer at a time.
        self.answer_concurrency = 3 if engine.dialect.name == "postgresql" else 1
        # What the answer writer's batches read on PostgreSQL, remembered and checked by
        # their writes (``storage.answers.memory``); SQLite reads in the write's transaction.
        self.answer_memory = AnswerMemory() if engine.dialect.name == "postgresql" else None

    async def dispose(self) -> None:
        self._closed = True
        if self.writer is not None:
            await self.writer.dispose()
            self.writer = None
        await self.engine.dispose()

    def answer_writer(self, rules: AnswerRules, clock: Callable[[], datetime]) -> AnswerWriter:
        return AnswerWriter(self.run_answers, rules, clock, lanes=self.answer_concurrency)

    async def run_answers(self, work: Callable[[Transactions], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` (a batch of answers) whole where the writer writes (SQLite: on this
        loop; PostgreSQL: on the writer's thread), handing it the transactions to use there."""
        if self._closed:
            raise RuntimeError("the database is closed")
        if not self._writes_apart:
            return await work(self.answer_transaction)
        if self.writer is None:
            url = self.engine.url.render_as_string(hide_password=False)
            self.writer = SqliteWriter(url) if self.engine.dialect.name == "sqlite" else WriterThread(url)
        return await self.writer.run(work(self._writer_transaction))

    @asynccontextmanager
    async def _writer_transaction(self, *, autocommit: bool = False) -> AsyncIterator[SqlTx]:
        assert self.writer is not None
        async with self.writer.transaction(autocommit=autocommit) as conn:
            yield SqlTx(conn, self.sealer, self.answer_memory)

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

    async def drop_deleted_copies(self, tables: Collection[str] = ("sealed_answers",)) -> None:
        """After rows were deleted (by default: sealed answers, opened when rounds closed):
        SQLite's WAL is checkpointed and truncated (``secure_delete`` zeroed the rows in the
        file), PostgreSQL's ``tables`` vacuumed."""
        await truncate_wal(self.engine)
        await vacuum(self.engine, tables)

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
                .where(
                    o.status == "pending", o.next_attempt_at <= now, or_(o.lease_until.is_(None), o.lease_until < now)
                )
                .order_by(o.next_attempt_at, o.id)
                .limit(limit)
            )
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            rows = (await s.execute(stmt)).all()
            if not rows:
                return []
            await s.execute(
                update(o)
                .where(o.id.in_([r.id for r in rows]))
                .values(lease_until=now + timedelta(seconds=lease_s), claimed_by=owner, attempts=o.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            return [
                OutboxItem(
                    id=r.id,
                    team_id=r.team_id,
                    occurrence_id=r.occurrence_id,
                    destination=channel_from(r.destination),
                    payload=dict(r.payload),
                    attempts=r.attempts + 1,
                )
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
                    update(o)
                    .where(o.id.in_([d.item.id for d in sent]))
                    .values(status="sent", sent_at=now, lease_until=None, last_error=None)
                    .execution_options(synchronize_session=False)
                )
            delivered_notices = [d.item.id for d in sent if d.item.payload.get("type") == "notice"]
            if delivered_notices:  # what a message said is the platform's now: no copy of answers kept here
                await s.execute(
                    update(o)
                    .where(o.id.in_(delivered_notices))
                    .values(payload=DELIVERED_NOTICE)
                    .execution_options(synchronize_session=False)
                )
            landed = [
                {
                    "occurrence_id": int(d.item.payload["occurrence_id"]),
                    "platform": d.item.destination.platform,
                    "channel_id": d.ref.channel_id,
                    "message_id": d.ref.message_id,
                    "thread_id": d.ref.thread_id,
                    "user_id": d.item.destination.user_id,
                    "created_at": now,
                }
                for d in sent
                if d.ref is not None and d.item.payload.get("type") == "prompt"
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

    async def outbox_prompts(
        self, occurrence_ids: Sequence[int]
    ) -> dict[int, tuple[OccurrenceView, RitualView, TeamView]]:
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
