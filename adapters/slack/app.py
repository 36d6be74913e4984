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

Cross-cutting concerns live at the edge. ``handle`` checks the signature first (bad or
stale signatures get 401 before anything runs; only Slack's unsigned ``ssl_check`` probe
passes, for bolt to answer), and that it was not taken before: the same signed request sent
again within its five minutes gets 401 too (``adapters.slack.replays``; one record per
process). Then that bolt can read the body: UTF-8, JSON or a form, and a
payload whose fields bolt and the listeners read have the JSON types Slack sends and name
who sent it from where (a command's user, team and channel; an interaction's user and team;
an event's team: ``payload_problem``). Anything else gets a short 400 before bolt sees it, so
a malformed payload changes nothing. Then bolt middleware (bolt's own request verification is
off: ours came first), ``_dedupe`` that acks and drops a Slack retry (``X-Slack-Retry-Num``,
a new request with its own signature) of a request already handled. Ids read back from
payloads (a button's value, a modal's metadata) are bounded to the database's signed 64-bit
range; one beyond it is an occurrence that does not exist.

Every ``AsyncWebClient`` (ours and the per-request one bolt makes) shares one
``aiohttp.ClientSession``, opened and closed by ``lifecycle``. Every Web API call carries
the workspace's own token (``Tokens``): the configured ``SLACK_BOT_TOKEN``, or with OAuth
(``SLACK_CLIENT_ID``) the token saved when the workspace installed Ritme. With OAuth, bolt
serves ``GET /slack/install`` (a redirect to Slack's consent page, with a ``state`` kept in
the database) and ``GET /slack/oauth_redirect`` (the code is exchanged at ``oauth.v2.access``
on ``SLACK_API_URL``'s host and the installation saved through the installation store), and
authorizes each request by the installation store. The person who installed Ritme counts
as a workspace admin (``is_platform_admin``) in the workspace's teams.

``app_uninstalled`` and ``tokens_revoked`` (bot tokens) disable the workspace before they
are acked: from then on nothing is sent there (the platform refuses with ``not_installed``)
and its rituals are paused. A new OAuth install, or with a configured token any signed
request from the workspace, enables it again (the rituals stay paused until resumed).

With ``SLACK_APP_TOKEN`` the same bolt app also takes requests over Socket Mode: bolt's
aiohttp ``AsyncSocketModeHandler`` connects in the background when the app starts (so an
unreachable Slack does not stop the start-up) and is closed first on the way out.

Before ``appreciation start`` runs, the channel's human members (``conversations.members``
minus bots and deleted accounts) are added to the team, so that the round's roster, and
with it the direct messages, covers everyone in the channel.

A command that names someone by mention (``role add leader @anna``, ``pairs exclude @anna``)
asks ``users.info`` who that is first: nobody, a bot or a deactivated account is refused in
the team's language (a role may still be taken away), and a person goes into the command
under the name Slack shows, as every other path names people.

Files (``adapters.slack.files``): a calendar shared in a message whose words are
``holiday import`` is downloaded with the bot token and handed to the command; the answer
is ephemeral. ``export`` also posts the CSV, into the admin's direct messages with Ritme
(``files_upload_v2``), and keeps the link in its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    async_default_handlers,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from yarl import URL

from adapters.slack.blocks import (
    ANSWER_ACTION,
    MODAL_CALLBACK,
    SCALE_ACTION,
    block_id,
    clip,
    first_input_block,
    form_title,
    modal_view,
    notice_blocks,
    notice_text,
    notice_view,
    refused_input,
    thread_input,
    view_values,
)
from adapters.slack.config import SlackConfig
from adapters.slack.files import (
    MAX_FILE_BYTES,
    ExportFile,
    FileError,
    SharedFile,
    download,
    message_text,
    named_channel,
    shared_file,
    shared_files,
)
from adapters.slack.installs import Installations, NotInstalled, Tokens
from adapters.slack.manifest import BOT_SCOPES
from adapters.slack.pacing import ChannelPacer
from adapters.slack.people import People
from adapters.slack.platform import APPRECIATION, PLATFORM, PlatformHooks, SlackPlatform
from adapters.slack.replays import SeenSignatures
from rituals.i18n import LANGUAGES, translator
from rituals.ports import Inbound
from rituals.types import DB_IDS, Actor, ChannelRef, Notice, Prompt

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@([A-Za-z0-9._:-]+)(?:\|([^>]*))?>")  # how Slack escapes @name in a command


@dataclass(frozen=True, kw_only=True, slots=True)
class PromptInfo:
    """A prompt as it stands now, with its team's language and channel."""

    prompt: Prompt
    language: str
    channel: ChannelRef


class SlackInbound(Inbound, PlatformHooks, Protocol):
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

    async def installed(self, workspace_id: str) -> None:
        """The app was (re)installed in the workspace: its teams are active again."""
        ...

    async def wants_channel_members(self, text: str) -> bool:
        """Whether this command needs the channel's members in the team first
        (``appreciation start``: the round's roster is everyone in the channel)."""
        ...

    async def sync_members(self, channel: ChannelRef, members: list[tuple[str, str]], *, channel_name: str = "") -> int:
        """The channel's complete list of people, (user id, display name): newcomers join its
        team, people no longer in it leave; returns how many are in."""
        ...

    async def joined(self, channel: ChannelRef, people: list[Actor]) -> None:
        """People joined the channel of a known team: its rituals invite them from now on."""
        ...

    async def left(self, channel: ChannelRef, user_ids: list[str]) -> None:
        """People left the channel: no more prompts, reminders or rounds for them there."""
        ...

    async def home(self, actor: Actor) -> list[Notice]:
        """What the member's App Home shows, one notice per team."""
        ...

    async def file_how_to(self, actor: Actor, channel: ChannelRef, text: str, *, channel_name: str = "") -> Notice | None:
        """For a slash command that needs a file (``holiday import``) from someone allowed to
        run it: how to share the file instead. None for anything else."""
        ...

    async def file_command(self, text: str) -> bool:
        """Whether a message sharing files with these words is a command that takes them
        (``holiday import``)."""
        ...

    async def person_named(self, actor: Actor, channel: ChannelRef, text: str) -> tuple[str, str] | None:
        """(command name, the person as written) for a command naming someone that the actor
        may run (``role add leader @anna``); None for any other. Writes nothing."""
        ...

    async def export_file(self, actor: Actor, channel: ChannelRef, text: str) -> ExportFile | None:
        """For ``export`` by an admin of the channel's team: its answers as a CSV file;
        None for any other command or person."""
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
    return body_key(req.raw_body or json.dumps(body, sort_keys=True, default=str))  # Socket Mode: no raw body


def body_key(raw: str) -> str:
    return "body:" + hashlib.sha256(raw.encode()).hexdigest()


def workspace_of(payload: dict[str, Any]) -> str:
    """The workspace an interaction comes from: ``team.id``, else ``user.team_id``."""
    return str((payload.get("team") or {}).get("id") or (payload.get("user") or {}).get("team_id") or "")


def is_answer_form(payload: dict[str, Any]) -> bool:
    """A member submitting Ritme's answer form (``view_submission``)."""
    view = payload.get("view")
    return payload.get("type") == "view_submission" and isinstance(view, dict) and view.get("callback_id") == MODAL_CALLBACK


# -- bodies bolt can read ---------------------------------------------------------------


_ID = (str, type(None))
_OBJECT = (dict, type(None))
_LIST = (list, type(None))
# What bolt reads into a request's context, at the top of a payload and in the objects it
# looks into (``_NESTED``), with the JSON types it assumes: any other type raises inside bolt.
_CONTEXT_FIELDS: dict[str, tuple[type, ...]] = {
    "type": _ID, "team_id": _ID, "user_id": _ID, "channel_id": _ID, "enterprise_id": _ID, "thread_ts": _ID,
    "function_execution_id": _ID, "bot_access_token": _ID,
    "team": (str, dict, type(None)), "user": (str, dict, type(None)), "enterprise": (str, dict, type(None)),
    "channel": (str, dict, type(None)),
    "event": (dict,), "message": _OBJECT, "previous_message": _OBJECT, "item": _OBJECT,
    "assistant_thread": _OBJECT, "authorizations": _LIST,
}
_HOLDERS = ("team", "user", "enterprise", "channel")  # a string id, or an object carrying one
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")
_INTERACTIONS = ("block_actions", "view_submission", "view_closed")  # the listeners read their parts as objects
_MAX_DEPTH = 4  # Slack nests these objects two deep (event.message)


class BadBody(ValueError):
    """A request body bolt cannot read; the message is the 400's body."""


def ssl_check(raw: bytes) -> bool:
    """Slack's unsigned probe of a slash command's URL (``ssl_check=1``): bolt answers it."""
    return b"ssl_check=1" in raw and parse_qs(raw.decode("utf-8", "replace")).get("ssl_check") == ["1"]


def readable_body(raw: bytes, content_type: str | None) -> tuple[str, dict[str, Any]]:
    """The body as the text bolt parses, and what bolt's own ``parse_body`` reads in it;
    ``BadBody`` when bolt or the listeners could not read what it holds."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise BadBody("body is not UTF-8") from None
    media_type = content_type.split(";")[0] if content_type else None
    form_payload = text.startswith("payload=") or "&payload=" in text  # a key: '&' and '=' in values are encoded
    if "payload" in text and media_type != "application/json" and not text.startswith("{") and not form_payload:
        # A slash command whose words contain "payload": bolt's parser would take the form for
        # an interactive payload and read nothing. The same form, that word percent-encoded.
        text = text.replace("payload", "p%61yload")
    try:
        payload = interaction_payload(text) if media_type != "application/json" else None
        if payload is None:
            payload = parse_body(text, media_type)
    except (ValueError, RecursionError):
        raise BadBody("body is neither JSON nor a form with a JSON payload") from None
    problem = payload_problem(payload)
    if problem:
        raise BadBody(problem)
    return text, payload


def interaction_payload(text: str) -> Any:
    """An interaction as Slack sends it, a form whose one field ``payload`` holds JSON, read
    as bolt's ``parse_body`` reads it but unquoted by yarl (aiohttp's URL library, in C):
    an eighth of the time urllib takes for the same text, which was a tenth of the answer
    form's ack. None for any other body: bolt's parser reads those."""
    if not text.startswith("payload=") or "&" in text:
        return None
    fields = URL.build(query_string=text, encoded=True).query  # read as is, unquoted by .query
    return json.loads(fields["payload"]) if list(fields) == ["payload"] else None


class ParsedBoltRequest(AsyncBoltRequest):
    """A bolt request whose body ``readable_body`` has parsed already, with bolt's own
    parser: an interaction is a URL-encoded JSON document, and reading it twice cost about a
    tenth of the event loop under load (bench/answers.py)."""

    def __init__(self, *, text: str, payload: dict[str, Any], query: str, headers: dict[str, str]) -> None:
        super().__init__(body="", query=query, headers=headers)
        self.raw_body, self.body = text, payload
        self.context = build_async_context(AsyncBoltContext({}), payload)


def payload_problem(payload: object) -> str | None:
    """Why bolt or the listeners could not read a payload; None when they can.

    Only what they read is checked, and only its JSON type, so a payload of the shape Slack
    sends passes whatever else it carries."""
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    problem = _context_problem(payload, "payload", 0)
    if problem:
        return problem
    kind = payload.get("type")
    event = payload.get("event")
    if kind == "event_callback" and event is None:
        return "payload.event is missing"
    if event is not None and not (isinstance(event.get("type"), str) and isinstance(event.get("files"), _LIST)):
        return "payload.event has the wrong shape"
    if kind in _INTERACTIONS and not (isinstance(payload.get("user"), dict)
                                      and isinstance(payload.get("team"), _OBJECT)
                                      and isinstance(payload.get("channel"), _OBJECT)):
        return "payload.user, .team and .channel must be objects"
    problem = _whose_problem(payload)
    if problem:
        return problem
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions or not all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) and isinstance(a.get("value"), _ID)
            for a in actions
        ):
            return "payload.actions must be a list of actions"
    if kind in ("view_submission", "view_closed") and "view" not in payload:
        return "payload.view is missing"
    if "view" in payload and not _view_readable(payload["view"]):
        return "payload.view has the wrong shape"
    urls = payload.get("response_urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, dict) for u in urls):
        return "payload.response_urls must be a list of objects"
    return None


def _given(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _whose_problem(payload: dict[str, Any]) -> str | None:
    """Who sent it and from where, as the listeners read it: a slash command's user, team and
    channel; an interaction's user and team (``team.id``, else ``user.team_id``); an event's
    team. Without them a member or team would be written with an empty id."""
    if "command" in payload and payload.get("ssl_check") != "1":  # a slash command, as bolt tells one
        missing = [key for key in ("user_id", "team_id", "channel_id") if not _given(payload.get(key))]
        return "command without " + ", ".join(missing) if missing else None
    kind = payload.get("type")
    if kind in _INTERACTIONS:
        user, team = payload["user"], payload.get("team") or {}
        if not _given(user.get("id")):
            return "payload.user.id is missing"
        if not (_given(team.get("id")) or _given(user.get("team_id"))):
            return "payload.team.id is missing"
    if kind == "event_callback" and not _given(payload.get("team_id")):
        return "payload.team_id is missing"
    return None


def _context_problem(obj: dict[str, Any], where: str, depth: int) -> str | None:
    if depth > _MAX_DEPTH:
        return f"{where} is nested too deeply"
    for key, types in _CONTEXT_FIELDS.items():
        if key in obj and not isinstance(obj[key], types):
            return f"{where}.{key} has the wrong type"
    for key in _HOLDERS:
        holder = obj.get(key)
        if isinstance(holder, dict) and not all(isinstance(holder.get(f), _ID) for f in ("id", "team_id", "enterprise_id")):
            return f"{where}.{key} has an id that is not a string"
    inner = [(f"{where}.{key}", obj[key]) for key in _NESTED if isinstance(obj.get(key), dict)]
    for i, item in enumerate(obj.get("authorizations") or []):
        if not isinstance(item, dict):
            return f"{where}.authorizations must be a list of objects"
        inner.append((f"{where}.authorizations[{i}]", item))
    for name, nested in inner:
        problem = _context_problem(nested, name, depth + 1)
        if problem:
            return problem
    return None


def _view_readable(view: object) -> bool:
    """A view as bolt and the modal's listener read it: type, metadata, blocks and the
    submitted state."""
    if not isinstance(view, dict) or not isinstance(view.get("type"), str):
        return False
    if not all(isinstance(view.get(key), _ID) for key in ("private_metadata", "team_id", "app_installed_team_id")):
        return False
    blocks, state = view.get("blocks"), view.get("state")
    if not isinstance(blocks, _LIST) or not all(isinstance(b, dict) for b in blocks or []):
        return False
    if not isinstance(state, _OBJECT) or not isinstance(values := (state or {}).get("values"), _OBJECT):
        return False
    for actions in (values or {}).values():
        if not isinstance(actions, _OBJECT):
            return False
        for element in (actions or {}).values():
            if not isinstance(element, _OBJECT):
                return False
            element = element or {}
            picked = element.get("selected_options")
            if not (isinstance(element.get("value"), _ID) and isinstance(element.get("selected_option"), _OBJECT)
                    and isinstance(picked, _LIST) and all(isinstance(o, dict) for o in picked or [])):
                return False
    return True


UNINSTALL_EVENTS = ("app_uninstalled", "tokens_revoked")


class SlackAdapter:
    """Builds the bolt app, the ``Platform`` and the aiohttp routes for one Slack app."""

    def __init__(self, config: SlackConfig, inbound: SlackInbound, *, installations: Installations | None = None,
                 state_store: AsyncOAuthStateStore | None = None) -> None:
        self.config = config
        self.inbound = inbound
        self.session: aiohttp.ClientSession | None = None
        self.tokens = Tokens(bot_token=None if config.oauth else config.bot_token, installations=installations,
                             ttl=config.install_cache_seconds)
        self.client = AsyncWebClient(
            token=None if config.oauth else config.bot_token,
            base_url=config.api_base,
            retry_handlers=[*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
        )
        self.people = People(self._api, cache_seconds=config.user_cache_seconds)
        self.platform = SlackPlatform(self.client, inbound, self.tokens, ChannelPacer(config.pace_seconds))
        self.tasks: set[asyncio.Task[None]] = set()
        self.seen = SeenRequests(config.dedupe_size)
        # Without a signing secret (Socket Mode only) no HTTP request may ever verify: an
        # unguessable secret, never an empty one (an empty HMAC key is anybody's key).
        signing_secret = config.signing_secret or secrets.token_hex(32)
        self.verifier = SignatureVerifier(signing_secret)
        # Signatures already taken, against replays; in this process only (see adapters.slack.replays:
        # with several replicas a replay that reaches another replica than the original is not seen).
        self.signatures = SeenSignatures(config.replay_size)
        if config.oauth:
            if not isinstance(installations, AsyncInstallationStore) or state_store is None:
                raise ValueError("Slack OAuth needs an installation store and an OAuth state store")
            oauth = AsyncOAuthSettings(
                client_id=config.client_id, client_secret=config.client_secret,
                scopes=[scope for scope, _why in BOT_SCOPES], redirect_uri=config.redirect_url,
                install_path="/slack/install", redirect_uri_path="/slack/oauth_redirect",
                install_page_rendering_enabled=False, authorization_url=config.authorize_url,
                installation_store=installations, installation_store_bot_only=True, state_store=state_store,
                callback_options=AsyncCallbackOptions(success=self._installed, failure=_default_failure),
            )
            authorize = oauth.authorize
            if hasattr(authorize, "cache_enabled"):
                authorize.cache_enabled = True  # one auth.test per token and process, not per request
            self.bolt = AsyncApp(client=self.client, signing_secret=signing_secret, oauth_settings=oauth,
                                 process_before_response=True, request_verification_enabled=False, name="ritme")
        else:
            self.bolt = AsyncApp(client=self.client, signing_secret=signing_secret, process_before_response=True,
                                 request_verification_enabled=False, name="ritme")
        # Signatures are checked in ``handle`` before bolt sees a request (HTTP); Socket Mode
        # messages come over the authenticated WebSocket and carry none.
        self.socket: AsyncSocketModeHandler | None = None
        self._socket_task: asyncio.Task[None] | None = None
        self._register()

    # -- lifecycle and HTTP -------------------------------------------------------------

    @asynccontextmanager
    async def lifecycle(self) -> AsyncIterator[None]:
        """Open the shared HTTP session and (Socket Mode) the WebSocket; on the way out close
        the WebSocket, finish pending work, then close the session."""
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self.client.session = self.session
        try:
            if self.config.socket_mode:
                self._start_socket()
            yield
        finally:
            await self._stop_socket()
            await self.drain(within=10)
            self.client.session = None
            await self.session.close()
            self.session = None

    def _start_socket(self) -> None:
        assert self.config.app_token
        web_client = AsyncWebClient(token=self.config.app_token, base_url=self.config.api_base)
        self.socket = AsyncSocketModeHandler(self.bolt, self.config.app_token, web_client=web_client,
                                             ping_interval=self.config.socket_ping_seconds)

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

    async def handle(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: everything Slack sends over HTTP comes through here.

        The signature first: without a valid one, 401 (Slack's unsigned ``ssl_check`` probe
        excepted: bolt answers it); a valid one seen before is a replay, 401 too. Then a body
        bolt cannot read gets a short 400 before bolt sees it, so nothing runs and nothing
        changes."""
        raw = await request.read()
        headers = {name.lower(): value for name, value in request.headers.items()}
        if not self._signed(raw, headers):
            if not ssl_check(raw):
                return web.json_response({"error": "invalid request"}, status=401)  # as bolt answers
        elif not self._first_time(headers):
            log.warning("slack: a signed request sent again (same signature) refused")
            # 401 as for a stale signature: the request is no longer good. Slack itself never sees it (its
            # retries are signed anew); should it ever, X-Slack-No-Retry stops it from sending it again.
            return web.json_response({"error": "invalid request"}, status=401, headers={"X-Slack-No-Retry": "1"})
        try:
            text, payload = readable_body(raw, headers.get("content-type"))
        except BadBody as err:
            log.info("slack: signed request refused: %s", err)
            return web.Response(status=400, text=str(err))
        if is_answer_form(payload):
            return await self._answer_form(text, payload, headers)
        bolt_request = ParsedBoltRequest(text=text, payload=payload, query=request.query_string, headers=headers)
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def _answer_form(self, text: str, payload: dict[str, Any], headers: dict[str, str]) -> web.Response:
        """A submitted answer form over HTTP, answered without bolt's dispatch. It needs
        nothing bolt adds to a request (no token, no Web API call: the answer is stored and
        confirmed inside the ack), and the dispatch cost as much CPU as everything else in
        the ack together (bench/answers.py); retries and a returning workspace are handled
        as bolt's middleware here handles them. Over Socket Mode the same answer goes
        through bolt (``_on_view_submission``)."""
        if self._handled_already(body_key(text), headers.get("x-slack-retry-num")):
            return web.Response(status=200)
        workspace_id = workspace_of(payload)
        if not await self._installed_in(workspace_id):
            return web.json_response({"error": "not installed"}, status=401)
        await self._workspace_seen(workspace_id)
        reply = await self._form_reply(payload)
        return web.json_response(reply) if reply else web.Response(status=200)

    async def _installed_in(self, workspace_id: str) -> bool:
        """With OAuth, as bolt's authorization asks: has the workspace an installation that
        is not disabled (cached, see ``Tokens``)? With a configured token, every workspace
        that signs with the app's secret may answer."""
        if not self.tokens.multi_workspace:
            return True
        try:
            await self.tokens.token(workspace_id)
        except NotInstalled:
            log.info("slack: answer form from workspace %s, where Ritme is not installed, refused", workspace_id)
            return False
        except Exception as err:
            log.warning("slack: installation lookup failed: %r", err)
            return False
        return True

    def _signed(self, raw: bytes, headers: dict[str, str]) -> bool:
        """Slack's ``v0`` signature of the body as received, made within five minutes
        (slack_sdk's verifier). The one check: bolt's own is off, because the text bolt is
        given may be re-encoded (``readable_body``)."""
        timestamp = headers.get("x-slack-request-timestamp", "")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False  # the verifier would raise on it
        try:
            body = raw.decode()
        except UnicodeDecodeError:
            return False  # Slack signs UTF-8 text; nothing else can carry its signature
        return self.verifier.is_valid(body, timestamp, headers.get("x-slack-signature", ""))

    def _first_time(self, headers: dict[str, str]) -> bool:
        """Whether this verified signature is new: a request Slack signed is taken once
        (``adapters.slack.replays``). No await between the check and the record: two copies
        arriving together cannot both pass."""
        return self.signatures.first(headers["x-slack-signature"], int(headers["x-slack-request-timestamp"]),
                                     self.verifier.clock.now())

    async def install(self, request: web.Request) -> web.Response:
        """``GET /slack/install``: off to Slack's consent page, with a fresh state."""
        assert self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_installation(await to_bolt_request(request)))

    async def oauth_redirect(self, request: web.Request) -> web.Response:
        """``GET /slack/oauth_redirect``: Slack sends the browser back with a code."""
        assert self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_callback(await to_bolt_request(request)))

    def routes(self) -> list[web.RouteDef]:
        routes = [web.post("/slack/events", self.handle)]
        if self.bolt.oauth_flow is not None:
            routes += [web.get("/slack/install", self.install), web.get("/slack/oauth_redirect", self.oauth_redirect)]
        return routes

    async def _installed(self, args: AsyncSuccessArgs) -> BoltResponse:
        """A workspace installed Ritme through OAuth: its teams are active again."""
        installation = args.installation
        workspace_id = str((installation.enterprise_id if installation.is_enterprise_install else None)
                           or installation.team_id or "")
        self.tokens.forget(workspace_id)
        try:
            await self.inbound.installed(workspace_id)
        except Exception:
            log.exception("slack: reactivating the teams of workspace %s failed", workspace_id)
        log.info("slack: installed in workspace %s by %s", workspace_id, installation.user_id)
        return await args.default.success(args)

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

    async def _api(self, team_id: str, method: str, *, errors: bool = False, **params: Any) -> dict[str, Any] | None:
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

    async def _actor(self, team_id: str, user_id: str, fallback_name: str = "", *, known: bool = False) -> Actor:
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
        return Actor(platform=PLATFORM, workspace_id=team_id, user_id=user_id, display_name=name, is_platform_admin=admin)

    async def _ephemeral(self, team_id: str, channel_id: str, user_id: str, text: str, thread_ts: str | None = None) -> None:
        if channel_id:
            await self._api(team_id, "chat.postEphemeral", channel=channel_id, user=user_id, text=text,
                            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000] or " "}}],
                            thread_ts=thread_ts)

    # -- listeners ------------------------------------------------------------------

    def _register(self) -> None:
        app = self.bolt
        app.use(self._dedupe)
        app.use(self._came_back)
        app.command("/ritme")(self._on_command)
        app.action(ANSWER_ACTION)(self._on_answer_button)
        app.action({"type": "block_actions", "action_id": re.compile(re.escape(SCALE_ACTION) + r"[1-5]")})(self._on_scale_button)
        app.view(MODAL_CALLBACK)(self._on_view_submission)
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_ignored_event)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.event("tokens_revoked")(self._on_uninstalled)
        app.event("member_joined_channel")(self._on_member_joined)
        app.event("member_left_channel")(self._on_member_left)

    async def _dedupe(self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        """Ack and drop a retried request that was handled already (runs after verification)."""
        retry = req.headers.get("x-slack-retry-num")
        if self._handled_already(request_key(req), retry[0] if retry else None):
            return BoltResponse(status=200, body="")
        return await next()

    def _handled_already(self, key: str, retry: str | None) -> bool:
        """A retry (Slack says so) of a request seen before."""
        if not self.seen.add(key) and retry:
            log.info("slack: retry %s of a handled request ignored", retry)
            return True
        return False

    async def _came_back(self, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse | None:
        body = req.body if isinstance(req.body, dict) else {}
        event_type = str((body.get("event") or {}).get("type", "")) if isinstance(body.get("event"), dict) else ""
        if event_type not in UNINSTALL_EVENTS:
            await self._workspace_seen(req.context.team_id or "")
        return await next()

    async def _workspace_seen(self, team_id: str) -> None:
        """With a configured token, a signed request from a disabled workspace means the app
        was installed there again: speak to it again (OAuth installs re-enable on save)."""
        if team_id and not self.tokens.multi_workspace:
            try:
                if await self.tokens.came_back(team_id):
                    log.warning("slack: workspace %s is back; its rituals stay paused until resumed", team_id)
                    await self.inbound.installed(team_id)
            except Exception:
                log.exception("slack: re-enabling workspace %s failed", team_id)

    async def _on_command(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._run_command(body))

    async def _run_command(self, body: dict[str, Any]) -> None:
        team_id, user_id = str(body.get("team_id", "")), str(body.get("user_id", ""))
        channel_id, channel_name = str(body.get("channel_id", "")), str(body.get("channel_name", ""))
        text = str(body.get("text", "")).strip()
        actor = await self._actor(team_id, user_id, str(body.get("user_name", "")))
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        if channel_name == "directmessage" or channel_id.startswith("D"):  # a direct message is no team
            notice = await self.inbound.command(actor, channel, text, personal=True)
            await self._reply(team_id, body.get("response_url"), channel_id, user_id, notice)
            return
        if await self.inbound.wants_channel_members(text):
            humans = await self.people.channel_humans(team_id, channel_id)
            if humans is None:
                log.warning("slack: members of %s unknown; the round asks the team's known members", channel_id)
            else:
                await self.inbound.sync_members(channel, [(u.id, u.name) for u in humans], channel_name=channel_name)
        how_to = await self.inbound.file_how_to(actor, channel, text, channel_name=channel_name)
        if how_to is not None:  # a slash command cannot carry the file
            await self._reply(team_id, body.get("response_url"), channel_id, user_id, how_to)
            return
        text, refusal = await self._named_person(actor, channel, text)
        if refusal is not None:
            await self._reply(team_id, body.get("response_url"), channel_id, user_id, refusal)
            return
        notice = await self.inbound.command(actor, channel, text, channel_name=channel_name)
        export = await self.inbound.export_file(actor, channel, text)
        if export is not None:
            notice = await self._post_export(team_id, user_id, channel, export, notice)
        await self._reply(team_id, body.get("response_url"), channel_id, user_id, notice)

    async def _named_person(self, actor: Actor, channel: ChannelRef, text: str) -> tuple[str, Notice | None]:
        """A command that names someone by a mention (``role add leader @anna``): Slack says
        who that is. An id Slack knows no one by is refused, and so are a bot and a
        deactivated account, except to take a role away; anyone else goes into the command
        under the name Slack shows (the mention carries only the handle). Returns the words
        to run and the refusal, if any. When Slack does not answer, the command decides."""
        if "<@" not in text:
            return text, None
        named = await self.inbound.person_named(actor, channel, text)
        mention = MENTION.fullmatch(named[1].strip()) if named else None
        if named is None or mention is None:
            return text, None
        command, user_id = named[0], mention.group(1)
        user = await self.people.user(channel.workspace_id, user_id)
        if user is None:
            return text, None
        _ = translator(await self.inbound.language_of(channel))
        if not user.found:
            reason = _("Slack knows nobody as {who} in this workspace. Mention a colleague, e.g. @anna.",
                       who=clip(mention.group(2) or user_id, 60))
        elif user.bot and command != "role remove":
            reason = _("{name} is a bot. Only people can be named here: mention a colleague, e.g. @anna.",
                       name=clip(user.name or user_id, 60))
        elif user.deleted and command != "role remove":
            reason = _("{name} no longer has an account in this workspace.", name=clip(user.name or user_id, 60))
        else:
            name = re.sub(r"[<>|]", "", user.name).strip()
            return (text.replace(mention.group(0), f"<@{user_id}|{name}>", 1) if name else text), None
        example = "role add leader @anna" if command.startswith("role") else "pairs exclude @anna"
        return text, Notice(title=_("That did not work"), text=reason,
                            footer=_("For example: /ritme {example}", example=example))

    async def _post_export(self, team_id: str, user_id: str, channel: ChannelRef, export: ExportFile,
                           notice: Notice) -> Notice:
        """Post the CSV into the admin's direct messages with Ritme, not the channel: it may
        hold answers that members were told only a summary of is shared. The answer keeps
        the link."""
        _ = translator(await self.inbound.language_of(channel))
        if await self._upload_to_dm(team_id, user_id, export):
            line = _("The CSV file is in your direct messages with Ritme.")
        else:
            line = _("Posting the CSV file failed; the link below gives the same file.")
        return replace(notice, text=line + "\n" + notice.text)

    async def _upload_to_dm(self, team_id: str, user_id: str, export: ExportFile) -> bool:
        """``files_upload_v2`` into the DM with ``user_id`` (scopes ``im:write``, ``files:write``)."""
        opened = await self._api(team_id, "conversations.open", users=user_id)
        dm = str(((opened or {}).get("channel") or {}).get("id") or "")
        if not dm:
            return False
        try:
            token = await self.tokens.token(team_id)
            await self.client.files_upload_v2(channel=dm, filename=export.name, title=export.name,
                                              content=export.content, initial_comment=export.comment, token=token)
        except (NotInstalled, SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as err:
            log.warning("slack: posting the export of workspace %s failed: %s", team_id,
                        getattr(err, "response", None) or repr(err))
            return False
        return True

    async def _reply(self, team_id: str, response_url: Any, channel_id: str, user_id: str, notice: Notice) -> None:
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
        await self._api(team_id, "chat.postEphemeral", channel=channel_id, user=user_id, text=text, blocks=blocks)

    async def _on_answer_button(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._open_modal(body))

    async def _open_modal(self, body: dict[str, Any]) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id", ""))
        team_id = workspace_of(body)
        channel_id = str((body.get("channel") or {}).get("id", ""))
        try:
            occurrence_id = int((body.get("actions") or [{}])[0].get("value", ""))
        except (TypeError, ValueError):
            return
        info = await self.inbound.prompt(occurrence_id) if occurrence_id in DB_IDS else None
        if info is None or info.prompt.closed:
            _ = translator(info.language if info else "en")
            await self._ephemeral(team_id, channel_id, user_id, _("This round has closed; answers are no longer taken."))
            return
        initial: dict[str, str] = {}
        if info.prompt.kind == APPRECIATION:
            colleague = await self.inbound.assigned_colleague(occurrence_id, team_id, user_id)
            if colleague:
                initial["colleague"] = colleague[0]
        view = modal_view(info.prompt, channel_id or info.channel.channel_id, translator(info.language), initial)
        await self._api(team_id, "views.open", trigger_id=body.get("trigger_id"), view=view)
        await self.people.user(team_id, user_id)  # the name the submission is stored under, looked up now

    async def _on_scale_button(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        self.spawn(self._scale_answer(body))

    async def _scale_answer(self, body: dict[str, Any]) -> None:
        user = body.get("user") or {}
        team_id = workspace_of(body)
        channel_id = str((body.get("channel") or {}).get("id", ""))
        try:
            value = json.loads((body.get("actions") or [{}])[0].get("value", ""))
            occurrence_id, key, score = int(value["o"]), str(value["k"]), int(value["v"])
        except (TypeError, ValueError, KeyError, OverflowError, RecursionError):
            return
        actor = await self._actor(team_id, str(user.get("id", "")), str(user.get("username") or user.get("name") or ""))
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        _ok, message = await self._answer(actor, channel, occurrence_id, {key: score})
        await self._ephemeral(team_id, channel_id, actor.user_id, message)

    async def _on_view_submission(self, ack: Any, body: dict[str, Any]) -> None:
        """The answer form over Socket Mode (over HTTP ``_answer_form`` takes it)."""
        await ack(**(await self._form_reply(body) or {}))

    async def _form_reply(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Store the answer inside the ack, and what the ack says: a refusal comes back in
        the form; a stored answer's confirmation takes the form's place, seen where the
        member answered, with no Web API call (an ephemeral message cost a sixth of the event
        loop under load). The person is named as everywhere else (``users.info``; the name
        looked up when the form opened, see ``_actor``). None: an empty ack."""
        user, view = body.get("user") or {}, body.get("view") or {}
        team_id = workspace_of(body)
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            occurrence_id, channel_id = int(meta["o"]), str(meta.get("c", ""))
        except (TypeError, ValueError, KeyError, OverflowError, RecursionError):
            return None
        actor = await self._actor(team_id, str(user.get("id", "")), str(user.get("name") or user.get("username") or ""),
                                  known=True)
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        values = view_values(view)
        ok, message = await self._answer(actor, channel, occurrence_id, values)
        if not ok and any(b.get("type") == "input" for b in view.get("blocks") or []):
            return await self._refusal(view, occurrence_id, channel, values, message)
        return {"response_action": "update", "view": notice_view(form_title(view), message, translator(
            meta["l"] if meta.get("l") in LANGUAGES else await self._language_of(channel) or "en"))}

    async def _language_of(self, channel: ChannelRef) -> str | None:
        """The team's language; None (the default) when the database cannot say just now,
        e.g. after the answer was stored: the confirmation is still shown."""
        try:
            return await self.inbound.language_of(channel)
        except Exception as err:
            log.warning("slack: the language of %s could not be read: %r", channel.channel_id, err)
            return None

    async def _refusal(self, view: dict[str, Any], occurrence_id: int, channel: ChannelRef, values: dict[str, Any],
                       message: str) -> dict[str, Any]:
        """How the form shows a refused answer. Under the input it is about (as Slack shows a
        required field left empty); a refusal about the round, not the answer (it closed or
        is gone, or the person is not in the team), replaces the form with a short view
        that says so: nothing typed there can change it."""
        info = await self.inbound.prompt(occurrence_id) if occurrence_id in DB_IDS else None
        _ = translator(info.language if info else await self.inbound.language_of(channel))
        about_the_round = {  # the engine's refusals about the round or the person, not the answer
            _("That question no longer exists."),
            _("This round has closed; answers are no longer taken."),
            _("Only the members of this team can answer its questions."),
            _("You have answered already. Anonymous answers cannot be changed."),
        }
        if info is None or info.prompt.closed or message in about_the_round:
            return {"response_action": "update", "view": notice_view(form_title(view), message, _)}
        shown = {str(b.get("block_id")) for b in view.get("blocks") or [] if b.get("type") == "input"}
        item = refused_input(info.prompt.inputs, values)
        block = block_id(item) if item is not None and block_id(item) in shown else first_input_block(view)
        return {"response_action": "errors", "errors": {str(block): clip(message, 150)}}

    async def _answer(self, actor: Actor, channel: ChannelRef, occurrence_id: int,
                      values: dict[str, Any]) -> tuple[bool, str]:
        """``inbound.answer``; an id beyond the database's range is an occurrence that does not
        exist: the member is told so and nothing is stored."""
        if occurrence_id not in DB_IDS:
            _ = translator(await self.inbound.language_of(channel))
            return False, _("That question no longer exists.")
        return await self.inbound.answer(actor, occurrence_id, values, channel)

    async def _on_message(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("subtype") == "file_share" and event.get("files") and event.get("user") and not event.get("bot_id"):
            self.spawn(self._file_message(event, str(body.get("team_id") or event.get("team") or "")))
            return
        if event.get("subtype") == "message_changed" and isinstance(event.get("message"), dict):
            # An edited thread reply is an edited answer: the edit replaces it, as the modal's would.
            event = {**event["message"], "channel": event.get("channel"), "team": event.get("team")}
            if event.get("subtype") or event.get("bot_id") or not event.get("user"):
                return
        elif event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # joins, deletions, bots and this bot itself
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
        if info is not None and info.prompt.anonymous and not info.prompt.closed:
            _ = translator(info.language)
            await self._ephemeral(team_id, channel_id, str(event["user"]), _(
                "This round is anonymous: answer with the buttons on the message, so nobody sees who answered. "
                "Your reply in the thread is not stored; you can delete it."), thread_ts=thread_ts)
            return
        if info is None or item is None:
            return
        text = str(event.get("text") or "").strip()
        if not text:
            return
        actor = await self._actor(team_id, str(event["user"]))
        via = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id)
        _ok, message = await self.inbound.answer(actor, occurrence_id, {item.key: text}, via)
        await self._ephemeral(team_id, channel_id, actor.user_id, message, thread_ts=thread_ts)

    async def _file_message(self, event: dict[str, Any], team_id: str) -> None:
        """Files shared with the words of a command that takes them (``holiday import``):
        run it with the calendars, answer the sender only. In a direct message with Ritme the
        words name the channel (``holiday import #team-a``); without one the command answers
        as any command in a direct message does: it belongs in a team's channel."""
        text = message_text(event)
        named: str | None = None
        if event.get("channel_type") == "im":
            named, text = named_channel(text)
        if not await self.inbound.file_command(text):
            return
        user_id, where = str(event["user"]), str(event.get("channel", ""))
        channel = ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=named or where)
        actor = await self._actor(team_id, user_id)
        try:
            files = await self._fetch_calendars(team_id, shared_files(event))
        except FileError as err:
            _ = translator(await self.inbound.language_of(channel))
            if err.reason == "too_large":
                reason = _("The file {name} is larger than {size} KiB; a calendar of school holidays is much smaller.",
                           name=err.name, size=MAX_FILE_BYTES // 1024)
            else:
                reason = _("Ritme could not download the file {name} from Slack. Share it again, or ask whoever manages the Slack app to grant it files:read.",
                           name=err.name)
            notice = Notice(title=_("That did not work"), text=reason)
        else:
            personal = event.get("channel_type") == "im" and named is None
            notice = await self.inbound.command(actor, channel, text, files=files, personal=personal)
        await self._reply(team_id, None, where, user_id, notice)

    async def _fetch_calendars(self, team_id: str, shared: list[SharedFile]) -> tuple[tuple[str, bytes], ...]:
        """(name, bytes) of the calendar files among ``shared``; ``FileError`` when one of
        them is too large or cannot be read. Other files are left alone."""
        out: list[tuple[str, bytes]] = []
        for file in shared:
            if file.url is None:  # shared from another organisation: only files.info tells
                info = await self._api(team_id, "files.info", file=file.id)
                if not info or not isinstance(info.get("file"), dict):
                    raise FileError("unreadable", file.name or file.id)
                file = shared_file(info["file"])
            if not file.is_calendar:
                continue
            if (file.size or 0) > MAX_FILE_BYTES:
                raise FileError("too_large", file.name)
            if not file.url or self.session is None:
                raise FileError("unreadable", file.name)
            try:
                token = await self.tokens.token(team_id)
            except Exception as err:
                log.warning("slack: no token to download a file in workspace %s: %r", team_id, err)
                raise FileError("unreadable", file.name) from None
            name = file.name if file.name.lower().endswith(".ics") else (file.name or file.id) + ".ics"
            out.append((name, await download(self.session, file.url, token, api_base=self.config.api_base,
                                             name=file.name)))
        return tuple(out)

    async def _on_ignored_event(self, ack: Any) -> None:
        await ack()

    async def _on_member_joined(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("user") and event.get("channel"):
            self.spawn(self._member_joined(str(event.get("team") or body.get("team_id") or ""), str(event["channel"]),
                                           str(event["user"])))

    async def _member_joined(self, team_id: str, channel_id: str, user_id: str) -> None:
        user = await self.people.user(team_id, user_id)
        if user is not None and not user.human:
            return  # bots, this one included, are not invited to rituals
        actor = await self._actor(team_id, user_id)
        await self.inbound.joined(ChannelRef(platform=PLATFORM, workspace_id=team_id, channel_id=channel_id), [actor])

    async def _on_member_left(self, ack: Any, event: dict[str, Any], body: dict[str, Any]) -> None:
        await ack()
        if event.get("user") and event.get("channel"):
            channel = ChannelRef(platform=PLATFORM, workspace_id=str(event.get("team") or body.get("team_id") or ""),
                                 channel_id=str(event["channel"]))
            self.spawn(self.inbound.left(channel, [str(event["user"])]))

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
        await self._api(team_id, "views.publish", user_id=user_id, view={"type": "home", "blocks": blocks[:100]})

    async def _on_uninstalled(self, ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        """Disable the workspace before the ack (so nothing more is sent from now on), then
        pause its rituals. A ``tokens_revoked`` for user tokens only changes nothing: Ritme
        holds none."""
        revoked = event.get("tokens") if event.get("type") == "tokens_revoked" else None
        if isinstance(revoked, dict) and revoked and not revoked.get("bot"):
            await ack()
            return
        workspace_id = str(body.get("team_id") or body.get("enterprise_id") or "")
        await self.tokens.disable(workspace_id)  # a failure here is a 500: Slack tries again
        await ack()
        self.spawn(self._uninstall(workspace_id))

    async def _uninstall(self, team_id: str) -> None:
        paused = await self.inbound.uninstalled(team_id)
        log.warning("slack: app removed from workspace %s; %d rituals paused", team_id, paused)


async def _default_failure(args: AsyncFailureArgs) -> BoltResponse:
    return await args.default.failure(args)


SLACK_ADAPTER = web.AppKey("slack_adapter", SlackAdapter)
