"""The bot's side of ``adapters.slack.app.SlackInbound``: what Slack needs beyond commands
and answers (the current prompt, which prompt a thread belongs to, the team's language,
pausing a workspace that removed the app).

It wraps the ``Ritme`` service and reads the tables it needs through ``Repo`` sessions;
it lives here, not in ``bot/service.py``, so that the service stays platform-neutral.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from adapters.slack.app import PromptInfo
from bot.service import Ritme
from rituals.types import Actor, ChannelRef, Notice
from storage.models import Occurrence, Ritual, SentPrompt, Team
from storage.repo import Repo

PLATFORM = "slack"


class SlackSupport:
    """Implements ``SlackInbound`` on top of ``Ritme`` and ``Repo``."""

    def __init__(self, ritme: Ritme, repo: Repo) -> None:
        self.ritme = ritme
        self.repo = repo

    async def command(self, actor: Actor, channel: ChannelRef, text: str, *, channel_name: str = "") -> Notice:
        return await self.ritme.command(actor, channel, text, channel_name=channel_name)

    async def answer(self, actor: Actor, occurrence_id: int, values: dict[str, Any]) -> tuple[bool, str]:
        return await self.ritme.answer(actor, occurrence_id, values)

    async def prompt(self, occurrence_id: int) -> PromptInfo | None:
        rendered = await self.ritme.engine.prompt(occurrence_id)
        if rendered is None:
            return None
        prompt, team = rendered
        return PromptInfo(prompt=prompt, language=team.language, channel=team.channel)

    async def thread_occurrence(self, workspace_id: str, channel_id: str, thread_ts: str) -> int | None:
        """The occurrence whose prompt is message ``thread_ts``, in a team of this workspace."""
        async with self.repo.session() as s:
            return await s.scalar(
                select(SentPrompt.occurrence_id)
                .join(Occurrence, Occurrence.id == SentPrompt.occurrence_id)
                .join(Ritual, Ritual.id == Occurrence.ritual_id)
                .join(Team, Team.id == Ritual.team_id)
                .where(SentPrompt.platform == PLATFORM, SentPrompt.channel_id == channel_id,
                       SentPrompt.message_id == thread_ts, Team.workspace_id == workspace_id)
                .order_by(SentPrompt.id.desc()).limit(1)
            )

    async def language_of(self, channel: ChannelRef) -> str:
        async with self.repo.session() as s:
            language = await s.scalar(
                select(Team.language).where(Team.platform == channel.platform, Team.workspace_id == channel.workspace_id,
                                            Team.channel_id == channel.channel_id)
            )
        return language or self.ritme.default_language

    async def uninstalled(self, workspace_id: str) -> int:
        """Pause every ritual of the workspace's teams and mark the teams inactive."""
        async with self.repo.session() as s:
            team_ids = list((await s.scalars(
                select(Team.id).where(Team.platform == PLATFORM, Team.workspace_id == workspace_id)
            )).all())
            if not team_ids:
                return 0
            result = await s.execute(
                update(Ritual).where(Ritual.team_id.in_(team_ids), Ritual.paused.is_(False)).values(paused=True)
            )
            await s.execute(update(Team).where(Team.id.in_(team_ids)).values(active=False))
            return int(getattr(result, "rowcount", 0) or 0)
