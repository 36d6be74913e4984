"""``POST /api/messages``: the Bot Framework endpoint, with the SDK doing the token checks.

The SDK's own ``CloudAdapter.process`` turns only ``PermissionError`` into 401; an unknown
signing key, an expired or malformed token raise other errors there and would surface as
500. So the request is authenticated here first, and any failure to authenticate is a 401
before anything is touched. Then the activity's shape is checked (``activity_problem``): a
signed activity the handler could not read (no conversation, a member without an id, no
``serviceUrl`` to answer on, ...) gets a short 400 before the SDK's turn runs, so nothing is
written. Only then is the authenticated result handed to the SDK's turn.

An invoke's answer is plain JSON; the SDK's own error answers to a malformed Universal
Action carry an exception object, which becomes ``{"code", "message"}`` here.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import web
from botbuilder.core import Bot, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse

log = logging.getLogger(__name__)

PATH = "/api/messages"
SERVICE_URL = re.compile(r"https?://[^\s/]+(/\S*)?", re.IGNORECASE)
_OBJECT = (dict, type(None))
_TEXT = (str, type(None))


def _account_problem(value: Any, where: str) -> str | None:
    """An account (``from``, ``recipient``, a member added, a mention): an object with a
    non-empty string id (Ritme's user id, a NOT NULL column)."""
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        return f"{where} must be an account with an id"
    if not all(isinstance(value.get(key), _TEXT) for key in ("name", "aadObjectId")):
        return f"{where} has the wrong shape"
    return None


def activity_problem(body: dict[str, Any]) -> str | None:
    """Why the Teams handler could not read an activity; None when it can.

    Only what the SDK's handler and ``RitmeTeamsBot`` read is checked, and only its JSON
    type: whatever else an activity carries passes. Optional parts may be missing or null."""
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not SERVICE_URL.fullmatch(service_url):
        return "serviceUrl is missing or not an http(s) URL"
    for key in ("id", "channelId", "text", "replyToId", "name", "action", "locale"):
        if not isinstance(body.get(key), _TEXT):
            return f"{key} must be a string"
    for key, where in (("from", "from"), ("recipient", "recipient")):
        problem = _account_problem(body.get(key), where)
        if problem:
            return problem
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str) or not conversation["id"]:
        return "conversation must be an object with an id"
    if not all(isinstance(conversation.get(k), _TEXT) for k in ("conversationType", "tenantId", "name")):
        return "conversation has the wrong shape"
    data = body.get("channelData")
    if not isinstance(data, _OBJECT):
        return "channelData must be an object"
    for key in ("tenant", "team", "channel"):
        part = (data or {}).get(key)
        if not isinstance(part, _OBJECT) or not all(isinstance((part or {}).get(k), _TEXT) for k in ("id", "name")):
            return f"channelData.{key} must be an object"
    for key in ("membersAdded", "membersRemoved"):
        members = body.get(key)
        if members is None:
            continue
        if not isinstance(members, list):
            return f"{key} must be a list"
        for i, member in enumerate(members):
            problem = _account_problem(member, f"{key}[{i}]")
            if problem:
                return problem
    for key in ("entities", "attachments"):
        if not isinstance(body.get(key), (list, type(None))) or not all(
            isinstance(e, dict) for e in body.get(key) or []
        ):
            return f"{key} must be a list of objects"
    for entity in body.get("entities") or []:
        if not isinstance(entity.get("type"), str):
            return "an entity has no type"
        if entity["type"].lower() == "mention" and (
            _account_problem(entity.get("mentioned"), "a mention") or not isinstance(entity.get("text"), _TEXT)
        ):
            return "a mention must name an account"
    for attachment in body.get("attachments") or []:
        if not all(isinstance(attachment.get(k), _TEXT) for k in ("contentType", "contentUrl", "name")):
            return "an attachment has the wrong shape"
    if body.get("type") == "invoke" and body.get("name") == "adaptiveCard/action":
        value = body.get("value")
        if value is not None and not (isinstance(value, dict) and isinstance(value.get("action"), _OBJECT)):
            return "value must be an object with an action object"
    return None


def invoke_json(status: int, body: Any) -> web.Response:
    """An invoke's answer as plain JSON; a short error when its body cannot be written."""
    if isinstance(body, AdaptiveCardInvokeResponse) and isinstance(body.value, BaseException):
        code, message = (list(map(str, body.value.args)) + ["Error", ""])[:2]
        body = AdaptiveCardInvokeResponse(
            status_code=int(body.status_code or status), type=body.type, value={"code": code, "message": message[:200]}
        )
    try:
        if body is not None and not isinstance(body, (dict, list, str, int, float, bool)):
            body = serializer_helper(body)  # an SDK model; the ActivityHandler gives plain JSON
        text = json.dumps(body)
    except Exception as err:
        log.warning("teams: an invoke answer (%s) could not be written: %s", status, type(err).__name__)
        return web.json_response({"error": "invoke failed"}, status=status if status >= 400 else 500)
    return web.Response(text=text, status=status, content_type="application/json")


def build_adapter(config: Any) -> CloudAdapter:
    """The SDK's CloudAdapter, configured from an object with the SDK's own setting names
    (``APP_ID``, ``APP_PASSWORD``, ``APP_TYPE``, ``APP_TENANTID``, ``TO_BOT_FROM_CHANNEL_*``,
    ``TO_CHANNEL_FROM_BOT_*``, ``OAUTH_URL``)."""
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

    async def on_error(turn_context: TurnContext, error: Exception) -> None:
        # Logged, not re-raised: Teams would deliver the same activity again and again.
        log.error("teams: turn failed for activity %s", turn_context.activity.id, exc_info=error)

    adapter.on_turn_error = on_error
    return adapter


def routes(adapter: CloudAdapter, bot: Bot) -> list[web.RouteDef]:
    auth = adapter.bot_framework_authentication

    async def messages(request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        await request.read()  # a body over the server's limit (1 MiB) gets 413 here, as on every route
        try:
            body = await request.json()
            activity = Activity().deserialize(body)
        except Exception:
            return web.json_response({"error": "not an activity"}, status=400)
        if not isinstance(body, dict) or not activity.type:
            return web.json_response({"error": "not an activity"}, status=400)
        header = request.headers.get("Authorization", "")
        try:
            result = await auth.authenticate_request(activity, header)
        except Exception as err:  # any failure to authenticate: unauthorized, nothing changed
            log.info("teams: request refused: %s", str(err)[:200] or type(err).__name__)
            return web.json_response({"error": "unauthorized"}, status=401)
        if result is None or result.claims_identity is None or not result.claims_identity.is_authenticated:
            return web.json_response({"error": "unauthorized"}, status=401)
        problem = activity_problem(body)
        if problem:
            log.info("teams: activity %s refused: %s", str(body.get("id"))[:80], problem)
            return web.json_response({"error": problem}, status=400)
        invoke = await adapter.process_activity(result, activity, bot.on_turn)
        if invoke:
            return invoke_json(invoke.status, invoke.body)
        return web.Response(status=201)

    return [web.post(PATH, messages)]
