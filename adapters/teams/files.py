"""Files with Teams messages: a holiday calendar sent with ``holiday import``; ``export``.

A message to the bot may carry files. In a personal chat Teams attaches each as
``application/vnd.microsoft.teams.file.download.info``, whose ``content.downloadUrl`` is a
short-lived, pre-authenticated link (the app manifest says ``supportsFiles``); in a channel
a file comes as an attachment with its own content type (``text/calendar`` for a calendar)
and a ``contentUrl``. Only calendars (``.ics``) are fetched, and only for ``holiday import``:
at most ``MAX_FILE_BYTES`` each, over https, and the bot's own token goes only to a
``contentUrl`` on the conversation's connector (its ``serviceUrl``), never anywhere else.
Without a token a download link must stand on its own.

``export`` stays a signed link on Teams: a bot can send a file only in a personal chat, and
only through the file consent card the user accepts first (with a OneDrive upload on the
bot's side), so the answer says so.

``run_command`` is what ``RitmeTeamsBot`` calls for a message: it runs the command through
``Inbound`` with the calendars, and adds the Teams note to ``export``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity

from rituals.i18n import Translator, translator
from rituals.ports import Inbound
from rituals.types import Actor, ChannelRef, Notice

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 512 * 1024  # the same limit as the playground's and Slack's
MAX_FILES = 5
DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})


class FileHooks(Protocol):
    """What the file handling needs to know from the rest of Ritme."""

    async def command_name(self, text: str) -> str | None:
        """The command the words are (``holiday import``, ``export``, ...); None for none."""
        ...

    async def language_of(self, channel: ChannelRef) -> str:
        """The language of the channel's team (the default when it has none yet)."""
        ...


class FileError(Exception):
    """A sent file Ritme could not take; ``reason`` is ``too_large`` or ``unreadable``."""

    def __init__(self, reason: str, name: str = "") -> None:
        super().__init__(f"{reason}: {name}")
        self.reason = reason
        self.name = name


@dataclass(frozen=True, kw_only=True, slots=True)
class SentFile:
    """A calendar attached to a message: its name, where to fetch it, whether with our token."""

    name: str
    url: str
    with_token: bool


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def calendar_files(activity: Activity) -> list[SentFile]:
    """The calendars attached to a message (at most ``MAX_FILES``); other files are skipped."""
    connector = _origin(activity.service_url or "")
    out: list[SentFile] = []
    for attachment in activity.attachments or []:
        kind = (attachment.content_type or "").lower()
        name = str(attachment.name or "")
        content = attachment.content if isinstance(attachment.content, dict) else {}
        if kind == DOWNLOAD_INFO:
            url = str(content.get("downloadUrl") or "")
            if url and (name.lower().endswith(".ics") or str(content.get("fileType", "")).lower() == "ics"):
                out.append(SentFile(name=name, url=url, with_token=False))
        elif (
            attachment.content_url
            and (kind in CALENDAR_TYPES or name.lower().endswith(".ics"))
            and not kind.startswith("text/html")
        ):
            url = str(attachment.content_url)
            out.append(SentFile(name=name, url=url, with_token=_origin(url) == connector))
        if len(out) >= MAX_FILES:
            break
    return out


def _allowed(file: SentFile, service_url: str) -> bool:
    scheme, _host, _port = _origin(file.url)
    if scheme == "https":
        return True
    # Plain http only on the connector's own origin (a local fake in tests).
    return scheme == "http" and _origin(file.url) == _origin(service_url) and _origin(service_url)[0] == "http"


async def bot_token(turn_context: TurnContext) -> str | None:
    """The bot's own Bot Framework token, as the SDK got it for this turn's replies."""
    client = turn_context.turn_state.get(BotAdapter.BOT_CONNECTOR_CLIENT_KEY)
    credentials = getattr(getattr(client, "config", None), "credentials", None)
    if credentials is None or not hasattr(credentials, "get_access_token"):
        return None
    token = await asyncio.to_thread(credentials.get_access_token)  # msal: blocking, cached
    return str(token) if token else None


async def download(
    session: aiohttp.ClientSession, file: SentFile, *, service_url: str, token: str | None, limit: int = MAX_FILE_BYTES
) -> bytes:
    """The file's bytes; ``FileError`` when it is too large or cannot be fetched."""
    if not _allowed(file, service_url):
        raise FileError("unreadable", file.name)
    headers = {"Authorization": f"Bearer {token}"} if file.with_token and token else {}
    try:
        async with session.get(
            file.url,
            headers=headers,
            allow_redirects=not headers,
            max_redirects=3,
            timeout=aiohttp.ClientTimeout(total=20),
        ) as response:
            if response.status != 200 or response.content_type == "text/html":
                raise FileError("unreadable", file.name)
            if response.content_length is not None and response.content_length > limit:
                raise FileError("too_large", file.name)
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > limit:
                    raise FileError("too_large", file.name)
            return bytes(body)
    except (aiohttp.ClientError, TimeoutError, OSError):
        raise FileError("unreadable", file.name) from None


async def fetch_calendars(turn_context: TurnContext) -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of the calendars attached to the turn's message."""
    activity = turn_context.activity
    files = calendar_files(activity)
    if not files:
        return ()
    token = await bot_token(turn_context) if any(f.with_token for f in files) else None
    out = []
    async with aiohttp.ClientSession() as session:
        for file in files:
            name = file.name if file.name.lower().endswith(".ics") else (file.name or "calendar") + ".ics"
            out.append((name, await download(session, file, service_url=activity.service_url or "", token=token)))
    return tuple(out)


async def run_command(
    inbound: Inbound,
    hooks: FileHooks,
    turn_context: TurnContext,
    actor: Actor,
    channel: ChannelRef,
    text: str,
    *,
    channel_name: str = "",
    personal: bool = False,
) -> Notice:
    """Run a command typed to the bot, with the calendars sent along for ``holiday import``;
    ``personal``: in a one-to-one chat, which is no team."""
    name = await hooks.command_name(text)
    files: tuple[tuple[str, bytes], ...] = ()
    if name == "holiday import":
        try:
            files = await fetch_calendars(turn_context)
        except FileError as err:
            log.info("teams: a calendar sent with holiday import could not be taken: %s", err)
            return file_error(err, translator(await hooks.language_of(channel)))
    notice = await inbound.command(actor, channel, text, channel_name=channel_name, files=files, personal=personal)
    if name == "export" and "://" in notice.text:  # the link was given, not a refusal
        _ = translator(await hooks.language_of(channel))
        note = _(
            "Teams lets a bot send a file only in a personal chat, after you accept it there; "
            "so the export comes as a link."
        )
        notice = replace(notice, footer=f"{notice.footer}\n{note}" if notice.footer else note)
    return notice


def file_error(err: FileError, _: Translator) -> Notice:
    if err.reason == "too_large":
        reason = _(
            "The file {name} is larger than {size} KiB; a calendar of school holidays is much smaller.",
            name=err.name,
            size=MAX_FILE_BYTES // 1024,
        )
    else:
        reason = _(
            "Ritme could not download the file {name} from Teams. Send it again with holiday import.", name=err.name
        )
    return Notice(title=_("That did not work"), text=reason)
