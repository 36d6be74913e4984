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
from collections.abc import Callable
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
    type: whatever else an activity carries passes. Optional parts may be missing or null.
    The checks run part by part in ``ACTIVITY_CHECKS``; the first problem found is the answer.

    The shape is Microsoft's: the Activity, ChannelAccount, ConversationAccount, Entity
    (mention) and Attachment objects of the Bot Framework Connector API reference
    (https://learn.microsoft.com/en-us/azure/bot-service/rest-api/bot-framework-rest-connector-api-reference),
    and the Teams ``channelData`` of "Conversation messages"
    (https://learn.microsoft.com/en-us/microsoftteams/platform/bots/how-to/conversations/conversation-messages)."""
    for check in ACTIVITY_CHECKS:
        problem = check(body)
        if problem:
            return problem
    return None


def _service_url_problem(body: dict[str, Any]) -> str | None:
    """``serviceUrl``: where the answer goes, so an http(s) URL is required."""
    service_url = body.get("serviceUrl")
    if not isinstance(service_url, str) or not SERVICE_URL.fullmatch(service_url):
        return "serviceUrl is missing or not an http(s) URL"
    return None


def _strings_problem(body: dict[str, Any]) -> str | None:
    """The activity's own string fields the handler reads."""
    for key in ("id", "channelId", "text", "replyToId", "name", "action", "locale"):
        if not isinstance(body.get(key), _TEXT):
            return f"{key} must be a string"
    return None


def _sender_problem(body: dict[str, Any]) -> str | None:
    """``from`` and ``recipient``: ChannelAccount objects."""
    for key in ("from", "recipient"):
        problem = _account_problem(body.get(key), key)
        if problem:
            return problem
    return None


def _conversation_problem(body: dict[str, Any]) -> str | None:
    """``conversation``: a ConversationAccount with an id (the channel or chat Ritme answers in)."""
    conversation = body.get("conversation")
    if not isinstance(conversation, dict) or not isinstance(conversation.get("id"), str) or not conversation["id"]:
        return "conversation must be an object with an id"
    if not all(isinstance(conversation.get(k), _TEXT) for k in ("conversationType", "tenantId", "name")):
        return "conversation has the wrong shape"
    return None


def _channel_data_problem(body: dict[str, Any]) -> str | None:
    """``channelData``: Teams' tenant, team and channel, each an object with an id and a name."""
    data = body.get("channelData")
    if not isinstance(data, _OBJECT):
        return "channelData must be an object"
    for key in ("tenant", "team", "channel"):
        part = (data or {}).get(key)
        if not isinstance(part, _OBJECT) or not all(isinstance((part or {}).get(k), _TEXT) for k in ("id", "name")):
            return f"channelData.{key} must be an object"
    return None


def _members_problem(body: dict[str, Any]) -> str | None:
    """``membersAdded`` and ``membersRemoved`` of a conversationUpdate: lists of ChannelAccounts."""
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
    return None


def _lists_problem(body: dict[str, Any]) -> str | None:
    """``entities`` and ``attachments``: lists of objects (what each holds is checked next)."""
    for key in ("entities", "attachments"):
        if not isinstance(body.get(key), (list, type(None))) or not all(
            isinstance(e, dict) for e in body.get(key) or []
        ):
            return f"{key} must be a list of objects"
    return None


def _entities_problem(body: dict[str, Any]) -> str | None:
    """Each entity has a type; a mention names a ChannelAccount and may carry its text."""
    for entity in body.get("entities") or []:
        if not isinstance(entity.get("type"), str):
            return "an entity has no type"
        if entity["type"].lower() == "mention" and (
            _account_problem(entity.get("mentioned"), "a mention") or not isinstance(entity.get("text"), _TEXT)
        ):
            return "a mention must name an account"
    return None


def _attachments_problem(body: dict[str, Any]) -> str | None:
    """Each attachment's content type, URL and name, where given, are strings (a shared file)."""
    for attachment in body.get("attachments") or []:
        if not all(isinstance(attachment.get(k), _TEXT) for k in ("contentType", "contentUrl", "name")):
            return "an attachment has the wrong shape"
    return None


def _invoke_problem(body: dict[str, Any]) -> str | None:
    """An ``adaptiveCard/action`` invoke (a Universal Action): its value, if any, holds an action object."""
    if body.get("type") == "invoke" and body.get("name") == "adaptiveCard/action":
        value = body.get("value")
        if value is not None and not (isinstance(value, dict) and isinstance(value.get("action"), _OBJECT)):
            return "value must be an object with an action object"
    return None


# In this order: lists are known to be lists of objects before their items are read.
ACTIVITY_CHECKS: tuple[Callable[[dict[str, Any]], str | None], ...] = (
    _service_url_problem,
    _strings_problem,
    _sender_problem,
    _conversation_problem,
    _channel_data_problem,
    _members_problem,
    _lists_problem,
    _entities_problem,
    _attachments_problem,
    _invoke_problem,
)


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
