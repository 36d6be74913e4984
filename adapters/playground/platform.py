"""The playground as a ``rituals.ports.Platform``: messages land in a feed the page polls."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from rituals.types import ChannelRef, MessageRef, Notice, Prompt

PLATFORM = "playground"
WORKSPACE = "local"
CHANNEL = "playground"


@dataclass(frozen=True, kw_only=True, slots=True)
class Persona:
    id: str
    name: str
    role: str  # admin, leader, member


PERSONAS: tuple[Persona, ...] = (
    Persona(id="anna", name="Anna", role="admin"),
    Persona(id="bram", name="Bram", role="leader"),
    Persona(id="chris", name="Chris", role="member"),
    Persona(id="dewi", name="Dewi", role="member"),
)


class Feed(Protocol):
    """Where the playground keeps its channel's messages."""

    async def post(self, channel_id: str, user_id: str | None, payload: dict[str, Any]) -> int: ...

    async def update(self, message_id: int, payload: dict[str, Any]) -> None: ...

    async def messages(
        self, channel_id: str, user_id: str | None
    ) -> list[tuple[int, str | None, dict[str, Any], datetime]]: ...


def prompt_payload(prompt: Prompt) -> dict[str, Any]:
    data = asdict(prompt)
    data["type"] = "prompt"
    data["closes_at"] = prompt.closes_at.isoformat() if prompt.closes_at else None
    return data


def notice_payload(notice: Notice) -> dict[str, Any]:
    return {
        "type": "notice",
        "title": notice.title,
        "text": notice.text,
        "fields": [list(f) for f in notice.fields],
        "footer": notice.footer,
    }


class PlaygroundPlatform:
    """Delivers prompts and notices into the playground feed. Never fails for the network."""

    name = PLATFORM
    group_conversations = True  # the feed shows the group's message to each member at once

    def __init__(self, feed: Feed) -> None:
        self.feed = feed

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        message_id = await self.feed.post(to.channel_id, to.user_id, prompt_payload(prompt))
        return MessageRef(channel_id=to.channel_id, message_id=str(message_id))

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        await self.feed.update(int(ref.message_id), prompt_payload(prompt))

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        for member in to.members[1:]:  # a private group: each member sees it privately
            await self.feed.post(to.channel_id, member, notice_payload(notice))
        message_id = await self.feed.post(to.channel_id, to.user_id, notice_payload(notice))
        return MessageRef(channel_id=to.channel_id, message_id=str(message_id))
