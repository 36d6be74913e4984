"""A fake Slack Web API: an aiohttp server on 127.0.0.1 and a random port.

It records every call (method, body as a dict, whether it was JSON) and answers the methods
Ritme uses with plausible data. ``fail`` makes the next N calls of a method answer with a
Slack error (``channel_not_found``) or an HTTP 429 with ``Retry-After``. A response_url is
served too: ``{url}/respond/{key}`` records a ``response_url`` call.

Use ``async with FakeSlackApi() as fake:``; point ``SLACK_API_URL`` at ``fake.api_url``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_USER = "UBOT"
BOT_ID = "BBOT"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


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
        self.names: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}
        self.failures: list[Failure] = []
        self._ts = itertools.count(1)
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeSlackApi:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, key: str = "1") -> str:
        return f"{self.url}/respond/{key}"

    def fail(self, method: str, error: str, *, times: int = 1, status: int = 200, retry_after: int | None = None) -> None:
        """The next ``times`` calls of ``method`` fail with ``error`` (HTTP ``status``)."""
        self.failures.append(Failure(method=method, error=error, remaining=times, status=status, retry_after=retry_after))

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.text()
        if request.content_type == "application/json":
            return json.loads(raw or "{}")
        data: dict[str, Any] = dict(parse_qsl(raw))
        for key in ("blocks", "view"):
            if isinstance(data.get(key), str):
                data[key] = json.loads(data[key])
        return data

    async def _respond(self, request: web.Request) -> web.Response:
        self.calls.append(Call(method="response_url", body=await self._body(request)))
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        self.calls.append(Call(method=method, body=body, headers=dict(request.headers)))
        for failure in self.failures:
            if failure.method == method and failure.remaining > 0:
                failure.remaining -= 1
                headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
                return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=headers)
        if request.headers.get("Authorization") != "Bearer xoxb-test":
            return web.json_response({"ok": False, "error": "not_authed"})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response({"ok": True, **handler(body)})

    def _new_ts(self) -> str:
        return f"1700000{next(self._ts):03d}.000100"

    def m_auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://school.slack.com/", "team": "School", "user": "ritme", "team_id": self.team_id,
                "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": False}

    def m_users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user", ""))
        admin = user in self.admins
        name = self.names.get(user, user.lower())
        return {"user": {"id": user, "team_id": self.team_id, "name": name, "real_name": name.title(),
                         "is_admin": admin, "is_owner": False, "is_bot": False,
                         "profile": {"display_name": name.title(), "real_name": name.title()}}}

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
        return {"members": self.members.get(str(body.get("channel", "")), []), "response_metadata": {"next_cursor": ""}}
