"""A fake Slack: the Web API, the OAuth consent page and Socket Mode, on 127.0.0.1 and a
random port (an aiohttp server in the test's own loop).

Web API: every call is recorded (method, body as a dict, headers) and the methods Ritme
uses answer with plausible data. A call needs a known bot token (``tokens``: token → team;
``xoxb-test`` for the default team), else it answers ``not_authed``. ``fail`` makes the next
N calls of a method answer with a Slack error (``channel_not_found``) or an HTTP 429 with
``Retry-After``. A response_url is served too: ``{url}/respond/{key}`` records a
``response_url`` call.

People: ``admins``, ``bots``, ``deleted`` and ``names`` shape ``users.info``; ``members``
(channel → user ids) is what ``conversations.members`` pages through, ``page_size`` at a
time.

OAuth: ``GET {url}/oauth/v2/authorize`` is Slack's consent page with the user already
agreeing: it redirects to the ``redirect_uri`` with a fresh code and the ``state``, for the
workspace and user in ``installing``. ``oauth.v2.access`` (client id and secret as Basic
auth, as slack_sdk sends them) exchanges the code for a new bot token of that workspace; of
its Enterprise Grid organisation when ``enterprise`` is set and ``org_wide`` is true.

Socket Mode: ``apps.connections.open`` (with an app token in ``app_tokens``) answers a
``ws://127.0.0.1:PORT/link/?ticket=N`` URL served here; ``push`` sends an envelope to the
connected client, ``wait_ack`` returns the client's acknowledgement.

Files: ``add_file`` keeps a file and returns its object as a ``file_share`` message event
carries it; its ``url_private_download`` (``{url}/files-pri/TEAM-ID/download/NAME``) serves
the bytes to a request with a known bot token as Bearer (Slack's sign-in page, HTML, without
it or with ``without_files_read``),
and ``files.info`` describes it. Uploads (``files_upload_v2``): ``files.getUploadURLExternal``
hands out ``{url}/upload/v1/ID``, which takes the bytes (``uploads``), and
``files.completeUploadExternal`` shares them (``shared``: one dict per completed file, with
its channel, title, name and bytes). Every download is a ``download`` call in ``calls``.

Use ``async with FakeSlackApi() as fake:``; point ``SLACK_API_URL`` at ``fake.api_url``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

BOT_USER = "UBOT"
BOT_ID = "BBOT"
CLIENT_ID = "111.222"
CLIENT_SECRET = "client-secret"
APP_TOKEN = "xapp-1-test"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


@dataclass
class Failure:
    method: str
    error: str
    remaining: int
    status: int = 200
    retry_after: int | None = None


class FakeSlackApi:
    """Records calls; answers like Slack would; fails on request."""

    def __init__(self, *, team_id: str = "T1") -> None:
        self.team_id = team_id
        self.calls: list[Call] = []
        self.admins: set[str] = set()
        self.bots: set[str] = {BOT_USER}
        self.deleted: set[str] = set()
        self.names: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self.page_size = 100
        self.failures: list[Failure] = []
        self.tokens: dict[str, str] = {"xoxb-test": team_id}
        self.app_tokens: set[str] = {APP_TOKEN}
        self.installing: tuple[str, str, str] = ("T2", "Second School", "UINSTALLER")  # team, name, user
        # Enterprise Grid: the organisation the installing workspace belongs to, and whether the next
        # install is org-wide (then Slack answers with the organisation and no team).
        self.enterprise: tuple[str, str] | None = None  # (enterprise id, name)
        self.org_wide = False
        self.codes: dict[str, tuple[str, str, str, str]] = {}  # code → (team, name, user, redirect_uri)
        self.sockets: list[web.WebSocketResponse] = []
        self.acks: dict[str, dict[str, Any]] = {}
        self._acked = asyncio.Condition()
        self._connected = asyncio.Event()
        self._ts = itertools.count(1)
        self._issued = itertools.count(1)
        self._token_team = team_id
        self.files: dict[str, dict[str, Any]] = {}  # id → file object (with its bytes under "_content")
        self.uploads: dict[str, dict[str, Any]] = {}  # id → {"filename", "length", "content"}
        self.shared: list[dict[str, Any]] = []
        self.without_files_read = False  # True: downloads get the sign-in page, as without files:read
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/files-pri/{key}/download/{name}", self._download)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/oauth/v2/authorize", self._authorize)
        app.router.add_get("/link/", self._socket)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeSlackApi:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self.sockets):
            await ws.close()
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, key: str = "1") -> str:
        return f"{self.url}/respond/{key}"

    def fail(
        self, method: str, error: str, *, times: int = 1, status: int = 200, retry_after: int | None = None
    ) -> None:
        """The next ``times`` calls of ``method`` fail with ``error`` (HTTP ``status``)."""
        self.failures.append(
            Failure(method=method, error=error, remaining=times, status=status, retry_after=retry_after)
        )

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.text()
        if request.content_type == "application/json":
            return {**dict(request.query), **json.loads(raw or "{}")}
        data: dict[str, Any] = {**dict(request.query), **dict(parse_qsl(raw))}
        for key in ("blocks", "view"):
            if isinstance(data.get(key), str):
                data[key] = json.loads(data[key])
        return data

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(Call(method="response_url", body=await self._body(request)))
        return web.Response(text="ok")

    def _authorized(self, method: str, headers: Any) -> bool:
        auth = str(headers.get("Authorization", ""))
        if method == "oauth.v2.access":
            expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            return auth == f"Basic {expected}"
        token = auth.removeprefix("Bearer ")
        if method == "apps.connections.open":
            return token in self.app_tokens
        if token in self.tokens:
            self._token_team = self.tokens[token]
            return True
        return False

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        self.calls.append(Call(method=method, body=body, headers=dict(request.headers)))
        for failure in self.failures:
            if failure.method == method and failure.remaining > 0:
                failure.remaining -= 1
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        if not self._authorized(method, request.headers):
            return web.json_response({"ok": False, "error": "not_authed"})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        try:
            answer = handler(body)
        except LookupError as err:
            return web.json_response({"ok": False, "error": str(err.args[0])})
        return web.json_response({"ok": True, **answer})

    def _new_ts(self) -> str:
        return f"1700000{next(self._ts):03d}.000100"

    # -- OAuth ------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.Response:
        """Slack's consent page, agreed to at once: back to the app with a code."""
        query = request.query
        if query.get("client_id") != CLIENT_ID or not query.get("redirect_uri"):
            return web.Response(status=400, text="bad client_id or redirect_uri")
        code = uuid.uuid4().hex
        team, name, user = self.installing
        self.codes[code] = (team, name, user, query["redirect_uri"])
        self.calls.append(Call(method="oauth.authorize", body=dict(query)))
        location = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
        raise web.HTTPFound(location)

    def m_oauth_v2_access(self, body: dict[str, Any]) -> dict[str, Any]:
        found = self.codes.pop(str(body.get("code", "")), None)
        if found is None:
            raise LookupError("invalid_code")
        team, name, user, redirect_uri = found
        if body.get("redirect_uri") and body["redirect_uri"] != redirect_uri:
            raise LookupError("bad_redirect_uri")
        enterprise = {"id": self.enterprise[0], "name": self.enterprise[1]} if self.enterprise else None
        org_wide = self.org_wide and enterprise is not None
        token = f"xoxb-{enterprise['id'] if org_wide and enterprise else team}-{next(self._issued)}"
        self.tokens[token] = team
        # An org-wide install names the organisation and no team (https://api.slack.com/enterprise/apps/reference).
        return {
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": BOT_USER,
            "app_id": "A1",
            "team": None if org_wide else {"id": team, "name": name},
            "enterprise": enterprise,
            "is_enterprise_install": org_wide,
            "authed_user": {"id": user},
        }

    # -- Socket Mode ------------------------------------------------------------------

    def m_apps_connections_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.url.replace("http://", "ws://") + f"/link/?ticket={next(self._issued)}"}

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        self._connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                async with self._acked:
                    self.acks[str(data.get("envelope_id"))] = data
                    self._acked.notify_all()
        self.sockets.remove(ws)
        return ws

    async def wait_connected(self) -> None:
        """Until a Socket Mode client is connected (wrap in ``asyncio.timeout``)."""
        await self._connected.wait()

    async def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send an envelope (``slash_commands``, ``interactive``, ``events_api``) to the client."""
        envelope_id = uuid.uuid4().hex
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def wait_ack(self, envelope_id: str) -> dict[str, Any]:
        """The client's acknowledgement of an envelope (wrap in ``asyncio.timeout``)."""
        async with self._acked:
            await self._acked.wait_for(lambda: envelope_id in self.acks)
            return self.acks[envelope_id]

    # -- Web API methods ----------------------------------------------------------------

    def m_auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://school.slack.com/",
            "team": "School",
            "user": "ritme",
            "team_id": self._token_team,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def m_users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user", ""))
        admin = user in self.admins
        name = self.names.get(user, user.lower())
        return {
            "user": {
                "id": user,
                "team_id": self._token_team,
                "name": name,
                "real_name": name.title(),
                "is_admin": admin,
                "is_owner": False,
                "is_bot": user in self.bots,
                "deleted": user in self.deleted,
                "profile": {"display_name": name.title(), "real_name": name.title()},
            }
        }

    def m_chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        ts = self._new_ts()
        return {"channel": body.get("channel"), "ts": ts, "message": {"text": body.get("text"), "ts": ts}}

    def m_chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text")}

    def m_chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._new_ts()}

    def m_views_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"view": {"id": "V1", **(body.get("view") or {})}}

    def m_views_publish(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"view": {"id": "V2", **(body.get("view") or {})}}

    def m_conversations_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": "D" + str(body.get("users", "")).split(",")[0]}}

    def m_conversations_members(self, body: dict[str, Any]) -> dict[str, Any]:
        members = self.members.get(str(body.get("channel", "")), [])
        size = min(int(body.get("limit") or self.page_size), self.page_size)
        start = int(body.get("cursor") or 0)
        page = members[start : start + size]
        following = str(start + size) if start + size < len(members) else ""
        return {"members": page, "response_metadata": {"next_cursor": following}}

    # -- files ----------------------------------------------------------------------------

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str = "text/calendar",
        filetype: str = "ics",
        team: str | None = None,
        size: int | None = None,
    ) -> dict[str, Any]:
        """Keep a file; returns its object as a ``file_share`` message event carries it
        (``size`` may lie about the bytes, as a test of the download limit needs)."""
        file_id = f"F{len(self.files) + 1:04d}"
        team = team or self.team_id
        url = f"{self.url}/files-pri/{team}-{file_id}"
        obj = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": filetype,
            "size": len(content) if size is None else size,
            "mode": "hosted",
            "is_external": False,
            "url_private": f"{url}/{name}",
            "url_private_download": f"{url}/download/{name}",
        }
        self.files[file_id] = {**obj, "_content": content}
        return dict(obj)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        """``url_private_download``: the bytes for a known bot token, else Slack's login page."""
        self.calls.append(Call(method="download", body={"path": request.path}, headers=dict(request.headers)))
        file_id = request.match_info["key"].rpartition("-")[2]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        found = self.files.get(file_id)
        if found is None or token not in self.tokens or self.without_files_read:
            return web.Response(
                text="<!DOCTYPE html><html><body>Sign in to Slack</body></html>", content_type="text/html"
            )
        return web.Response(body=found["_content"], content_type="application/octet-stream")

    def m_files_info(self, body: dict[str, Any]) -> dict[str, Any]:
        found = self.files.get(str(body.get("file", "")))
        if found is None:
            raise LookupError("file_not_found")
        return {"file": {k: v for k, v in found.items() if not k.startswith("_")}}

    def m_files_getUploadURLExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("filename") or not str(body.get("length", "")).isdigit():
            raise LookupError("invalid_arguments")
        file_id = f"FUP{len(self.uploads) + 1:03d}"
        self.uploads[file_id] = {"filename": body["filename"], "length": int(body["length"]), "content": None}
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        upload["content"] = await request.read()
        self.calls.append(
            Call(method="upload", body={"file_id": request.match_info["file_id"]}, headers=dict(request.headers))
        )
        return web.Response(text=f"OK - {len(upload['content'])}")

    def m_files_completeUploadExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(str(body.get("files") or "[]"))
        done = []
        for item in files:
            upload = self.uploads.get(str(item.get("id")))
            if upload is None or upload["content"] is None:
                raise LookupError("file_not_found")
            if len(upload["content"]) != upload["length"]:
                raise LookupError("file_size_mismatch")
            self.shared.append(
                {
                    "id": item["id"],
                    "title": item.get("title"),
                    "name": upload["filename"],
                    "channel": body.get("channel_id"),
                    "initial_comment": body.get("initial_comment"),
                    "content": upload["content"],
                }
            )
            done.append({"id": item["id"], "title": item.get("title"), "name": upload["filename"]})
        return {"files": done}
