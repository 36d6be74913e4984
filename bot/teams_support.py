"""Wires Microsoft Teams into the app and keeps what Teams needs in the database.

Teams can only be written to proactively through a stored conversation reference, and an
install is the moment the bot learns about a team and its first admin. This module is the
composition root's side of ``adapters.teams``: it implements the adapter's ``TeamsHooks``
and ``References`` on top of ``storage.repo.Repo`` and the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from adapters.teams.bot import Install, RitmeTeamsBot
from adapters.teams.platform import PLATFORM, Pacer, TeamsPlatform
from adapters.teams.web import build_adapter, routes
from bot.config import Settings
from bot.service import Ritme
from rituals.engine import Engine
from rituals.ports import Platform
from rituals.types import ChannelRef, Prompt
from storage.repo import Repo

log = logging.getLogger(__name__)

SEND_INTERVAL = 1.0 / 7  # Teams allows about 7 messages a second into one conversation


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
        APP_TYPE=settings.microsoft_app_type or "MultiTenant",
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
            platform=channel.platform, workspace_id=channel.workspace_id, channel_id=channel.channel_id)

    # -- References ---------------------------------------------------------------------

    async def reference(self, to: ChannelRef) -> dict[str, Any] | None:
        stored = await self._stored(ChannelRef(platform=to.platform, workspace_id=to.workspace_id,
                                               channel_id=to.channel_id))
        return stored[1] or None if stored else None

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
                await self.repo.audit(team.id, member, "teams.install", {"channel": install.channel.channel_id}, self.clock())
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


def setup_teams(app: web.Application, settings: Settings, repo: Repo, ritme: Ritme, engine: Engine,
                platforms: dict[str, Platform], clock: Callable[[], datetime]) -> TeamsPlatform:
    """Add ``POST /api/messages`` and the Teams platform to the app."""
    config = sdk_config(settings)
    adapter = build_adapter(config)
    support = TeamsSupport(repo, ritme, engine, clock)
    bot = RitmeTeamsBot(ritme, support)
    platform = TeamsPlatform(adapter, config.APP_ID, support, pacer=Pacer(SEND_INTERVAL))
    platforms[PLATFORM] = platform
    app.router.add_routes(routes(adapter, bot))
    return platform
