"""Read-only queries for the review page, the export and the ``review`` summary, and the
retention clean-up.

The reads of one page or summary run in one transaction (``Queries.reading``) and return
plain frozen dataclasses. Every query is bounded by team, ritual or round and served by an
index: occurrences by their unique (ritual, planned time), replies by their round
(``uq_replies_occurrence_id``, which also tells named from anonymous ones), the audit log
by its team index. The retention clean-up deletes by ``ix_replies_team_created``.

Anonymous replies never leave this module one by one: only totals (how many answered; per
scored question how many scores and their sum) and the written answers, without order,
and only for occurrences that at least ``min_answers`` members answered (written answers
from ``words_threshold(min_answers)``, at least five). The threshold is
applied in SQL, so a caller cannot forget it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import JSON, Float, Integer, Text, and_, case, cast, column, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Select

from rituals.kinds.base import words_threshold
from rituals.ports import OccurrenceView, ReplyView, RitualView, TeamView
from storage.db import rowcount
from storage.models import (
    Action,
    AuditEntry,
    Member,
    Occurrence,
    OutboxMessage,
    Participation,
    Reply,
    Ritual,
    SealedAnswer,
    Team,
    TeamMember,
    table_of,
)
from storage.repo import Repo
from storage.views import occurrence_view, ritual_view, team_view


@dataclass(frozen=True, kw_only=True, slots=True)
class Round:
    """One occurrence of a ritual, with how many answered it."""

    occurrence_id: int
    ritual_id: int
    planned_at: datetime
    status: str  # open, closed, skipped
    reason: str | None
    content: dict[str, Any]
    answered: int


@dataclass(frozen=True, kw_only=True, slots=True)
class NamedAnswer:
    """One member's answer to a non-anonymous occurrence."""

    occurrence_id: int
    member_name: str
    values: dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class AnonymousRound:
    """What may be shown of an anonymous occurrence that enough members answered."""

    answered: int
    scores: dict[str, tuple[int, int]]  # question that enough scored -> (how many scored it, the sum)
    texts: dict[str, list[str]]  # written question -> the non-empty answers, sorted: no order of arrival
    # question that enough scored -> how many answered 1, 2, 3, 4 and 5: the spread, never who
    counts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # the scale's mean per answer, added up: (answers, sum, sum of squares); None below the threshold
    scale: tuple[int, float, float] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditRow:
    """An admin action; ``actor`` is None when the member was forgotten."""

    action: str
    detail: dict[str, Any]
    created_at: datetime
    actor: str | None


def _rounds_of(ritual_ids: Collection[int], since: datetime) -> Select[Any]:
    """The ids of the rituals' occurrences planned at or after ``since`` (their unique index)."""
    return select(Occurrence.id).where(Occurrence.ritual_id.in_(ritual_ids), Occurrence.planned_at >= since)


SCORES = range(1, 6)  # the 1..5 agree scale of scored questions


def _totals(
    dialect: str, scored: Sequence[str], written: Sequence[str], least: int, scale: Mapping[str, bool]
) -> tuple[list[Any], list[ColumnElement[Any]]]:
    """Aggregates of the answers in ``replies.values``, per group of replies: for each scored
    question how many scored it and, when at least ``least`` did, the sum and how many gave
    each score; for each written question the non-empty texts as a JSON array; for ``scale``
    (its items, reverse-worded or not) the count, sum and sum of squares of each answer's mean
    over the items it scored, reverse-worded ones as 6 - score. Returns the extra FROM items
    they need and the columns.

    PostgreSQL keeps the values as ``json`` text and would parse a reply again for every
    ``->>``; ``json_to_record`` parses it once. SQLite's ``json_extract`` is cheap as it is.
    """
    if not scored and not written:
        return [], []
    if dialect == "postgresql":
        record = (
            func.json_to_record(Reply.values)
            .table_valued(
                *(column(k, Integer) for k in scored), *(column(k, Text) for k in written), joins_implicitly=True
            )
            .render_derived(name="answer", with_types=True)
        )
        fields: dict[str, ColumnElement[Any]] = {k: record.c[k] for k in (*scored, *written)}
        gather, extra = func.json_agg, [record]
    else:
        fields = {k: Reply.values[k].as_integer() for k in scored} | {k: Reply.values[k].as_string() for k in written}
        gather, extra = func.json_group_array, []
    columns: list[ColumnElement[Any]] = []
    for key in scored:
        count = func.count(fields[key])
        columns += [count, case((count >= least, func.sum(fields[key])))]
        columns += [case((count >= least, func.sum(case((fields[key] == s, 1), else_=0)))) for s in SCORES]
    for key in written:
        text = fields[key]
        columns.append(gather(text, type_=JSON).filter(and_(text.is_not(None), text != "")))
    items = [k for k in scale if k in fields]
    if items:
        total = sum((func.coalesce(6 - fields[k] if scale[k] else fields[k], 0) for k in items), cast(0, Float))
        asked = sum((case((fields[k].is_not(None), 1), else_=0) for k in items), cast(0, Float))
        per_answer = total / func.nullif(asked, 0)
        answers = func.count(per_answer)
        columns += [
            answers,
            case((answers >= least, func.sum(per_answer))),
            case((answers >= least, func.sum(per_answer * per_answer))),
        ]
    return extra, columns


class ReadTx:
    """The reads of the review page, the export and the ``review`` summary, in one transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    async def rituals(self, team_id: int) -> list[RitualView]:
        table = table_of(Ritual)
        rows = await self.conn.execute(select(table).where(table.c.team_id == team_id).order_by(table.c.id))
        # a Core row has the model's attributes
        return [ritual_view(r) for r in rows.all()]  # type: ignore[arg-type]

    async def invited_count(self, team_id: int) -> int:
        """How many members the team has: who its rounds invite."""
        stmt = select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id)
        return int(await self.conn.scalar(stmt) or 0)

    async def rounds(self, team_id: int, since: datetime) -> list[Round]:
        """Every occurrence of the team's rituals planned at or after ``since``, oldest first."""
        answered = (  # per round, from the index on the round alone; sealed answers while it is open
            select(func.count()).where(Reply.occurrence_id == Occurrence.id).correlate(Occurrence).scalar_subquery()
            + select(func.count())
            .where(SealedAnswer.occurrence_id == Occurrence.id)
            .correlate(Occurrence)
            .scalar_subquery()
        )
        stmt = (
            select(
                Occurrence.id,
                Occurrence.ritual_id,
                Occurrence.planned_at,
                Occurrence.status,
                Occurrence.reason,
                Occurrence.content,
                answered,
            )
            .join(Ritual, Ritual.id == Occurrence.ritual_id)
            .where(Ritual.team_id == team_id, Occurrence.planned_at >= since)
            .order_by(Occurrence.planned_at, Occurrence.id)
        )
        return [
            Round(
                occurrence_id=occ,
                ritual_id=ritual,
                planned_at=planned,
                status=status,
                reason=reason,
                content=content or {},
                answered=int(n or 0),
            )
            for occ, ritual, planned, status, reason, content, n in (await self.conn.execute(stmt)).all()
        ]

    async def named_answers(self, ritual_ids: Collection[int], since: datetime) -> list[NamedAnswer]:
        """Answers with a member (never anonymous ones) to the rounds of ``ritual_ids`` planned at
        or after ``since``, per round by name.

        The values come as text and are decoded in one pass, not one ``json.loads`` a row:
        for a year of answers that is most of the time spent here. SQLite joins the names with
        a primary-key lookup a row; PostgreSQL would hash the whole members table for that, so
        there the names come in a second query, over the few members who answered.
        """
        if not ritual_ids:
            return []
        answered = (Reply.occurrence_id.in_(_rounds_of(ritual_ids, since)), Reply.member_id.is_not(None))
        if self.dialect == "sqlite":
            rows = (
                await self.conn.execute(
                    select(
                        Reply.occurrence_id,
                        func.coalesce(func.nullif(Member.display_name, ""), Member.user_id),
                        cast(Reply.values, Text),
                    )
                    .join(Member, Member.id == Reply.member_id)
                    .where(*answered)
                    .order_by(Reply.occurrence_id, Member.display_name, Member.id)
                )
            ).all()
        else:
            found = (
                await self.conn.execute(
                    select(Reply.occurrence_id, Reply.member_id, cast(Reply.values, Text)).where(*answered)
                )
            ).all()
            names = (
                (
                    await self.conn.execute(
                        select(Member.id, Member.display_name, Member.user_id)
                        .where(Member.id.in_({member for _occ, member, _text in found}))
                        .order_by(Member.display_name, Member.id)  # in the database's collation, as the join sorts them
                    )
                ).all()
                if found
                else []
            )
            rank = {mid: (i, name or uid) for i, (mid, name, uid) in enumerate(names)}
            named = [(occ, member, text) for occ, member, text in found if member is not None and member in rank]
            ordered = sorted(named, key=lambda r: (r[0], rank[r[1]][0]))
            rows = [(occ, rank[member][1], text) for occ, member, text in ordered]
        values = json.loads("[" + ",".join([text or "null" for _occ, _name, text in rows]) + "]")
        return [
            NamedAnswer(occurrence_id=occ, member_name=name, values=value or {})
            for (occ, name, _text), value in zip(rows, values, strict=True)
        ]

    async def anonymous_rounds(
        self,
        ritual_ids: Collection[int],
        since: datetime,
        min_answers: int,
        *,
        scored: Collection[str],
        written: Collection[str],
        scale: Mapping[str, bool] | None = None,
    ) -> dict[int, AnonymousRound]:
        """Totals of the rounds of ``ritual_ids`` planned at or after ``since`` that ``min_answers``
        or more members answered anonymously: per ``scored`` question that as many scored, the
        number and sum of the scores; per ``written`` question the non-empty texts, sorted.
        One statement, so the threshold holds for all of it.

        The questions may be those of all the rounds together: a round that did not ask one
        has no scores and no texts for it. ``scale``: the items of a scale (key -> reverse-worded)
        whose per-answer mean is added up too (the pulse); its items must be among ``scored``.
        """
        if not ritual_ids:
            return {}
        scored = list(dict.fromkeys(scored))
        written = [key for key in dict.fromkeys(written) if key not in scored]
        least = max(min_answers, 1)
        scale = {k: rev for k, rev in (scale or {}).items() if k in scored}
        extra, totals = _totals(self.dialect, scored, written, least, scale)
        stmt = (
            select(Reply.occurrence_id, func.count(), *totals)
            .select_from(Reply, *extra)
            .where(Reply.occurrence_id.in_(_rounds_of(ritual_ids, since)), Reply.member_id.is_(None))
            .group_by(Reply.occurrence_id)
            .having(func.count() >= least)
        )
        found: dict[int, AnonymousRound] = {}
        width = 2 + len(SCORES)
        n = width * len(scored)
        least_words = words_threshold(least)
        for occ, answered, *values in (await self.conn.execute(stmt)).all():
            per_key = [values[i : i + width] for i in range(0, n, width)]
            texts = values[n : n + len(written)]
            means = values[n + len(written) :]
            found[occ] = AnonymousRound(
                answered=int(answered),
                scores={
                    key: (int(c), int(t)) for key, (c, t, *_s) in zip(scored, per_key, strict=True) if t is not None
                },
                texts={
                    key: sorted(str(t) for t in some)
                    for key, some in zip(written, texts, strict=True)
                    if some and answered >= least_words
                },
                counts={
                    key: tuple(int(s) for s in spread)
                    for key, (_c, t, *spread) in zip(scored, per_key, strict=True)
                    if t is not None
                },
                scale=(int(means[0]), float(means[1]), float(means[2])) if means and means[1] is not None else None,
            )
        return found

    async def audit_log(self, team_id: int, since: datetime, limit: int = 500) -> list[AuditRow]:
        """The team's admin actions since ``since``, newest first."""
        stmt = (
            select(AuditEntry.action, AuditEntry.detail, AuditEntry.created_at, Member.display_name, Member.user_id)
            .outerjoin(Member, Member.id == AuditEntry.member_id)
            .where(AuditEntry.team_id == team_id, AuditEntry.created_at >= since)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        return [
            AuditRow(action=a, detail=dict(d or {}), created_at=c, actor=(name or uid) if uid else None)
            for a, d, c, name, uid in (await self.conn.execute(stmt)).all()
        ]

    async def actions(self, ritual_ids: Sequence[int]) -> list[tuple[int, int, str, datetime, int | None]]:
        """(action id, ritual id, text, created, follow-up occurrence id), oldest first."""
        if not ritual_ids:
            return []
        stmt = (
            select(Action.id, Action.ritual_id, Action.text, Action.created_at, Action.followup_occurrence_id)
            .where(Action.ritual_id.in_(ritual_ids))
            .order_by(Action.id)
        )
        return [(a, b, c, d, e) for a, b, c, d, e in (await self.conn.execute(stmt)).all()]

    async def latest_rounds(self, ritual_id: int, limit: int, statuses: Collection[str]) -> list[OccurrenceView]:
        """The ritual's latest ``limit`` occurrences with one of ``statuses``, newest first."""
        table = table_of(Occurrence)
        rows = await self.conn.execute(
            select(table)
            .where(table.c.ritual_id == ritual_id, table.c.status.in_(statuses))
            .order_by(table.c.planned_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        # a Core row has the model's attributes
        return [occurrence_view(o) for o in rows.all()]  # type: ignore[arg-type]

    async def replies(self, occurrence_ids: Collection[int]) -> dict[int, list[ReplyView]]:
        """The replies of each occurrence, by member name (anonymous ones have none)."""
        if not occurrence_ids:
            return {}
        stmt = (
            select(
                Reply.occurrence_id,
                Reply.member_id,
                func.coalesce(func.nullif(Member.display_name, ""), Member.user_id),
                Reply.values,
                Reply.created_on,
            )
            .outerjoin(Member, Member.id == Reply.member_id)
            .where(Reply.occurrence_id.in_(occurrence_ids))
            .order_by(Reply.occurrence_id, Member.display_name, Reply.id)
        )
        out: dict[int, list[ReplyView]] = {occ: [] for occ in occurrence_ids}
        for occ, member, name, values, day in (await self.conn.execute(stmt)).all():
            out[occ].append(
                ReplyView(member_id=member, member_name=name or "", values=dict(values or {}), created_on=day)
            )
        return out

    async def answered(self, occurrence_ids: Collection[int]) -> dict[int, int]:
        """How many answered each occurrence (the round's index alone), sealed answers of an
        open anonymous round included."""
        if not occurrence_ids:
            return {}
        counts: dict[int, int] = {}
        for table in (Reply, SealedAnswer):
            stmt = (
                select(table.occurrence_id, func.count())
                .where(table.occurrence_id.in_(occurrence_ids))
                .group_by(table.occurrence_id)
            )
            for occ, n in (await self.conn.execute(stmt)).all():
                counts[occ] = counts.get(occ, 0) + int(n)
        return {occ: counts.get(occ, 0) for occ in occurrence_ids}


class Queries:
    """What the review page, the export and the ``review`` summary read, and what the
    retention job deletes."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    @property
    def engine(self) -> AsyncEngine:
        return self.repo.engine

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[ReadTx]:
        """One transaction for all the reads of a page or summary."""
        async with self.repo.engine.begin() as conn:
            yield ReadTx(conn)

    async def team(self, team_id: int) -> TeamView | None:
        """The team, or None when there is no such team."""
        async with self.repo.session() as s:
            team = await s.get(Team, team_id)
            return team_view(team) if team is not None else None

    async def delete_old_messages(self, now: datetime, keep: timedelta = timedelta(days=30)) -> int:
        """Delete outbox rows that were delivered or given up on more than ``keep`` ago; the
        number deleted. A round's prompts stay while it may still be open (its own rows go
        with it), so only messages that are no prompt, or of a closed round, go."""
        closed = select(Occurrence.id).where(Occurrence.status != "open")
        async with self.repo.session() as s:
            result = await s.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.status.in_(("sent", "failed")),
                    OutboxMessage.created_at < now - keep,
                    or_(OutboxMessage.occurrence_id.is_(None), OutboxMessage.occurrence_id.in_(closed)),
                )
            )
            return rowcount(result)

    async def delete_expired_replies(self, now: datetime) -> int:
        """Delete replies older than their team's ``retention_days``; the number deleted.

        Who answered an anonymous round (``participations``) goes with the round's replies:
        for rounds planned before the cut-off it is removed too.
        """
        today = now.date()
        deleted = 0
        async with self.repo.session() as s:
            periods = (await s.scalars(select(Team.retention_days).distinct())).all()
            for days in periods:
                if days is None or days <= 0:
                    continue
                cutoff = today - timedelta(days=int(days))
                teams = select(Team.id).where(Team.retention_days == days)
                result = await s.execute(delete(Reply).where(Reply.team_id.in_(teams), Reply.created_on < cutoff))
                deleted += rowcount(result)
                old_rounds = (
                    select(Occurrence.id)
                    .join(Ritual, Ritual.id == Occurrence.ritual_id)
                    .where(
                        and_(Ritual.team_id.in_(teams), Occurrence.planned_at < datetime.combine(cutoff, time.min, UTC))
                    )
                )
                await s.execute(delete(Participation).where(Participation.occurrence_id.in_(old_rounds)))
        return deleted
