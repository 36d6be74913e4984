"""The Slack edge: one bolt ``AsyncApp``, the ``Platform``, and the routes, put together.

Ack mode: ``process_before_response=True``. Bolt's default mode polls for the ack every
10 ms (BASELINES: 1,400 against 3,300 signed requests a second at 16 concurrent); with
``process_before_response`` the HTTP answer goes out as soon as the listener returns. So
every listener acks at once and hands slow work to a task of its own (``Edge.spawn``).

The parts, each in its module:

- ``http``: ``POST /slack/events`` and the OAuth pages; the signature (``signatures``) and
  the body (``payloads``) are checked there, before bolt;
- ``guards``: the checks every request passes before a listener runs (payload shape,
  installation of an answer form's workspace, Slack's retries, a workspace that came back),
  one bolt middleware (``before_authorize``), called by ``http`` for the answer form too;
- ``answers``, ``commands``, ``events``: the listeners, each registering its own with bolt;
- ``edge``: the Web API with the workspace's token, people, replies, work after the ack.

Every ``AsyncWebClient`` (ours and the per-request one bolt makes) shares one
``aiohttp.ClientSession``, opened and closed by ``lifecycle``. Every Web API call carries
the workspace's own token (``Tokens``): the configured ``SLACK_BOT_TOKEN``, or with OAuth
(``SLACK_CLIENT_ID``) the token saved when the workspace installed Ritme. With OAuth, bolt
serves ``GET /slack/install`` (a redirect to Slack's consent page, with a ``state`` kept in
the database) and ``GET /slack/oauth_redirect`` (the code is exchanged at ``oauth.v2.access``
on ``SLACK_API_URL``'s host and the installation saved through the installation store), and
authorizes each request by the installation store. The person who installed Ritme counts
as a workspace admin (``is_platform_admin``) in the workspace's teams.

With ``SLACK_APP_TOKEN`` the same bolt app also takes requests over Socket Mode: bolt's
aiohttp ``AsyncSocketModeHandler`` connects in the background when the app starts (so an
unreachable Slack does not stop the start-up) and is closed first on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.answers import Answers
from adapters.slack.commands import Commands
from adapters.slack.config import SlackConfig
from adapters.slack.edge import Edge
from adapters.slack.events import Events
from adapters.slack.guards import Guards
from adapters.slack.http import SlackHttp
from adapters.slack.inbound import SlackInbound
from adapters.slack.installs import Installations, Tokens
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.pacing import ChannelPacer
from adapters.slack.platform import SlackPlatform
from adapters.slack.signatures import Signatures

__all__ = ["SLACK_ADAPTER", "SlackAdapter"]

log = logging.getLogger(__name__)


class SlackAdapter:
    """Builds the bolt app, the ``Platform`` and the aiohttp routes for one Slack app."""

    def __init__(
        self,
        config: SlackConfig,
        inbound: SlackInbound,
        *,
        installations: Installations | None = None,
        state_store: AsyncOAuthStateStore | None = None,
    ) -> None:
        self.config = config
        self.inbound = inbound
        self.tokens = Tokens(
            bot_token=None if config.oauth else config.bot_token,
            installations=installations,
            ttl=config.install_cache_seconds,
        )
        self.client = AsyncWebClient(
            token=None if config.oauth else config.bot_token,
            base_url=config.api_base,
            retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        self.edge = Edge(self.client, self.tokens, inbound, user_cache_seconds=config.user_cache_seconds)
        self.people = self.edge.people
        self.platform = SlackPlatform(self.client, inbound, self.tokens, ChannelPacer(config.pace_seconds))
        self.signatures = Signatures(config.signing_secret, replay_size=config.replay_size)
        self.guards = Guards(self.tokens, inbound.installed, dedupe_size=config.dedupe_size)
        self.bolt = self._bolt(installations, state_store)
        answers = Answers(self.edge)
        commands = Commands(self.edge, api_base=config.api_base)
        for listeners in (commands, answers, Events(self.edge, answers, commands)):
            listeners.register(self.bolt)
        self.http = SlackHttp(self.bolt, self.signatures, self.guards, answers)
        self.socket: AsyncSocketModeHandler | None = None
        self._socket_task: asyncio.Task[None] | None = None

    def _bolt(self, installations: Installations | None, state_store: AsyncOAuthStateStore | None) -> AsyncApp:
        """The bolt app: acks returned as HTTP answers, ``Guards`` before its authorization.
        Bolt's request verification is off: ``adapters.slack.signatures`` checked the
        signature before the body was read (HTTP only; Socket Mode is not signed)."""
        config = self.config
        oauth: AsyncOAuthSettings | None = None
        if config.oauth:
            if not isinstance(installations, AsyncInstallationStore) or state_store is None:
                raise ValueError("Slack OAuth needs an installation store and an OAuth state store")
            oauth = AsyncOAuthSettings(
                client_id=config.client_id,
                client_secret=config.client_secret,
                scopes=[scope for scope, _why in BOT_SCOPES],
                redirect_uri=config.redirect_url,
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
                install_page_rendering_enabled=False,
                authorization_url=config.authorize_url,
                installation_store=installations,
                installation_store_bot_only=True,
                state_store=state_store,
                callback_options=AsyncCallbackOptions(success=self._installed, failure=_default_failure),
            )
            authorize = oauth.authorize
            if hasattr(authorize, "cache_enabled"):
                authorize.cache_enabled = True  # one auth.test per token and process, not per request
        return AsyncApp(
            client=self.client,
            signing_secret=self.signatures.secret,
            oauth_settings=oauth,
            process_before_response=True,
            request_verification_enabled=False,
            before_authorize=self.guards,
            name="ritme",
        )

    # -- lifecycle ----------------------------------------------------------------------

    @asynccontextmanager
    async def lifecycle(self) -> AsyncIterator[None]:
        """Open the shared HTTP session and (Socket Mode) the WebSocket; on the way out close
        the WebSocket, finish pending work, then close the session."""
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.client.session = self.edge.session = session
        try:
            if self.config.socket_mode:
                self._start_socket()
            yield
        finally:
            await self._stop_socket()
            await self.drain(within=10)
            self.client.session = self.edge.session = None
            await session.close()

    def _start_socket(self) -> None:
        assert self.config.app_token
        web_client = AsyncWebClient(token=self.config.app_token, base_url=self.config.api_base)
        self.socket = AsyncSocketModeHandler(
            self.bolt, self.config.app_token, web_client=web_client, ping_interval=self.config.socket_ping_seconds
        )

        async def connect() -> None:
            assert self.socket is not None
            await self.socket.connect_async()  # retries until connected or closed
            log.info("slack: Socket Mode connected")

        self._socket_task = asyncio.create_task(connect(), name="slack-socket-mode")

    async def _stop_socket(self) -> None:
        if self.socket is None:
            return
        try:
            await self.socket.close_async()
        except Exception:
            log.exception("slack: closing the Socket Mode connection failed")
        if self._socket_task is not None and not self._socket_task.done():
            self._socket_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._socket_task
        self.socket = self._socket_task = None

    async def drain(self, within: float | None = None) -> None:
        """Wait until the work started after acks is done (shutdown, tests)."""
        await self.edge.drain(within)

    def routes(self) -> list[web.RouteDef]:
        return self.http.routes()

    async def _installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        """A workspace installed Ritme through OAuth: its teams are active again."""
        installation = args.installation
        workspace_id = str(
            (installation.enterprise_id if installation.is_enterprise_install else None) or installation.team_id or ""
        )
        self.tokens.forget(workspace_id)
        try:
            await self.inbound.installed(workspace_id)
        except Exception:
            log.exception("slack: reactivating the teams of workspace %s failed", workspace_id)
        log.info("slack: installed in workspace %s by %s", workspace_id, installation.user_id)
        return await args.default.success(args)


async def _default_failure(args: AsyncFailureArgs) -> BoltResponse:
    return await args.default.failure(args)


SLACK_ADAPTER = web.AppKey("slack_adapter", SlackAdapter)
