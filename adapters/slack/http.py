"""``POST /slack/events`` and the OAuth pages: Slack's HTTP requests into bolt.

A request goes through, in order:

1. the signature (``adapters.slack.signatures``): none, a wrong or a stale one gets 401, and
   so does a verified one taken before (a replay). Slack's unsigned ``ssl_check`` probe of a
   slash command's URL passes, for bolt's ``SslCheck`` to answer;
2. the body (``adapters.slack.payloads``): UTF-8, JSON or a form, read as bolt reads it, and
   of a shape bolt and the listeners can read; else a short 400 before bolt sees it, since
   bolt's request reads the payload's fields as it is made;
3. bolt: ``AsyncBoltRequest`` from the same text, ``AsyncApp.async_dispatch``, and so bolt's
   middleware (``ssl_check``, then ``Guards`` as ``before_authorize``, bolt's authorization,
   its self-event and URL-verification middleware) and the listener.

The answer form is the exception to 3: after ``Guards.check`` (the object bolt runs as
middleware for every other request, and for the form over Socket Mode) it goes to
``Answers.submit``, the form listener's own code, without bolt's dispatch: see
``adapters.slack.answers`` for why, measured.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

import msgspec
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.answers import Answers
from adapters.slack.guards import Guards, Incoming, Stop
from adapters.slack.payloads import (
    BadBody,
    is_answer_form,
    payload_problem,
    readable_body,
    ssl_check,
)
from adapters.slack.signatures import Signatures, Verdict

log = logging.getLogger(__name__)

INVALID = {"error": "invalid request"}  # as bolt's RequestVerification answers


class SlackHttp:
    """The aiohttp handlers in front of one bolt app."""

    def __init__(self, bolt: AsyncApp, signatures: Signatures, guards: Guards, answers: Answers) -> None:
        self.bolt = bolt
        self.signatures = signatures
        self.guards = guards
        self.answers = answers

    def routes(self) -> list[web.RouteDef]:
        routes = [web.post("/slack/events", self.events)]
        if self.bolt.oauth_flow is not None:
            routes += [web.get("/slack/install", self.install), web.get("/slack/oauth_redirect", self.oauth_redirect)]
        return routes

    async def events(self, request: web.Request) -> web.Response:
        """``POST /slack/events``: everything Slack sends over HTTP comes through here."""
        raw = await request.read()
        headers = request.headers  # read without regard to case
        verdict = self.signatures.check(raw, headers)
        if verdict is Verdict.REPLAYED:
            # 401 as for a stale signature: the request is no longer good. Slack itself never sends one (its
            # retries are signed anew); should it ever, X-Slack-No-Retry stops it from sending it again.
            return web.json_response(INVALID, status=401, headers={"X-Slack-No-Retry": "1"})
        if verdict is Verdict.UNSIGNED and not ssl_check(raw):
            return web.json_response(INVALID, status=401)
        try:
            text, payload = readable_body(raw, headers.get("content-type"))
        except BadBody as err:
            log.info("slack: signed request refused: %s", err)
            return web.Response(status=400, text=str(err))
        if isinstance(payload, dict) and is_answer_form(payload):
            return await self.answer_form(text, payload, headers)
        problem = payload_problem(payload)  # Guards checks it again in bolt: Socket Mode's requests come there only
        if problem:
            log.info("slack: signed request refused: %s", problem)
            return web.Response(status=400, text=problem)
        as_bolt: dict[str, str | Sequence[str]] = {name.lower(): value for name, value in headers.items()}
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=as_bolt)
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    async def answer_form(self, text: str, payload: dict[str, object], headers: Mapping[str, str]) -> web.Response:
        """The answer form over HTTP: the guards bolt runs, then the form listener's code."""
        stop = await self.guards.check(Incoming.from_http(text, payload, headers))
        if stop is not None:
            return response(stop)
        reply = await self.answers.submit(payload)
        if not reply:
            return web.Response(status=200)
        # written by msgspec: a third of json's time
        return web.Response(body=msgspec.json.encode(reply), content_type="application/json", charset="utf-8")

    async def install(self, request: web.Request) -> web.Response:
        """``GET /slack/install``: off to Slack's consent page, with a fresh state."""
        assert self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_installation(await to_bolt_request(request)))

    async def oauth_redirect(self, request: web.Request) -> web.Response:
        """``GET /slack/oauth_redirect``: Slack sends the browser back with a code."""
        assert self.bolt.oauth_flow is not None
        return await to_aiohttp_response(await self.bolt.oauth_flow.handle_callback(await to_bolt_request(request)))


def response(stop: Stop) -> web.Response:
    """A guard's answer as aiohttp's, as bolt's own adapter would give ``stop.bolt()``."""
    if stop.json:
        return web.json_response(json.loads(stop.text), status=stop.status)
    return web.Response(status=stop.status, text=stop.text) if stop.text else web.Response(status=stop.status)
