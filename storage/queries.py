"""Read-only queries for the review page and the export, and the retention clean-up.

Each coroutine is one short transaction and returns plain frozen dataclasses. Every query
is bounded by team and date and served by an index: replies by ``ix_replies_team_created``,
occurrences by their unique (ritual, planned time), the audit log by its team index.

Anonymous replies leave this module only for occurrences that at least ``min_answers``
members answered; the threshold is applied in SQL, so a caller cannot forget it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from rituals.ports import TeamView
from storage.models import AuditEntry, Member, Occurrence, Participation, Reply, Ritual, Team
from storage.repo import Repo, team_view


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
class AuditRow:
    """An admin action; ``actor`` is None when the member was forgotten."""

    action: str
    detail: dict[str, Any]
    created_at: datetime
    actor: str | None


def _replies_since(team_id: int, since: datetime) -> tuple[Any, ...]:
    """Replies of the team to rounds planned at or after ``since`` (Occurrence joined).

    ``created_on`` is the team's local day of the answer, never before the round's UTC day
    minus one; bounding it lets the (team, created_on) index do the work.
    """
    return (
        Reply.team_id == team_id,
        Reply.created_on >= since.date() - timedelta(days=1),
        Occurrence.planned_at >= since,
    )


class Queries:
    """What the review page and the export read, and what the retention job deletes."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    @property
    def engine(self) -> AsyncEngine:
        return self.repo.engine

    async def team(self, team_id: int) -> TeamView | None:
        """The team, or None when there is no such team."""
        async with self.repo.session() as s:
            team = await s.get(Team, team_id)
            return team_view(team) if team is not None else None

    async def rounds(self, team_id: int, since: datetime) -> list[Round]:
        """Every occurrence of the team's rituals planned at or after ``since``, oldest first."""
        answered = (
            select(Reply.occurrence_id, func.count().label("n"))
            .where(Reply.team_id == team_id)
            .group_by(Reply.occurrence_id)
            .subquery()
        )
        stmt = (
            select(Occurrence, func.coalesce(answered.c.n, 0))
            .join(Ritual, Ritual.id == Occurrence.ritual_id)
            .outerjoin(answered, answered.c.occurrence_id == Occurrence.id)
            .where(Ritual.team_id == team_id, Occurrence.planned_at >= since)
            .order_by(Occurrence.planned_at, Occurrence.id)
        )
        async with self.repo.session() as s:
            rows = (await s.execute(stmt)).all()
        return [
            Round(
                occurrence_id=o.id, ritual_id=o.ritual_id, planned_at=o.planned_at, status=o.status,
                reason=o.reason, content=dict(o.content or {}), answered=int(n),
            )
            for o, n in rows
        ]

    async def named_answers(self, team_id: int, since: datetime) -> list[NamedAnswer]:
        """Answers with a member (never anonymous ones) to rounds planned at or after ``since``."""
        stmt = (
            select(Reply.occurrence_id, Member.display_name, Member.user_id, Reply.values)
            .join(Member, Member.id == Reply.member_id)
            .join(Occurrence, Occurrence.id == Reply.occurrence_id)
            .where(*_replies_since(team_id, since), Reply.member_id.is_not(None))
            .order_by(Reply.occurrence_id, Member.display_name, Member.id)
        )
        async with self.repo.session() as s:
            rows = (await s.execute(stmt)).all()
        return [
            NamedAnswer(occurrence_id=occ, member_name=name or uid, values=dict(values or {}))
            for occ, name, uid, values in rows
        ]

    async def anonymous_answers(self, team_id: int, since: datetime, min_answers: int) -> dict[int, list[dict[str, Any]]]:
        """Values of anonymous answers per round planned at or after ``since``, only for rounds
        that ``min_answers`` or more members answered.

        The values come in no meaningful order (reply ids are random); callers aggregate them.
        """
        enough = (
            select(Reply.occurrence_id)
            .join(Occurrence, Occurrence.id == Reply.occurrence_id)
            .where(*_replies_since(team_id, since), Reply.member_id.is_(None))
            .group_by(Reply.occurrence_id)
            .having(func.count() >= max(min_answers, 1))
        )
        stmt = select(Reply.occurrence_id, Reply.values).where(
            Reply.team_id == team_id, Reply.member_id.is_(None), Reply.occurrence_id.in_(enough),
        )
        out: dict[int, list[dict[str, Any]]] = {}
        async with self.repo.session() as s:
            for occ, values in (await s.execute(stmt)).all():
                out.setdefault(occ, []).append(dict(values or {}))
        return out

    async def audit_log(self, team_id: int, since: datetime, limit: int = 500) -> list[AuditRow]:
        """The team's admin actions since ``since``, newest first."""
        stmt = (
            select(AuditEntry.action, AuditEntry.detail, AuditEntry.created_at, Member.display_name, Member.user_id)
            .outerjoin(Member, Member.id == AuditEntry.member_id)
            .where(AuditEntry.team_id == team_id, AuditEntry.created_at >= since)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        async with self.repo.session() as s:
            rows = (await s.execute(stmt)).all()
        return [
            AuditRow(action=a, detail=dict(d or {}), created_at=c, actor=(name or uid) if uid else None)
            for a, d, c, name, uid in rows
        ]

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
                result = await s.execute(
                    delete(Reply).where(Reply.team_id.in_(teams), Reply.created_on < cutoff)
                )
                deleted += int(result.rowcount or 0)  # type: ignore[attr-defined]
                old_rounds = (
                    select(Occurrence.id)
                    .join(Ritual, Ritual.id == Occurrence.ritual_id)
                    .where(and_(Ritual.team_id.in_(teams), Occurrence.planned_at < datetime.combine(cutoff, time.min, UTC)))
                )
                await s.execute(delete(Participation).where(Participation.occurrence_id.in_(old_rounds)))
        return deleted
