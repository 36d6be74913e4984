"""A recording platform: what the engine sent, and failures on request."""

from __future__ import annotations

from dataclasses import dataclass, field

from rituals.types import ChannelRef, DeliveryError, MessageRef, Notice, Prompt


@dataclass
class RecordingPlatform:
    name: str = "test"
    group_conversations: bool = True
    prompts: list[tuple[ChannelRef, Prompt]] = field(default_factory=list)
    notices: list[tuple[ChannelRef, Notice]] = field(default_factory=list)
    updates: list[tuple[MessageRef, Prompt]] = field(default_factory=list)
    failures: list[DeliveryError] = field(default_factory=list)  # raised first, in order

    def _maybe_fail(self) -> None:
        if self.failures:
            raise self.failures.pop(0)

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        self._maybe_fail()
        self.prompts.append((to, prompt))
        return MessageRef(channel_id=to.channel_id, message_id=f"m{len(self.prompts)}")

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        self._maybe_fail()
        self.updates.append((ref, prompt))

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        self._maybe_fail()
        self.notices.append((to, notice))
        return MessageRef(channel_id=to.channel_id, message_id=f"n{len(self.notices)}")
