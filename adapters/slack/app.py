"""The Slack edge: one bolt ``AsyncApp`` behind ``POST /slack/events``.

Ack mode: ``process_before_response=True``. Bolt's default mode polls for the ack every
10 ms (BASELINES: 1,400 against 3,300 signed requests a second at 16 concurrent); with
``process_before_response`` the HTTP answer goes out as soon as the listener returns. So
every listener acks at once and hands slow work (Web API calls, posting to response_url)
to a task of its own, tracked in ``SlackAdapter.tasks`` so that shutdown can wait for it
and tests can ``drain()`` it. We chose our own tasks over bolt's lazy listeners because
they are plain asyncio (no name-injected lazy functions) and can be awaited. The one piece
of work that must happen inside the ack is a modal's ``view_submission``: its validation
errors can only be shown through the HTTP answer.

Cross-cutting concerns live in bolt middleware: bolt's own request verification (bad or
stale signatures get 401 before anything runs), then ``_dedupe`` that acks and drops a
Slack retry (``X-Slack-Retry-Num``) of a request already handled.

Every ``AsyncWebClient`` (ours and the per-request one bolt makes) shares one
``aiohttp.ClientSession``, opened and closed by ``lifecycle``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.blocks import (
    ANSWER_ACTION,
    MODAL_CALLBACK,
    SCALE_ACTION,
    first_input_block,
    modal_view,
    notice_blocks,
    notice_text,
    thread_input,
    view_values,
)
from adapters.slack.config import SlackConfig
from adapters.slack.platform import PLATFORM, SlackPlatform
from rituals.i18n import translator
from rituals.ports import Inbound
from rituals.types import Actor, ChannelRef, Notice, Prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptInfo:
    """A prompt as it stands now, with its team's language and channel."""

    prompt: Prompt
    language: str
    channel: ChannelRef


class SlackInbound(Inbound, Protocol):
    """What the Slack adapter needs from the bot besides commands and answers."""

    async def prompt(self, occurrence_id: int) -> PromptInfo | None:
        """The current rendering of an occurrence's prompt; None when it is gone."""
        ...

    async def thread_occurrence(self, workspace_id: str, channel_id: str, thread_ts: str) -> int | None:
        """The occurrence whose prompt was posted as message ``thread_ts`` in the channel."""
        ...

    async def language_of(self, channel: ChannelRef) -> str:
        """The language of the channel's team (the default when it has none yet)."""
        ...

    async def uninstalled(self, workspace_id: str) -> int:
        """The app left the workspace: pause its rituals; returns how many."""
        ...

    async def home(self, actor: Actor) -> list[Notice]:
        """What the member's App Home shows, one notice per team."""
        ...


class SeenRequests:
    """A bounded LRU of request keys already handled, against Slack's retries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """Remember the key; False when it was there already."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return False
        self._keys[key] = None
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)
        return True


def request_key(req: AsyncBoltRequest) -> str:
    """An Events API request is known by its event_id; anything else by its body."""
    body = req.body if isinstance(req.body, dict) else {}
    if body.get("event_id"):
        return "event:" + str(body["event_id"])
    return "body:" + hashlib.sha256(req.raw_body.encode()).hexdigest()


class SlackAdapter:
    """Builds the bolt app, the ``Platform`` and the aiohttp route for one workspace."""

    def __init__(self, config: SlackConfig, inbound: SlackInbound) -> None:
        self.config = config
        self.inbound = inbound
        self.session: aiohttp.ClientSession | None = None
        self.client = AsyncWebClient(
            token=config.bot_token,
            base_url=config.api_url if config.api_url.endswith("/") else config.api_url + "/",
            retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        self.platform = SlackPlatform(self.client, inbound.language_of)
        self.tasks: set[asyncio.Task[None]] = set()
        self.seen = SeenRequests(config.dedupe_size)
        self._users: dict[tuple[str, str], tuple[float, bool, str]] = {}
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret,
            process_before_response=True,
            name="ritme",
        )
        self._register()

    # -- lifecycle and HTTP -------------------------------------------------------------

    @asynccontextmanager
    async def lifecycle(self) -> AsyncIterator[None]:
        """Open the shared HTTP session; on the way out finish pending work, then close it."""
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.client.session = self.session
        try:
            yield
        finally:
            await self.drain(within=10)
            self.client.session = None
            await self.session.close()
            self.session = None

    async def handle(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: everything Slack sends comes through here."""
        bolt_request = await to_bolt_request(request)
        bolt_response = await self.bolt.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/slack/events", self.handle)]

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

    async def _api(self, method: str, **params: Any) -> dict[str, Any] | None:
        """A Web API call made on behalf of a person; failures are logged, not raised."""
        try:
            response = await self.client.api_call(method, json={k: v for k, v in params.items() if v is not None})
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning("slack %s failed: %s", method, getattr(err, "response", None) or repr(err))
            return None
        return response.data if isinstance(response.data, dict) else None

    async def _user(self, team_id: str, user_id: str, fallback_name: str = "") -> tuple[bool, str]:
        """(is workspace admin or owner, display name), from users.info, cached briefly."""
        now = time.monotonic()
        cached = self._users.get((team_id, user_id))
        if cached and now - cached[0] < self.config.user_cache_seconds:
            return cached[1], cached[2] or fallback_name
        data = await self._api("users.info", user=user_id)
        user = (data or {}).get("user") or {}
        profile = user.get("profile") or {}
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        name = str(profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or fallback_name)
        if data is not None:
            if len(self._users) > 4096:
                self._users.clear()
            self._users[(team_id, user_id)] = (now, admin, name)
        return admin, name

    async def _actor(self, team_id: str, user_id: str, fallback_name: str = "") -> Actor:
        admin, name = await self._user(team_id, user_id, fallback_name)
        return Actor(platform=PLATFORM, workspace_id=team_id, user_id=user_id, display_name=name, is_platform_admin=admin)

    async def _ephemeral(self, channel_id: str, user_id: str, text: str, thread_ts: str | None = None) -> None:
        if channel_id:
            await self._api("chat.postEphemeral", channel=channel_id, user=user_id, text=text,
                            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}],
                            thread_ts=thread_ts)

    # -- listeners ------------------------------------------------------------------

    def _register(self) -> None:
        app = self.bolt
        app.use(self._dedupe)
        app.command("/ritme")(self._on_command)
        app.action(ANSWER_ACTION)(self._on_answer_button)
        app.action({"type": "block_actions", "action_id": _scale_pattern()})(self._on_scale_button)
        app.view(MODAL_CALLBACK)(self._on_view_submission)
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_ignored_event)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_uninstalled)

    async def _dedupe(self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        """Ack and drop a retried request that was handled already (runs after verification)."""
        first = self.seen.add(request_key(req))
        retry = req.headers.get("x-slack-retry-num")
        if not first and retry:
            log.info("slack: retry %s of a handled request ignored", retry[0])
            return BoltResponse(status=200, body="")
        return await next()

    async def _on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._run_command(body))

    async def _run_command(self, body: dict[str, Any]) -> None:
        team_id, user_id = str(body.get("team_id", "")), str(body.get("user_id", ""))
        channel_id = str(body.get("channel_id", ""))
        actor = await self._actor(team_id, user_id, str(body.get("user_name", "")))
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        notice = await self.inbound.command(actor, channel, str(body.get("text", "")).strip(),
                                            channel_name=str(body.get("channel_name", "")))
        await self._reply(body.get("response_url"), channel_id, user_id, notice)

    async def _reply(self, response_url: Any, channel_id: str, user_id: str, notice: Notice) -> None:
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
        await self._api("chat.postEphemeral", channel=channel_id, user=user_id, text=text, blocks=blocks)

    async def _on_answer_button(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._open_modal(body))

    async def _open_modal(self, body: dict[str, Any]) -> None:
        user_id = str((body.get("user") or {}).get("id", ""))
        channel_id = str((body.get("channel") or {}).get("id", ""))
        try:
            occurrence_id = int((body.get("actions") or [{}])[0].get("value", ""))
        except (TypeError, ValueError):
            return
        info = await self.inbound.prompt(occurrence_id)
        if info is None or info.prompt.closed:
            _ = translator(info.language if info else "en")
            await self._ephemeral(channel_id, user_id, _("This round has closed; answers are no longer taken."))
            return
        view = modal_view(info.prompt, channel_id or info.channel.channel_id, translator(info.language))
        await self._api("views.open", trigger_id=body.get("trigger_id"), view=view)

    async def _on_scale_button(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._scale_answer(body))

    async def _scale_answer(self, body: dict[str, Any]) -> None:
        user = body.get("user") or {}
        team_id = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        channel_id = str((body.get("channel") or {}).get("id", ""))
        try:
            value = json.loads((body.get("actions") or [{}])[0].get("value", ""))
            occurrence_id, key, score = int(value["o"]), str(value["k"]), int(value["v"])
        except (TypeError, ValueError, KeyError):
            return
        actor = await self._actor(team_id, str(user.get("id", "")), str(user.get("username") or user.get("name") or ""))
        _ok, message = await self.inbound.answer(actor, occurrence_id, {key: score})
        await self._ephemeral(channel_id, actor.user_id, message)

    async def _on_view_submission(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Store the answer inside the ack: a refusal must come back as the modal's errors."""
        user = body.get("user") or {}
        team_id = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            occurrence_id, channel_id = int(meta["o"]), str(meta.get("c", ""))
        except (TypeError, ValueError, KeyError):
            await ack()
            return
        actor = Actor(platform=PLATFORM, workspace_id=team_id, user_id=str(user.get("id", "")),
                      display_name=str(user.get("name") or user.get("username") or ""))
        ok, message = await self.inbound.answer(actor, occurrence_id, view_values(view))
        if not ok:
            block = first_input_block(view)
            if block:
                await ack(response_action="errors", errors={block: message[:150]})
                return
        await ack(response_action="clear")
        self.spawn(self._ephemeral(channel_id, actor.user_id, message))

    async def _on_message(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins, bots and this bot itself
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return
        self.spawn(self._thread_reply(event, str(body.get("team_id") or event.get("team") or "")))

    async def _thread_reply(self, event: dict[str, Any], team_id: str) -> None:
        channel_id, thread_ts = str(event.get("channel", "")), str(event["thread_ts"])
        occurrence_id = await self.inbound.thread_occurrence(team_id, channel_id, thread_ts)
        if occurrence_id is None:
            return
        info = await self.inbound.prompt(occurrence_id)
        item = thread_input(info.prompt) if info else None
        if info is None or item is None:
            return
        text = str(event.get("text") or "").strip()
        if not text:
            return
        actor = await self._actor(team_id, str(event["user"]))
        _ok, message = await self.inbound.answer(actor, occurrence_id, {item.key: text})
        await self._ephemeral(channel_id, actor.user_id, message, thread_ts=thread_ts)

    async def _on_ignored_event(self, ack: Any) -> None:
        await ack()

    async def _on_home_opened(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("tab", "home") == "home" and event.get("user"):
            self.spawn(self._publish_home(str(body.get("team_id", "")), str(event["user"])))

    async def _publish_home(self, team_id: str, user_id: str) -> None:
        actor = await self._actor(team_id, user_id)
        blocks: list[dict[str, Any]] = []
        for notice in await self.inbound.home(actor):
            if blocks:
                blocks.append({"type": "divider"})
            blocks += notice_blocks(notice)
        await self._api("views.publish", user_id=user_id, view={"type": "home", "blocks": blocks[:100]})

    async def _on_uninstalled(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._uninstall(str(body.get("team_id", ""))))

    async def _uninstall(self, team_id: str) -> None:
        paused = await self.inbound.uninstalled(team_id)
        log.warning("slack: app removed from workspace %s; %d rituals paused", team_id, paused)


def _scale_pattern() -> Any:
    import re

    return re.compile(re.escape(SCALE_ACTION) + r"[1-5]")


SLACK_ADAPTER = web.AppKey("slack_adapter", SlackAdapter)
