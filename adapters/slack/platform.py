"""Slack as a ``rituals.ports.Platform``: prompts and notices out through the Web API.

Every Slack failure becomes a ``DeliveryError`` the outbox dispatcher understands: rate
limits and server or network trouble are retried (honouring Retry-After); a channel that
is gone, a bot that was removed or a revoked token is permanent, so the engine pauses the
ritual instead of knocking forever. A workspace that uninstalled Ritme is refused before
anything is sent (``not_installed``, permanent).

Each call carries the workspace's own token (``Tokens``: the configured token, or the
OAuth installation's). Posts and updates are paced at about one a second per channel
(``ChannelPacer``); a direct message counts as its own channel.

Appreciation rounds go by direct message on Slack. When the round's prompt is delivered to
the channel, ``hooks.private_round`` first queues the same prompt for every member of the
round as a direct message (idempotent: a retried channel post queues nobody twice); the
channel post then says so. Each direct message names the colleague the member is asked to
appreciate (``hooks.assigned_colleague``): the rendering is per recipient, so nothing per
member is stored. The engine's reminder (``ChannelRef(user_id=...)``) is a direct message
too, with the same colleague named.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import notice_blocks, notice_text, prompt_blocks
from adapters.slack.installs import NotInstalled, Tokens
from adapters.slack.pacing import ChannelPacer
from rituals.i18n import Translator, translator
from rituals.types import ChannelRef, DeliveryError, MessageRef, Notice, Prompt

log = logging.getLogger(__name__)

PLATFORM = "slack"
APPRECIATION = "appreciation"  # the ritual kind that goes by direct message on Slack

PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "token_expired",
        "not_authed",
        "no_permission",
        "missing_scope",
        "user_not_found",
        "cannot_dm_bot",
        "user_not_in_channel",
        "team_access_not_granted",
        "restricted_action",
        "ekm_access_denied",
        "org_login_required",
        "channel_is_archived",
        "invalid_blocks",
        "msg_too_long",
        "message_not_found",
        "cant_update_message",
    }
)
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


class PlatformHooks(Protocol):
    """What the platform asks the bot while rendering (implemented in ``bot/slack_support.py``)."""

    async def language_of(self, channel: ChannelRef) -> str:
        """The language of the channel's team (the default when it has none yet)."""
        ...

    async def assigned_colleague(self, occurrence_id: int, workspace_id: str, user_id: str) -> tuple[str, str] | None:
        """(option value, name) of the colleague this member is asked to appreciate in the
        round; None when the member is not in the round's roster."""
        ...

    async def private_round(self, channel: ChannelRef, occurrence_id: int) -> int:
        """Queue the round's prompt as a direct message to each member of the round who has
        none queued yet; returns how many were queued."""
        ...


class SlackPlatform:
    """Posts prompts and notices with the workspace's token, paced per channel."""

    name = PLATFORM
    group_conversations = True  # a group DM (conversations.open with several users)

    def __init__(
        self, client: AsyncWebClient, hooks: PlatformHooks, tokens: Tokens, pacer: ChannelPacer | None = None
    ) -> None:
        self.client = client
        self.hooks = hooks
        self.tokens = tokens
        self.pacer = pacer or ChannelPacer()

    async def _call(self, workspace_id: str, method: str, **params: Any) -> dict[str, Any]:
        try:
            token = await self.tokens.token(workspace_id)
        except NotInstalled:
            log.warning("slack %s: workspace %s has uninstalled Ritme; not sent", method, workspace_id)
            raise DeliveryError("not_installed", retryable=False) from None
        except Exception as err:  # the store did not answer: try again later
            log.warning("slack %s: installation lookup failed: %r", method, err)
            raise DeliveryError("installation_lookup_failed", retryable=True) from None
        body = {k: v for k, v in params.items() if v is not None}
        try:
            response = await self.client.api_call(method, json={**body, "token": token})
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
        """The channel to post in: a DM is opened first when the message is for one member, a
        group DM with all of them for a private group (a pair or trio)."""
        if to.user_id and not to.ephemeral:
            users = ",".join(to.members) if to.members else to.user_id
            data = await self._call(to.workspace_id, "conversations.open", users=users)
            return str((data.get("channel") or {}).get("id") or to.channel_id)
        return to.channel_id

    async def _post(self, to: ChannelRef, text: str, blocks: list[dict[str, Any]]) -> MessageRef:
        if to.ephemeral and to.user_id:
            await self.pacer.wait((to.workspace_id, to.channel_id))
            data = await self._call(
                to.workspace_id, "chat.postEphemeral", channel=to.channel_id, user=to.user_id, text=text, blocks=blocks
            )
            return MessageRef(channel_id=to.channel_id, message_id=str(data.get("message_ts", "")))
        channel = await self._conversation(to)
        await self.pacer.wait((to.workspace_id, channel))
        data = await self._call(
            to.workspace_id, "chat.postMessage", channel=channel, text=text, blocks=blocks, unfurl_links=False
        )
        return MessageRef(channel_id=str(data.get("channel") or channel), message_id=str(data.get("ts", "")))

    async def _blocks(self, to: ChannelRef, prompt: Prompt, _: Translator) -> list[dict[str, Any]]:
        if prompt.kind != APPRECIATION or prompt.closed:
            return prompt_blocks(prompt, _)
        if to.user_id and not to.ephemeral:
            colleague = await self.hooks.assigned_colleague(prompt.occurrence_id, to.workspace_id, to.user_id)
            return prompt_blocks(prompt, _, assigned=colleague[1] if colleague else None)
        await self.hooks.private_round(to, prompt.occurrence_id)  # the DMs are queued before the channel hears of them
        return prompt_blocks(
            prompt,
            _,
            note=_("Everyone in this channel gets a direct message from Ritme naming a colleague to appreciate."),
        )

    async def _translator(self, to: ChannelRef, prompt: Prompt) -> Translator:
        """The team's language: carried by the prompt, asked of the bot only when it is not."""
        return translator(prompt.language or await self.hooks.language_of(to))

    async def send_prompt(self, to: ChannelRef, prompt: Prompt) -> MessageRef:
        _ = await self._translator(to, prompt)
        return await self._post(to, prompt.title, await self._blocks(to, prompt, _))

    async def update_prompt(self, ref: MessageRef, to: ChannelRef, prompt: Prompt) -> None:
        if to.ephemeral or not ref.message_id:
            return  # ephemeral messages cannot be updated by the bot
        _ = await self._translator(to, prompt)
        await self.pacer.wait((to.workspace_id, ref.channel_id))
        await self._call(
            to.workspace_id,
            "chat.update",
            channel=ref.channel_id,
            ts=ref.message_id,
            text=prompt.title,
            blocks=prompt_blocks(prompt, _),
        )

    async def send_notice(self, to: ChannelRef, notice: Notice) -> MessageRef:
        return await self._post(to, notice_text(notice), notice_blocks(notice))
