"""Runs commands and answers for every platform: roles, teams, and the engine behind them.

Which commands there are, who may run them and what they do is in ``bot.commands``; this is
where a command meets its team, its caller's role and its language."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.commands import COMMANDS, Command, CommandError, may_run, parse
from bot.commands.formats import error_notice, your_teams
from rituals.engine import Engine, utcnow
from rituals.i18n import translator
from rituals.ports import Answered, AnswerNotStored, OwnAnswer, TeamView
from rituals.types import Actor, ChannelRef, Notice
from storage.repo import Repo

log = logging.getLogger(__name__)


class Ritme:
    """The inbound side of the bot (``rituals.ports.Inbound``)."""

    def __init__(
        self,
        repo: Repo,
        engine: Engine,
        *,
        default_timezone: str,
        default_language: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.engine = engine
        self.default_timezone = default_timezone
        self.default_language = default_language
        self.clock = clock

    async def team_for(self, channel: ChannelRef, name: str = "") -> TeamView:
        team, created = await self.repo.ensure_team(
            platform=channel.platform,
            workspace_id=channel.workspace_id,
            channel_id=channel.channel_id,
            name=name,
            timezone=self.default_timezone,
            language=self.default_language,
            now=self.clock(),
        )
        if created:
            log.info("team %s created for %s channel %s", team.id, channel.platform, channel.channel_id)
        return team

    async def member_for(self, actor: Actor, team: TeamView | None) -> int:
        return await self.repo.ensure_member(
            platform=actor.platform,
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            display_name=actor.display_name,
            now=self.clock(),
            team_id=team.id if team else None,
        )

    async def sync_roster(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The channel's complete list of people, (user id, name), as the platform gave it:
        newcomers join the team, people no longer in it leave. Returns how many are in. An
        empty list is no roster (a platform that answered with nobody): nobody leaves for it."""
        if not members:
            log.warning(
                "roster of %s %s came back empty; the team's members stay as they are",
                channel.platform,
                channel.channel_id,
            )
            return 0
        team = await self.team_for(channel, channel_name)
        now = self.clock()
        for user_id, name in members:
            await self.repo.ensure_member(
                platform=channel.platform,
                workspace_id=channel.workspace_id,
                user_id=user_id,
                display_name=name,
                now=now,
                team_id=team.id,
            )
        left = await self.repo.keep_in_team(
            platform=channel.platform,
            workspace_id=channel.workspace_id,
            channel_id=channel.channel_id,
            user_ids=[user_id for user_id, _ in members],
        )
        log.info("team %s: roster of %d synced (%d left)", team.id, len(members), left)
        return len(members)

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        """People joined the channel of a known team: its rituals invite them from now on."""
        team = await self.repo.team_conversation(
            platform=channel.platform, workspace_id=channel.workspace_id, channel_id=channel.channel_id
        )
        if team is None:
            return  # a channel Ritme does not serve
        for actor in people:
            await self.repo.ensure_member(
                platform=actor.platform,
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                display_name=actor.display_name,
                now=self.clock(),
                team_id=team[0],
            )
        log.info("team %s: %d joined", team[0], len(people))

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        """People left the channel: no more prompts, reminders or rounds for them there."""
        gone = await self.repo.leave_team(
            platform=channel.platform,
            workspace_id=channel.workspace_id,
            channel_id=channel.channel_id,
            user_ids=user_ids,
        )
        if gone:
            log.info("%s channel %s: %d left the team", channel.platform, channel.channel_id, gone)

    async def role_of(self, actor: Actor, team: TeamView, member_id: int) -> str:
        roles = await self.repo.roles(team.id, member_id)
        if actor.is_platform_admin or "admin" in roles:
            return "admin"
        return "leader" if "leader" in roles else "member"

    # -- inbound --------------------------------------------------------------------

    async def command(
        self,
        actor: Actor,
        channel: ChannelRef,
        text: str,
        *,
        channel_name: str = "",
        files: tuple[tuple[str, bytes], ...] = (),
        personal: bool = False,
    ) -> Notice:
        """Run a command. One that does not parse changes nothing: not even the channel's team
        is created; its reason comes in the team's language when the team is known.

        ``personal``: typed in a one-to-one chat with Ritme, which is no team. What concerns
        the person runs there; what concerns a team points to the team's channel."""
        try:
            cmd = parse(text)
        except CommandError as err:
            known = await self.repo.team_conversation(
                platform=channel.platform, workspace_id=channel.workspace_id, channel_id=channel.channel_id
            )
            if known:
                language = (await self.repo.team(known[0])).language
            else:
                language = await self._language_of_person(actor)
            _ = translator(language)
            return error_notice(_, _(err.msgid, **err.params), err.example, err.example_params)
        if personal:
            if files:
                cmd = Command(name=cmd.name, args={**cmd.args, "files": files})
            return await self._personal(actor, cmd)
        team = await self.team_for(channel, channel_name)
        _ = translator(team.language)
        member_id = await self.member_for(actor, team)
        role = await self.role_of(actor, team, member_id)
        if not may_run(role, cmd.name):
            if COMMANDS[cmd.name].needs == "admin":
                return Notice(title=_("Not allowed"), text=_("Only an admin of this team can do that."))
            return Notice(title=_("Not allowed"), text=_("Only a leader or an admin of this team can do that."))
        if files:
            cmd = Command(name=cmd.name, args={**cmd.args, "files": files})
        try:
            result = await COMMANDS[cmd.name].handler(self, cmd, team, member_id, role, _)
        except CommandError as err:
            return error_notice(_, _(err.msgid, **err.params), err.example, err.example_params)
        log.info("command %r by %s in team %s: done", cmd.name, actor.user_id, team.id, extra={"team_id": team.id})
        return result

    async def _language_of_person(self, actor: Actor, teams: list[tuple[TeamView, int]] | None = None) -> str:
        """The language of the person's first team (of ``teams`` when known), or the default."""
        if teams is None:
            teams = await self.repo.member_teams(actor, limit=1)
        return teams[0][0].language if teams else self.default_language

    async def _personal(self, actor: Actor, cmd: Command) -> Notice:
        """A command in a one-to-one chat: no team is made of the chat. A command that has no
        way of running there, or none for this person, points to the team's channel."""
        teams = await self.repo.member_teams(actor)
        _ = translator(await self._language_of_person(actor, teams))
        personal = COMMANDS[cmd.name].personal
        done = await personal(self, actor, cmd, teams, _) if personal is not None else None
        if done is not None:
            return done
        return Notice(
            title=_("Use this in your team's channel"),
            text=_(
                "Rituals belong to a team's channel. Type /ritme {command} in the channel of your team.",
                command=_(cmd.name),
            ),
            footer=your_teams(_, teams),
        )

    async def answer(
        self,
        actor: Actor,
        occurrence_id: int,
        values: dict[str, Any],
        via: ChannelRef | None = None,
    ) -> Answered:
        """Store an answer: validated, with its member (created on first contact), in one
        transaction shared with the answers that arrive at the same time."""
        try:
            return await self.engine.answer(occurrence_id=occurrence_id, actor=actor, values=values, via=via)
        except AnswerNotStored:
            _ = translator(self.default_language)
            return Answered(
                stored=False, message=_("Your answer could not be saved just now. Please try again in a moment.")
            )

    async def own_answers(self, actor: Actor, occurrence_ids: Sequence[int]) -> dict[int, OwnAnswer]:
        """The actor's answers to the open rounds among these (``rituals.ports.Inbound``)."""
        return await self.repo.own_answers(actor, occurrence_ids)


__all__ = ["Ritme"]
