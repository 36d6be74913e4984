"""Slack as a ``rituals.ports.Platform``: prompts and notices out through the Web API.

Every Slack failure becomes a ``DeliveryError`` the outbox dispatcher understands: rate
limits and server or network trouble are retried (honouring Retry-After); a channel that
is gone, a bot that was removed or a revoked token is permanent, so the engine pauses the
ritual instead of knocking forever.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import notice_blocks, notice_text, prompt_blocks
from rituals.i18n import translator
from rituals.types import ChannelRef, DeliveryError, MessageRef, Notice, Prompt

log = logging.getLogger(__name__)

PLATFORM = "slack"

PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth",
    "token_revoked", "token_expired", "not_authed", "no_permission", "missing_scope",
    "user_not_found", "cannot_dm_bot", "user_not_in_channel", "team_access_not_granted",
    "restricted_action", "ekm_access_denied", "org_login_required", "channel_is_archived",
    "invalid_blocks", "msg_too_long", "message_not_found", "cant_update_message",
})
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})


def delivery_error(err: SlackApiError) -> DeliveryError:
    """Translate a Slack API error into retryable or permanent."""
    response = err.response
    status = getattr(response, "status_code", 200) or 200
    data = getattr(response, "data", None)
    reason = str(data.get("error", "")) if isinstance(data, dict) else ""
    reason = reason or f"http_{status}"
    if status == 429 or reason == "ratelimited":
        headers = getattr(response, "headers", {}) or {}
        retry_after: float | None = None
        for name, value in headers.items():
            if str(name).lower() == "retry-after":
                raw = value[0] if isinstance(value, list) else value
                try:
                    retry_after = max(0.0, float(raw))
                except (TypeError, ValueError):
                    retry_after = None
        return DeliveryError("ratelimited", retryable=True, retry_after=retry_after)
    if status >= 500 or reason in TRANSIENT:
        return DeliveryError(reason, retryable=True)
    return DeliveryError(reason, retryable=False)


class SlackPlatform:
    """Posts prompts and notices; ``language_of`` gives a channel's team language (few labels
    here are not in the prompt itself, such as the 'closes' line)."""

    name = PLATFORM

    def __init__(self, client: AsyncWebClient, language_of: Callable[[ChannelRef], Awaitable[str]]) -> None:
        self.client = client
        self.language_of = language_of

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            response = await self.client.api_call(method, json={k: v for k, v in params.items() if v is not None})
        except SlackApiError as err:
            error = delivery_error(err)
            log.warning("slack %s failed: %s (retryable: %s)", method, error.reason, error.retryable)
            raise error from None
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning("slack %s: network error %r", method, err)
            raise DeliveryError(f"network: {type(err).__name__}", retryable=True) from None
        data = response.data
        return data if isinstance(data, dict) else {}

    async def _conversation(self, to: ChannelRef) -> str:
        """The channel to post in: a DM is opened first when the message is for one member."""
        if to.user_id and not to.ephemeral:
            data = await self._call("conversations.open", users=to.user_id)
            return str((data.get("channel") or {}).get("id") or to.channel_id)
        return to.channel_id

    async def _post(self, to: ChannelRef, text: str, blocks: list[dict[str, Any]]) -> MessageRef:
        if to.ephemeral and to.user_id:
            data = await self._call("chat.postEphemeral", channel=to.channel_id, user=to.user_id, text=text, blocks=blocks)
            return MessageRef(channel_id=to.channel_id, message_id=str(data.get("message_ts", "")))
        channel = await self._conversation(to)
        data = await self._call("chat.postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False)
        return MessageRef(channel_id=str(data.get("channel") or channel), message_id=str(data.get("ts", "")))

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        _ = translator(await self.language_of(to))
        return await self._post(to, prompt.title, prompt_blocks(prompt, _))

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        if to.ephemeral or not ref.message_id:
            return  # ephemeral messages cannot be updated by the bot
        _ = translator(await self.language_of(to))
        await self._call("chat.update", channel=ref.channel_id, ts=ref.message_id, text=prompt.title,
                         blocks=prompt_blocks(prompt, _))

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        return await self._post(to, notice_text(notice), notice_blocks(notice))
