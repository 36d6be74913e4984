"""``ritme check``: the configuration as ``ritme serve`` reads it, and whether what it points at
answers: the database (and its migrations), Slack (``auth.test``), the Bot Framework's token
endpoint. One line each; secrets are said to be set, never shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.config import Settings, setting_infos

# The Teams channel's connector; the token is asked for its audience, nothing is sent to it.
TEAMS_SERVICE_URL = "https://smba.trafficmanager.net/teams/"
PROBE_SECONDS = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class Line:
    """One line of the report: ``status`` is ok, set, default, unset, skipped or FAIL."""

    status: str
    text: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def __str__(self) -> str:
        return f"{self.status:<8} {self.text}"


def setting_lines(settings: Settings) -> list[Line]:
    """What is set (values shown, secrets and the database's password not), what is left at its
    default, and what is not set."""
    lines = []
    for info in setting_infos():
        value = getattr(settings, info.field)
        if info.field not in settings.model_fields_set:
            shown = f"{info.variable} = {info.default}" if info.default else info.variable
            lines.append(Line(status="default" if info.default else "unset", text=shown))
        elif info.secret:
            lines.append(Line(status="set", text=f"{info.variable} (secret, not shown)"))
        else:
            lines.append(Line(status="set", text=f"{info.variable} = {_shown(info.field, value)}"))
    return lines


def _shown(field: str, value: Any) -> str:
    if field == "database_url":
        return make_url(str(value)).render_as_string(hide_password=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def probe_lines(settings: Settings) -> list[Line]:
    """Whether the database, Slack and the Bot Framework answer, checked at the same time."""
    lines = [_platforms(settings)]
    lines += await asyncio.gather(_bounded(_database(settings)), _bounded(_slack(settings)), _bounded(_teams(settings)))
    return lines


def _platforms(settings: Settings) -> Line:
    names = [name for name, on in (("Slack", settings.slack_enabled), ("Teams", settings.teams_enabled)) if on]
    playground = "the playground" if settings.playground_enabled else ""
    served = ", ".join([*names, playground] if playground else names)
    note = "" if names else " (no platform configured: set SLACK_BOT_TOKEN or MicrosoftAppId for one)"
    return Line(status="ok", text=f"serves: {served or 'nothing'}{note}")


async def _bounded(probe: Awaitable[Line]) -> Line:
    try:
        return await asyncio.wait_for(probe, timeout=PROBE_SECONDS)
    except TimeoutError:
        return Line(status="FAIL", text=f"no answer within {PROBE_SECONDS}s")


async def _database(settings: Settings) -> Line:
    from storage.db import applied_revisions, create_engine, head_revisions

    where = make_url(settings.database_url).get_backend_name()
    missing = _missing_sqlite_file(settings.database_url)
    if missing:  # not made here: checking changes nothing
        return Line(status="ok", text=f"database (sqlite): {missing} does not exist yet; ritme db upgrade makes it")
    try:
        engine = create_engine(settings.database_url)
    except Exception as err:  # a malformed URL or a missing driver
        return Line(status="FAIL", text=f"RITME_DATABASE_URL: {type(err).__name__}: {err}")
    try:
        applied = await applied_revisions(engine)
    except Exception as err:
        return Line(status="FAIL", text=f"RITME_DATABASE_URL: the database does not answer ({type(err).__name__})")
    finally:
        await engine.dispose()
    heads = head_revisions()
    if applied == heads:
        return Line(status="ok", text=f"database ({where}) answers; migrations current ({', '.join(sorted(heads))})")
    at = ", ".join(sorted(applied)) or "none applied"
    return Line(
        status="ok",
        text=f"database ({where}) answers; migrations behind ({at}; this version needs {', '.join(sorted(heads))}): "
        "ritme serve applies them at start, or run ritme db upgrade",
    )


def _missing_sqlite_file(database_url: str) -> str | None:
    """The file of a SQLite database that does not exist yet (None: it does, or not a file)."""
    from storage.db import in_memory

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or in_memory(database_url) or not url.database:
        return None
    if url.database.startswith("file:") or Path(url.database).exists():
        return None
    return url.database


async def _slack(settings: Settings) -> Line:
    if not settings.slack_enabled:
        return Line(status="skipped", text="Slack: not configured")
    if not settings.slack_bot_token:
        return Line(status="skipped", text="Slack: auth.test needs a bot token; with OAuth each workspace has its own")
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=PROBE_SECONDS)
    try:
        answer = await client.auth_test()
    except SlackApiError as err:
        error = err.response.get("error") if isinstance(err.response.data, dict) else None
        return Line(
            status="FAIL", text=f"SLACK_BOT_TOKEN: Slack's auth.test answered {error or err.response.status_code}"
        )
    except Exception as err:  # not reachable, not Slack
        return Line(status="FAIL", text=f"SLACK_API_URL: Slack does not answer ({type(err).__name__})")
    return Line(
        status="ok",
        text=f"Slack: auth.test ok (workspace {answer.get('team_id')}, bot user {answer.get('user_id')})",
    )


async def _teams(settings: Settings) -> Line:
    if not settings.teams_enabled:
        return Line(status="skipped", text="Teams: not configured")
    from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
    from botframework.connector.auth import AuthenticationConstants, ClaimsIdentity

    from bot.teams_support import sdk_config

    # The SDK's own way to its token: the connector factory of the configured cloud.
    auth = ConfigurationBotFrameworkAuthentication(sdk_config(settings))
    identity = ClaimsIdentity({AuthenticationConstants.AUDIENCE_CLAIM: settings.microsoft_app_id}, True)
    login = settings.to_channel_from_bot_login_url or "the public cloud's"
    try:
        client = await auth.create_connector_factory(identity).create(TEAMS_SERVICE_URL, None)
        await asyncio.to_thread(client.config.credentials.get_access_token)  # msal: blocking HTTP
    except PermissionError as err:  # the endpoint answered and refused the credentials
        reason = str(err).split("error: ", 1)[-1].split(",", 1)[0]
        return Line(status="FAIL", text=f"MicrosoftAppPassword: the Bot Framework token endpoint refused it ({reason})")
    except Exception as err:  # not reachable, not a token endpoint
        return Line(
            status="FAIL",
            text=f"TO_CHANNEL_FROM_BOT_LOGIN_URL: {login} token endpoint does not answer ({type(err).__name__})",
        )
    return Line(status="ok", text=f"Teams: a Bot Framework token was issued by {login} token endpoint")


def report(settings: Settings) -> tuple[list[Line], bool]:
    """Every line, and whether something needed is wrong."""
    lines = setting_lines(settings) + asyncio.run(probe_lines(settings))
    return lines, any(line.failed for line in lines)
