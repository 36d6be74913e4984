"""``POST /api/messages``: the Bot Framework endpoint, with the SDK doing the token checks.

The SDK's own ``CloudAdapter.process`` turns only ``PermissionError`` into 401; an unknown
signing key, an expired or malformed token raise other errors there and would surface as
500. So the request is authenticated here first, and any failure to authenticate is a 401
before anything is touched; the authenticated result is then handed to the SDK's turn.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from botbuilder.core import Bot, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity

log = logging.getLogger(__name__)

PATH = "/api/messages"


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
        invoke = await adapter.process_activity(result, activity, bot.on_turn)
        if invoke:
            body = invoke.body
            if body is not None and not isinstance(body, (dict, list, str, int, float, bool)):
                body = serializer_helper(body)  # an SDK model; the ActivityHandler gives plain JSON
            return web.json_response(data=body, status=invoke.status)
        return web.Response(status=201)

    return [web.post(PATH, messages)]
