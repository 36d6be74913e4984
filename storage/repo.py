"""What the commands, the adapters and the review need of the database, over the engine's
store (``storage.store``). Each public coroutine of ``Repo`` is one transaction."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    and_,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from rituals.kinds.appreciation import assign_colleagues, round_roster, round_seed
from rituals.ports import (
    OccurrenceView,
    OwnAnswer,
    ReplyView,
    RitualView,
    TeamView,
)
from rituals.types import Actor, ChannelRef
from storage.db import rowcount
from storage.erasure import forget_member
from storage.models import (
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
    Team,
    TeamMember,
)
from storage.store import Store
from storage.views import occurrence_view, ritual_view, team_view

_shuffle = random.SystemRandom().shuffle


log = logging.getLogger(__name__)

T = TypeVar("T")


class Repo(Store):
    """The database, as the engine and the commands use it."""

    # -- teams, members, roles ----------------------------------------------------------

    async def ensure_team(
        self,
        *,
        platform: str,
        workspace_id: str,
        channel_id: str,
        name: str,
        timezone: str,
        language: str,
        now: datetime,
    ) -> tuple[TeamView, bool]:
        """The team of a channel, created with the defaults on first contact."""
        where = and_(Team.platform == platform, Team.workspace_id == workspace_id, Team.channel_id == channel_id)
        async with self.session() as s:
            team = await s.scalar(select(Team).where(where))
            if team is not None:
                return team_view(team), False
            try:
                async with s.begin_nested():
                    team = Team(
                        platform=platform,
                        workspace_id=workspace_id,
                        channel_id=channel_id,
                        name=name,
                        timezone=timezone,
                        language=language,
                        created_at=now,
                        settings={},
                        conversation={},
                        holiday_country="NL",
                        anonymity_threshold=3,
                        retention_days=730,
                        active=True,
                    )
                    s.add(team)
                    await s.flush()
                return team_view(team), True
            except IntegrityError:
                team = await s.scalar(select(Team).where(where))
                assert team is not None
                return team_view(team), False

    async def ensure_member(
        self,
        *,
        platform: str,
        workspace_id: str,
        user_id: str,
        display_name: str,
        now: datetime,
        team_id: int | None = None,
    ) -> int:
        """The member's id, created on first contact; joins the team when given."""
        where = and_(Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id)
        async with self.session() as s:
            member = await s.scalar(select(Member).where(where))
            if member is None:
                try:
                    async with s.begin_nested():
                        member = Member(
                            platform=platform,
                            workspace_id=workspace_id,
                            user_id=user_id,
                            display_name=display_name,
                            created_at=now,
                            mute_reminders=False,
                        )
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
            team_id = await s.scalar(
                select(Team.id).where(
                    Team.platform == platform, Team.workspace_id == workspace_id, Team.channel_id == channel_id
                )
            )
            if team_id is None:
                return 0
            leaving = select(Member.id).where(Member.platform == platform, Member.workspace_id == workspace_id, who)
            result = await s.execute(
                delete(TeamMember).where(TeamMember.team_id == team_id, TeamMember.member_id.in_(leaving))
            )
            return rowcount(result)

    async def member_teams(self, actor: Actor, limit: int = 20) -> list[tuple[TeamView, int]]:
        """The active teams a person is in, oldest first, each with their member id."""
        async with self.session() as s:
            rows = (
                await s.execute(
                    select(Team, Member.id)
                    .join(TeamMember, TeamMember.team_id == Team.id)
                    .join(Member, Member.id == TeamMember.member_id)
                    .where(
                        Member.platform == actor.platform,
                        Member.workspace_id == actor.workspace_id,
                        Member.user_id == actor.user_id,
                        Team.active.is_(True),
                    )
                    .order_by(Team.id)
                    .limit(limit)
                )
            ).all()
            return [(team_view(team), member_id) for team, member_id in rows]

    async def find_member(self, *, platform: str, workspace_id: str, user_id: str) -> int | None:
        async with self.session() as s:
            return await s.scalar(
                select(Member.id).where(
                    Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id
                )
            )

    async def roles(self, team_id: int, member_id: int) -> set[str]:
        async with self.session() as s:
            rows = await s.scalars(
                select(RoleGrant.role).where(RoleGrant.team_id == team_id, RoleGrant.member_id == member_id)
            )
            return set(rows)

    async def grant(self, team_id: int, member_id: int, role: str, now: datetime) -> bool:
        async with self.session() as s:
            if await s.get(RoleGrant, (team_id, member_id, role)) is not None:
                return False
            s.add(RoleGrant(team_id=team_id, member_id=member_id, role=role, created_at=now))
            return True

    async def revoke(self, team_id: int, member_id: int, role: str) -> bool:
        async with self.session() as s:
            result = await s.execute(
                delete(RoleGrant).where(
                    RoleGrant.team_id == team_id, RoleGrant.member_id == member_id, RoleGrant.role == role
                )
            )
            return bool(rowcount(result))

    async def role_list(self, team_id: int) -> list[tuple[str, str, str]]:
        """(role, user id, display name) of every grant in the team."""
        async with self.session() as s:
            rows = await s.execute(
                select(RoleGrant.role, Member.user_id, Member.display_name)
                .join(Member, Member.id == RoleGrant.member_id)
                .where(RoleGrant.team_id == team_id)
                .order_by(RoleGrant.role, Member.display_name)
            )
            return [(r, u, n) for r, u, n in rows.all()]

    async def team_conversation(
        self, *, platform: str, workspace_id: str, channel_id: str
    ) -> tuple[int, dict[str, Any], bool] | None:
        """(team id, stored platform conversation reference, active) of a channel, if known."""
        async with self.session() as s:
            team = await s.scalar(
                select(Team).where(
                    Team.platform == platform, Team.workspace_id == workspace_id, Team.channel_id == channel_id
                )
            )
            return (team.id, dict(team.conversation or {}), bool(team.active)) if team else None

    async def channels_of_group(self, *, platform: str, workspace_id: str, key: str, group_id: str) -> list[str]:
        """The channel ids of the teams in a group of channels (a Teams team): the channel whose
        id is the group's (Teams' General) and those whose conversation names it under ``key``."""
        async with self.session() as s:
            found = await s.scalars(
                select(Team.channel_id)
                .where(
                    Team.platform == platform,
                    Team.workspace_id == workspace_id,
                    or_(Team.channel_id == group_id, Team.conversation[key].as_string() == group_id),
                )
                .order_by(Team.id)
            )
            return list(found)

    async def update_team(self, team_id: int, **values: Any) -> None:
        async with self.session() as s:
            await s.execute(update(Team).where(Team.id == team_id).values(**values))

    async def team(self, team_id: int) -> TeamView:
        async with self.transaction() as tx:
            return await tx.team(team_id)

    # -- rituals --------------------------------------------------------------------

    async def add_ritual(
        self,
        *,
        team_id: int,
        kind: str,
        schedule: str,
        open_seconds: int,
        options: dict[str, Any],
        next_due_at: datetime | None,
        now: datetime,
        visibility: str | None = None,
    ) -> int:
        async with self.session() as s:
            ritual = Ritual(
                visibility=visibility,
                team_id=team_id,
                kind=kind,
                schedule=schedule,
                open_seconds=open_seconds,
                options=options,
                paused=False,
                next_due_at=next_due_at,
                created_at=now,
            )
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
            rows = await s.scalars(
                select(Occurrence).where(Occurrence.ritual_id.in_(ritual_ids), Occurrence.status == "open")
            )
            out: dict[int, list[OccurrenceView]] = {}
            for o in rows:
                out.setdefault(o.ritual_id, []).append(occurrence_view(o))
            return out

    async def last_planned(self, ritual_ids: Sequence[int]) -> dict[int, datetime]:
        """When each ritual's latest occurrence (sent or skipped) was planned."""
        async with self.session() as s:
            rows = await s.execute(
                select(Occurrence.ritual_id, func.max(Occurrence.planned_at))
                .where(Occurrence.ritual_id.in_(ritual_ids))
                .group_by(Occurrence.ritual_id)
            )
            return {ritual_id: at for ritual_id, at in rows.all() if at is not None}

    async def last_skipped(self, ritual_ids: Sequence[int]) -> dict[int, OccurrenceView]:
        async with self.session() as s:
            rows = await s.scalars(
                select(Occurrence)
                .where(Occurrence.ritual_id.in_(ritual_ids), Occurrence.status == "skipped")
                .order_by(Occurrence.planned_at)
            )
            return {o.ritual_id: occurrence_view(o) for o in rows}

    async def add_action(
        self, *, ritual_id: int, text: str, member_id: int | None, now: datetime
    ) -> tuple[int, str | None]:
        """Record an agreed action, linked to the ritual's latest closed round; (its id, the
        text it replaced). The next round asks about one agreement: one still waiting for
        that round is replaced, not stacked."""
        async with self.session() as s:
            source = await s.scalar(
                select(Occurrence.id)
                .where(Occurrence.ritual_id == ritual_id, Occurrence.status == "closed")
                .order_by(Occurrence.planned_at.desc())
                .limit(1)
            )
            waiting = await s.scalar(
                select(Action)
                .where(Action.ritual_id == ritual_id, Action.followup_occurrence_id.is_(None))
                .order_by(Action.id.desc())
                .limit(1)
            )
            if waiting is not None:
                replaced = waiting.text
                waiting.text, waiting.member_id, waiting.source_occurrence_id, waiting.created_at = (
                    text,
                    member_id,
                    source,
                    now,
                )
                return waiting.id, replaced
            action = Action(
                ritual_id=ritual_id, text=text, member_id=member_id, source_occurrence_id=source, created_at=now
            )
            s.add(action)
            await s.flush()
            return action.id, None

    async def set_mute(self, member_id: int, muted: bool) -> None:
        async with self.session() as s:
            await s.execute(update(Member).where(Member.id == member_id).values(mute_reminders=muted))

    async def assigned_colleague(
        self, *, platform: str, workspace_id: str, user_id: str, occurrence_id: int
    ) -> tuple[str, str] | None:
        """(member id, name) of the colleague a member is asked to appreciate in a round."""
        async with self.session() as s:
            occ = await s.get(Occurrence, occurrence_id)
            if occ is None:
                return None
            me = await s.scalar(
                select(Member.id).where(
                    Member.platform == platform, Member.workspace_id == workspace_id, Member.user_id == user_id
                )
            )
        roster = round_roster(occ.content or {})
        seed = round_seed(occ.content or {}, occurrence_id)
        target = assign_colleagues([mid for mid, _name in roster], seed).get(me) if me is not None else None
        return (str(target), dict(roster)[target]) if target is not None else None

    async def own_answers(self, actor: Actor, occurrence_ids: Sequence[int]) -> dict[int, OwnAnswer]:
        """The person's answers to those of the rounds that are open and that they answered: a
        named answer with its values, an anonymous one by its participation only (its sealed
        answer is not opened before the close)."""
        if not occurrence_ids:
            return {}
        async with self.session() as s:
            me = await s.scalar(
                select(Member.id).where(
                    Member.platform == actor.platform,
                    Member.workspace_id == actor.workspace_id,
                    Member.user_id == actor.user_id,
                )
            )
            if me is None:
                return {}
            still_open = select(Occurrence.id).where(
                Occurrence.id.in_(sorted(set(occurrence_ids))), Occurrence.status == "open"
            )
            named = await s.execute(
                select(Reply.occurrence_id, Reply.values).where(
                    Reply.member_id == me, Reply.occurrence_id.in_(still_open)
                )
            )
            found = {occ: OwnAnswer(values=dict(values or {})) for occ, values in named.all()}
            sealed = await s.scalars(
                select(Participation.occurrence_id).where(
                    Participation.member_id == me, Participation.occurrence_id.in_(still_open)
                )
            )
            found.update({occ: OwnAnswer(values=None) for occ in sealed.all()})
        return found

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
            users = (
                (
                    await s.scalars(
                        select(Member.user_id)
                        .where(
                            Member.id.in_(ids),
                            Member.platform == team.platform,
                            Member.workspace_id == team.workspace_id,
                        )
                        .order_by(Member.user_id)
                    )
                ).all()
                if ids
                else []
            )
            rows = (
                await s.execute(
                    select(OutboxMessage.destination, OutboxMessage.payload).where(
                        OutboxMessage.occurrence_id == occurrence_id
                    )
                )
            ).all()
            asked = {
                str((d or {}).get("user_id"))
                for d, p in rows
                if (p or {}).get("type") == "prompt" and (d or {}).get("user_id")
            }
            for user_id in users:
                if user_id not in asked:
                    await tx.enqueue(
                        team_id=team.id,
                        occurrence_id=occurrence_id,
                        destination=ChannelRef(
                            platform=team.platform,
                            workspace_id=team.workspace_id,
                            channel_id=team.channel_id,
                            user_id=user_id,
                        ),
                        payload={"type": "prompt", "occurrence_id": occurrence_id},
                        at=now,
                    )
                    queued += 1
        return queued

    # -- holidays -------------------------------------------------------------------

    async def add_holiday(self, team_id: int, start: date, end: date, name: str, source: str = "manual") -> bool:
        async with self.session() as s:
            exists = await s.scalar(
                select(Holiday.id).where(
                    Holiday.team_id == team_id, Holiday.start_date == start, Holiday.end_date == end
                )
            )
            if exists:
                return False
            s.add(Holiday(team_id=team_id, start_date=start, end_date=end, name=name, source=source))
            return True

    async def remove_holiday(self, team_id: int, start: date, end: date) -> bool:
        async with self.session() as s:
            result = await s.execute(
                delete(Holiday).where(Holiday.team_id == team_id, Holiday.start_date == start, Holiday.end_date == end)
            )
            return bool(rowcount(result))

    async def holidays(self, team_id: int) -> list[tuple[date, date, str]]:
        async with self.session() as s:
            rows = await s.execute(
                select(Holiday.start_date, Holiday.end_date, Holiday.name)
                .where(Holiday.team_id == team_id)
                .order_by(Holiday.start_date)
            )
            return [(a, b, n) for a, b, n in rows.all()]

    # -- audit, privacy ---------------------------------------------------------------

    async def audit(
        self, team_id: int, member_id: int | None, action: str, detail: dict[str, Any], now: datetime
    ) -> None:
        async with self.session() as s:
            s.add(AuditEntry(team_id=team_id, member_id=member_id, action=action, detail=detail, created_at=now))

    async def team_members(self, team_id: int) -> list[tuple[int, str, str]]:
        """(member id, platform user id, display name) of everyone in the team."""
        async with self.session() as s:
            rows = await s.execute(
                select(Member.id, Member.user_id, Member.display_name)
                .join(TeamMember, TeamMember.member_id == Member.id)
                .where(TeamMember.team_id == team_id)
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

    async def post_channel_message(
        self, channel_id: str, user_id: str | None, payload: dict[str, Any], now: datetime
    ) -> int:
        async with self.session() as s:
            msg = ChannelMessage(channel_id=channel_id, user_id=user_id, payload=payload, created_at=now)
            s.add(msg)
            await s.flush()
            return msg.id

    async def update_channel_message(self, message_id: int, payload: dict[str, Any], now: datetime) -> None:
        async with self.session() as s:
            await s.execute(
                update(ChannelMessage).where(ChannelMessage.id == message_id).values(payload=payload, updated_at=now)
            )

    async def channel_messages(
        self, channel_id: str, user_id: str | None, limit: int = 200
    ) -> list[tuple[int, str | None, dict[str, Any], datetime]]:
        """The latest messages of a channel that ``user_id`` may see, oldest first."""
        async with self.session() as s:
            rows = await s.execute(
                select(ChannelMessage.id, ChannelMessage.user_id, ChannelMessage.payload, ChannelMessage.created_at)
                .where(
                    ChannelMessage.channel_id == channel_id,
                    or_(ChannelMessage.user_id.is_(None), ChannelMessage.user_id == user_id),
                )
                .order_by(ChannelMessage.id.desc())
                .limit(limit)
            )
            return [(i, u, p, c) for i, u, p, c in reversed(rows.all())]
