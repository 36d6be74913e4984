"""Microsoft Teams as a ``rituals.ports.Platform``: proactive Adaptive Cards through the SDK.

Teams only lets a bot post where it has been installed, and only through the
``serviceUrl`` of that conversation; both are in the conversation reference stored when the
bot was installed or spoken to. ``References`` is how this module asks for it, so that it
knows nothing of the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from adapters.teams.cards import attachment, notice_card, prompt_card
from rituals.types import ChannelRef, DeliveryError, MessageRef, Notice, Prompt

log = logging.getLogger(__name__)

PLATFORM = "teams"
RETRYABLE = {408, 412, 429, 500, 502, 503, 504}
GONE = {401, 403, 404, 410}


class References(Protocol):
    """Where the conversation references of installed channels are kept."""

    async def reference(self, to: ChannelRef) -> dict[str, Any] | None:
        """The stored reference (SDK JSON) of the channel, or None when never installed."""
        ...


def card_activity(card: dict[str, Any], *, activity_id: str | None = None, summary: str = "") -> Activity:
    return Activity(type=ActivityTypes.message, id=activity_id, attachments=[attachment(card)],
                    summary=summary or None)


def delivery_error(err: BaseException) -> DeliveryError:
    """Map an SDK or network failure onto the engine's retry rules.

    429/412/5xx are worth another try (after ``Retry-After`` when Teams gives one);
    401/403/404 mean the bot was removed or the conversation is gone.
    """
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    if status is None:
        if isinstance(err, (OSError, asyncio.TimeoutError, ConnectionError)) or "connect" in type(err).__name__.lower():
            return DeliveryError(f"Teams unreachable: {err!r}"[:300], retryable=True)
        return DeliveryError(f"Teams send failed: {err!r}"[:300], retryable=True)
    headers = getattr(response, "headers", None) or {}
    retry_after: float | None = None
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    if raw:
        try:
            retry_after = max(0.0, float(raw))
        except ValueError:
            retry_after = None
    status = int(status)
    if status in RETRYABLE:
        return DeliveryError(f"Teams answered {status}", retryable=True, retry_after=retry_after)
    if status in GONE:
        return DeliveryError(f"Teams answered {status}: the bot was removed or the conversation is gone", retryable=False)
    return DeliveryError(f"Teams answered {status}", retryable=False)


class Pacer:
    """At most one send per ``interval`` seconds into one conversation (Teams throttles
    bursts per conversation); sends into different conversations do not wait for each other."""

    def __init__(self, interval: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval, self.clock, self.sleep = interval, clock, sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def wait(self, conversation_id: str) -> None:
        if self.interval <= 0:
            return
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            gap = self._last.get(conversation_id, -1e9) + self.interval - self.clock()
            if gap > 0:
                await self.sleep(gap)
            self._last[conversation_id] = self.clock()


class TeamsPlatform:
    """Sends prompts and notices as Adaptive Cards into stored Teams conversations."""

    name = PLATFORM

    def __init__(self, adapter: CloudAdapter, app_id: str, references: References, *,
                 pacer: Pacer | None = None) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.references = references
        self.pacer = pacer or Pacer(0.0)

    async def _reference(self, to: ChannelRef) -> ConversationReference:
        data = await self.references.reference(to)
        if not data:
            raise DeliveryError("no Teams conversation reference for this channel: install the bot there first",
                                retryable=False)
        return ConversationReference.deserialize(data)

    async def _in(self, reference: ConversationReference, work: Callable[[TurnContext], Awaitable[Any]]) -> Any:
        """Run ``work`` in a proactive turn of the conversation; SDK errors become DeliveryError."""
        result: dict[str, Any] = {}

        async def callback(turn_context: TurnContext) -> None:
            # The SDK gives the continuation turn a made-up activity id and would send as a
            # reply to it; without one, a post is a new top-level message in the channel.
            turn_context.activity.id = None
            try:
                result["value"] = await work(turn_context)
            except Exception as err:  # kept: the adapter's turn-error handler would swallow it
                result["error"] = err

        await self.pacer.wait(reference.conversation.id)
        try:
            await self.adapter.continue_conversation(reference, callback, self.app_id)
        except DeliveryError:
            raise
        except Exception as err:
            raise delivery_error(err) from err
        if "error" in result:
            raise delivery_error(result["error"]) from result["error"]
        return result.get("value")

    async def _conversation(self, to: ChannelRef) -> ConversationReference:
        """The channel's reference, or a 1:1 chat with ``to.user_id`` opened from it."""
        reference = await self._reference(to)
        reference.activity_id = None
        if not to.user_id:
            return reference
        return await self.open_direct(reference, to.user_id, to.workspace_id)

    async def open_direct(self, reference: ConversationReference, user_id: str, tenant_id: str) -> ConversationReference:
        """Open (or find again: Teams returns the same id) the 1:1 chat of the bot and a member."""
        params = ConversationParameters(
            is_group=False,
            bot=reference.bot,
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )
        found: dict[str, ConversationReference] = {}

        async def callback(turn_context: TurnContext) -> None:
            found["ref"] = TurnContext.get_conversation_reference(turn_context.activity)

        try:
            await self.adapter.create_conversation(
                self.app_id, callback, params, channel_id=reference.channel_id,
                service_url=reference.service_url,
            )
        except Exception as err:
            raise delivery_error(err) from err
        direct = found["ref"]
        direct.activity_id = None
        direct.bot = reference.bot
        direct.service_url = reference.service_url
        return direct

    async def _post(self, to: ChannelRef, activity: Activity) -> MessageRef:
        reference = await self._conversation(to)

        async def send(turn_context: TurnContext) -> str:
            response = await turn_context.send_activity(activity)
            return response.id if response and response.id else ""

        message_id = await self._in(reference, send)
        return MessageRef(channel_id=reference.conversation.id, message_id=str(message_id))

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        return await self._post(to, card_activity(prompt_card(prompt), summary=prompt.title))

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        # A bot cannot start a group chat in Teams: a private group gets one 1:1 chat each.
        for member in to.members:
            if member != to.user_id:
                await self._post(replace(to, user_id=member, members=()), card_activity(notice_card(notice), summary=notice.title))
        return await self._post(to, card_activity(notice_card(notice), summary=notice.title))

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        reference = await self._reference(to)
        reference.activity_id = None
        reference.conversation.id = ref.channel_id  # the channel, or the member's 1:1 chat
        card = prompt_card(prompt)
        activity = card_activity(card, activity_id=ref.message_id, summary=prompt.title)

        async def update(turn_context: TurnContext) -> None:
            await turn_context.update_activity(activity)

        await self._in(reference, update)

