"""What every listener uses to speak to Slack and to run work after its ack.

``Edge`` holds the Web API client (one ``aiohttp.ClientSession``, set by the adapter's
lifecycle), the workspace tokens (``Tokens``), the people cache and the bot (``inbound``).
Listeners ack at once and hand slow work (Web API calls, posting to a response_url) to
``spawn``: a task of its own, tracked so that shutdown can wait for it and tests can
``drain()`` it. Plain asyncio tasks rather than bolt's lazy listeners: no name-injected lazy
functions, and they can be awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import notice_blocks, notice_text
from adapters.slack.inbound import SlackInbound
from adapters.slack.installs import NotInstalled, Tokens
from adapters.slack.people import People
from adapters.slack.platform import PLATFORM
from rituals.types import Actor, ChannelRef, Notice

log = logging.getLogger(__name__)


class Edge:
    """The Web API on behalf of a workspace, the people in it, and work after the ack."""

    def __init__(
        self, client: AsyncWebClient, tokens: Tokens, inbound: SlackInbound, *, user_cache_seconds: float
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.inbound = inbound
        self.session: aiohttp.ClientSession | None = None
        self.people = People(self.api, cache_seconds=user_cache_seconds)
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work after the ack; failures are logged, never lost silently."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                log.exception("slack: work after the ack failed")

        task = asyncio.create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def drain(self, within: float | None = None) -> None:
        """Wait until the work started after acks is done (shutdown, tests); ``within``
        seconds per round at most, so a hung call cannot stop a shutdown."""
        while self.tasks:
            done, _pending = await asyncio.wait(set(self.tasks), timeout=within)
            if not done:
                break

    # -- helpers --------------------------------------------------------------------

    async def api(self, team_id: str, method: str, *, errors: bool = False, **params: Any) -> dict[str, Any] | None:
        """A Web API call made on behalf of a person; failures are logged, not raised. With
        ``errors``, Slack's refusal comes back as the answer (``{"ok": false, "error": ...}``)
        for the caller to tell apart; a failure to get any answer is still None."""
        try:
            token = await self.tokens.token(team_id)
        except NotInstalled:
            log.info("slack %s: not installed in workspace %s", method, team_id)
            return None
        except Exception as err:
            log.warning("slack %s: installation lookup failed: %r", method, err)
            return None
        body = {k: v for k, v in params.items() if v is not None}
        try:
            response = await self.client.api_call(method, json={**body, "token": token})
        except SlackApiError as err:
            data = getattr(err.response, "data", None)
            if errors and isinstance(data, dict) and data.get("error"):
                log.info("slack %s refused: %s", method, data.get("error"))
                return data
            log.warning("slack %s failed: %s", method, getattr(err, "response", None) or repr(err))
            return None
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning("slack %s failed: %s", method, getattr(err, "response", None) or repr(err))
            return None
        return response.data if isinstance(response.data, dict) else None

    async def actor(self, team_id: str, user_id: str, fallback_name: str = "", *, known: bool = False) -> Actor:
        """The person, named as ``users.info`` names them (display name, else real name), with
        ``is_platform_admin`` for workspace admins and owners and (OAuth) for whoever
        installed Ritme in the workspace. ``known``: inside an ack, no Web API call at all: a
        lookup made before (when the form opened) is good enough however old, and someone not
        looked up yet (the form was opened before a restart) comes without a name: a stored
        name stays, a new member is named at their next command or button, which asks Slack.
        (A lookup per such answer after the ack, tried too, cost three quarters of the
        answer throughput in bench/answers.py.)"""
        if known:
            user = self.people.known(team_id, user_id)
        else:
            user = await self.people.user(team_id, user_id, fallback_name)
        admin = bool(user and user.admin)
        if not admin and self.tokens.multi_workspace:
            try:
                admin = await self.tokens.installer(team_id) == user_id
            except Exception as err:
                log.warning("slack: installer lookup failed: %r", err)
        name = user.name if user and user.name else ("" if known else fallback_name)
        return Actor(
            platform=PLATFORM, workspace_id=team_id, user_id=user_id, display_name=name, is_platform_admin=admin
        )

    async def ephemeral(
        self, team_id: str, channel_id: str, user_id: str, text: str, thread_ts: str | None = None
    ) -> None:
        if channel_id:
            await self.api(
                team_id,
                "chat.postEphemeral",
                channel=channel_id,
                user=user_id,
                text=text,
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}],
                thread_ts=thread_ts,
            )

    # -- listeners ------------------------------------------------------------------

    async def reply(self, team_id: str, response_url: Any, channel_id: str, user_id: str, notice: Notice) -> None:
        """The answer to a command, visible to the caller only."""
        blocks, text = notice_blocks(notice), notice_text(notice)
        if response_url:
            hook = AsyncWebhookClient(str(response_url), session=self.session)
            try:
                result = await hook.send(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
                if result.status_code < 300:
                    return
                log.warning("slack: response_url answered %s", result.status_code)
            except (aiohttp.ClientError, TimeoutError, OSError) as err:
                log.warning("slack: response_url failed: %r", err)
        await self.api(team_id, "chat.postEphemeral", channel=channel_id, user=user_id, text=text, blocks=blocks)

    async def language_of(self, channel: ChannelRef) -> str | None:
        """The team's language; None (the default) when the database cannot say just now,
        e.g. after the answer was stored: the confirmation is still shown."""
        try:
            return await self.inbound.language_of(channel)
        except Exception as err:
            log.warning("slack: the language of %s could not be read: %r", channel.channel_id, err)
            return None
