"""Wires Microsoft Teams into the app and keeps what Teams needs in the database.

Teams can only be written to proactively through a stored conversation reference, and an
install is the moment the bot learns about a team and its first admin. This module is the
composition root's side of ``adapters.teams``: it implements the adapter's ``TeamsHooks``,
``References`` and ``Rounds`` on top of ``storage.repo.Repo`` and the engine.

Appreciation rounds on Teams, as on Slack (``bot/slack_support.py``): ``appreciation start``
first adds the team's roster to the channel's team (``sync_members``), so the round's roster
(planned by the engine from the team's members) is the whole team. When the round's prompt
reaches the channel, ``private_round`` queues it once more per roster member, as a 1:1 card,
through the outbox. Who appreciates whom is not stored: ``rituals.kinds.appreciation.assign_colleagues`` derives it from
the occurrence id and the roster, so every replica, every card and the reminder agree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select

from adapters.teams.activities import TEAM_KEY
from adapters.teams.bot import Install, RitmeTeamsBot
from adapters.teams.people import Directory
from adapters.teams.platform import PLATFORM, TeamsPlatform
from adapters.teams.web import build_adapter, routes
from bot.commands import CommandError, parse, reads_roster
from bot.config import Settings
from bot.service import Ritme
from rituals.engine import Engine
from rituals.ports import Platform
from rituals.types import Actor, ChannelRef, Prompt
from storage.models import Occurrence, Ritual, SentPrompt, Team
from storage.repo import Repo

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class SdkConfig:
    """Bot Framework settings under the names the SDK reads (``getattr(config, NAME)``)."""

    APP_ID: str
    APP_PASSWORD: str | None
    APP_TYPE: str
    APP_TENANTID: str | None
    TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL: str | None
    TO_BOT_FROM_CHANNEL_TOKEN_ISSUER: str | None
    TO_CHANNEL_FROM_BOT_LOGIN_URL: str | None
    TO_CHANNEL_FROM_BOT_OAUTH_SCOPE: str | None
    OAUTH_URL: str | None


def sdk_config(settings: Settings) -> SdkConfig:
    """The contract's variables, handed on unchanged (unset ones mean the public cloud)."""
    return SdkConfig(
        APP_ID=settings.microsoft_app_id or "",
        APP_PASSWORD=settings.microsoft_app_password,
        APP_TYPE=settings.teams_app_type,
        APP_TENANTID=settings.microsoft_app_tenant_id,
        TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=settings.to_bot_from_channel_openid_metadata_url,
        TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=settings.to_bot_from_channel_token_issuer,
        TO_CHANNEL_FROM_BOT_LOGIN_URL=settings.to_channel_from_bot_login_url,
        TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=settings.to_channel_from_bot_oauth_scope,
        OAUTH_URL=settings.oauth_url,
    )


class TeamsSupport:
    """Conversation references, installs and removals, kept on the channel's team."""

    def __init__(self, repo: Repo, ritme: Ritme, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.repo, self.ritme, self.engine, self.clock = repo, ritme, engine, clock

    async def _stored(self, channel: ChannelRef) -> tuple[int, dict[str, Any], bool] | None:
        """(team id, stored reference, active) of a channel's team, without creating one."""
        return await self.repo.team_conversation(
            platform=channel.platform, workspace_id=channel.workspace_id, channel_id=channel.channel_id
        )

    # -- References ---------------------------------------------------------------------

    async def reference(self, to: ChannelRef) -> dict[str, Any] | None:
        stored = await self._stored(
            ChannelRef(platform=to.platform, workspace_id=to.workspace_id, channel_id=to.channel_id)
        )
        if stored is not None:
            return stored[1] or None
        if not to.user_id:
            return None
        # A member's 1:1 chat where a prompt landed (a closed round updates it): the team's
        # channel reference carries the service URL and the bot to reach it with.
        async with self.repo.session() as s:
            conversation = await s.scalar(
                select(Team.conversation)
                .join(Ritual, Ritual.team_id == Team.id)
                .join(Occurrence, Occurrence.ritual_id == Ritual.id)
                .join(SentPrompt, SentPrompt.occurrence_id == Occurrence.id)
                .where(
                    SentPrompt.platform == PLATFORM,
                    SentPrompt.channel_id == to.channel_id,
                    SentPrompt.user_id == to.user_id,
                    Team.platform == PLATFORM,
                    Team.workspace_id == to.workspace_id,
                )
                .order_by(SentPrompt.id.desc())
                .limit(1)
            )
        return dict(conversation) if conversation else None

    # -- TeamsHooks -----------------------------------------------------------------------

    async def remember(self, install: Install) -> None:
        team = await self.ritme.team_for(install.channel, install.name)
        stored = await self._stored(install.channel)
        if stored is None or stored[1] != install.reference or not stored[2]:
            await self.repo.update_team(team.id, conversation=install.reference, active=True)

    async def installed(self, install: Install) -> tuple[str, bool]:
        before = await self._stored(install.channel)
        fresh = before is None or not before[1] or not before[2]
        team = await self.ritme.team_for(install.channel, install.name)
        await self.repo.update_team(team.id, conversation=install.reference, active=True)
        if install.installer is not None:
            member = await self.ritme.member_for(install.installer, team)
            if await self.repo.grant(team.id, member, "admin", self.clock()):
                await self.repo.audit(
                    team.id, member, "teams.install", {"channel": install.channel.channel_id}, self.clock()
                )
        log.info("teams: installed in %s (team %s)", install.channel.channel_id, team.id)
        return team.language, fresh

    async def removed(self, channel: ChannelRef) -> None:
        stored = await self._stored(channel)
        if stored is not None:
            await self.repo.update_team(stored[0], active=False)
            log.info("teams: removed from %s (team %s); its rituals stop", channel.channel_id, stored[0])

    async def prompt(self, occurrence_id: int) -> tuple[Prompt, str] | None:
        rendered = await self.engine.prompt(occurrence_id)
        return (rendered[0], rendered[1].language) if rendered else None

    async def answered(self, occurrence_id: int) -> int:
        async with self.repo.transaction() as tx:
            return await tx.answered_count(occurrence_id)

    async def command_name(self, text: str) -> str | None:
        """The command the words are (``adapters.teams.files``: calendars for ``holiday import``)."""
        try:
            return parse(text).name
        except CommandError:
            return None

    # -- appreciation rounds through 1:1 chats (TeamsHooks and Rounds) ---------------------

    async def wants_channel_members(self, actor: Actor, channel: ChannelRef, text: str) -> bool:
        """``appreciation start``, ``add`` or ``run`` from a leader or admin of the channel's
        team (anyone else is refused by the command itself; their attempt costs no roster
        fetch): a round then asks everyone in the channel, not only who spoke to Ritme."""
        try:
            if not reads_roster(parse(text).name):
                return False
        except CommandError:
            return False
        stored = await self._stored(channel)
        if stored is None:
            return False
        team = await self.repo.team(stored[0])
        role = await self.ritme.role_of(actor, team, await self.ritme.member_for(actor, team))
        return role in ("admin", "leader")

    async def sync_members(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The channel's complete list of people becomes its team's roster."""
        return await self.ritme.sync_roster(channel, members, channel_name=channel_name)

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        await self.ritme.joined(channel, people)

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        await self.ritme.left(channel, user_ids)

    async def team_channels(self, tenant_id: str, team_id: str) -> list[ChannelRef]:
        """The channels of a Teams team with a Ritme team: General (its id is the team's) and
        those whose stored reference names the team (``TEAM_KEY``, kept since their install or
        their last message)."""
        found = await self.repo.channels_of_group(
            platform=PLATFORM, workspace_id=tenant_id, key=TEAM_KEY, group_id=team_id
        )
        return [ChannelRef(platform=PLATFORM, workspace_id=tenant_id, channel_id=c) for c in found]

    async def only_in(self, channel: ChannelRef, user_ids: list[str]) -> None:
        left = await self.repo.keep_in_team(
            platform=channel.platform,
            workspace_id=channel.workspace_id,
            channel_id=channel.channel_id,
            user_ids=user_ids,
        )
        if left:
            log.info("teams channel %s: %d no longer in the team's roster left", channel.channel_id, left)

    async def language_of(self, channel: ChannelRef) -> str:
        async with self.repo.session() as s:
            language = await s.scalar(
                select(Team.language).where(
                    Team.platform == channel.platform,
                    Team.workspace_id == channel.workspace_id,
                    Team.channel_id == channel.channel_id,
                )
            )
        return language or self.ritme.default_language

    async def assigned_colleague(self, occurrence_id: int, workspace_id: str, user_id: str) -> tuple[str, str] | None:
        return await self.repo.assigned_colleague(
            platform=PLATFORM, workspace_id=workspace_id, user_id=user_id, occurrence_id=occurrence_id
        )

    async def private_round(self, channel: ChannelRef, occurrence_id: int) -> int:
        """Queue the round's prompt privately to every roster member without one queued yet."""
        queued = await self.repo.private_round(occurrence_id, self.clock())
        if queued:
            self.engine.wake.set()
        return queued


def setup_teams(
    app: web.Application,
    settings: Settings,
    repo: Repo,
    ritme: Ritme,
    engine: Engine,
    platforms: dict[str, Platform],
    clock: Callable[[], datetime],
) -> TeamsPlatform:
    """Add ``POST /api/messages`` and the Teams platform to the app."""
    config = sdk_config(settings)
    adapter = build_adapter(config)
    support = TeamsSupport(repo, ritme, engine, clock)
    directory = Directory()  # filled by roster fetches, read when opening 1:1 chats
    bot = RitmeTeamsBot(ritme, support, directory)
    platform = TeamsPlatform(adapter, config.APP_ID, support, rounds=support, directory=directory)
    platforms[PLATFORM] = platform
    app.router.add_routes(routes(adapter, bot))
    return platform
