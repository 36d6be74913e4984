"""Files in and out of Slack: a calendar shared with a command, the CSV of ``export``.

Slash commands cannot carry files, so ``holiday import`` on Slack is a message: the ``.ics``
file shared into the channel (or a direct message with Ritme) with the words
``holiday import`` (``vakantie import``). The message arrives as a ``message`` event of
subtype ``file_share``; each file is fetched from its ``url_private_download`` with the
workspace's bot token as Bearer (scope ``files:read``). A file shared from another
organisation carries only its id (``file_access: check_file_info``): ``files.info`` tells
where it is.

The bot token goes to Slack only: a download URL must be on the Web API's host or its
``files.`` host (``files.slack.com`` for ``slack.com``, the same for GovSlack), over https
unless it is the configured Web API host itself (a local fake). Redirects are followed by
hand, on the same terms. At most ``MAX_FILE_BYTES`` are read; Slack answering with its
sign-in page (HTML: the token lacks ``files:read``) is a failure, not a calendar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

MAX_FILE_BYTES = 512 * 1024  # the same limit as the playground's upload
MAX_FILES = 5
MAX_REDIRECTS = 3
CALENDAR_TYPES = frozenset({"text/calendar", "application/ics", "text/x-vcalendar"})

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
CHANNEL_MENTION = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")


class FileError(Exception):
    """A shared file Ritme could not take; ``reason`` is ``too_large`` or ``unreadable``."""

    def __init__(self, reason: str, name: str = "") -> None:
        super().__init__(f"{reason}: {name}")
        self.reason = reason
        self.name = name


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportFile:
    """The CSV of ``export``, ready to post: file name, the message above it, the bytes."""

    name: str
    comment: str
    content: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class SharedFile:
    """A file of a ``file_share`` message, as far as the event tells."""

    id: str
    name: str
    mimetype: str
    size: int | None
    url: str | None  # url_private_download; None: ask files.info

    @property
    def is_calendar(self) -> bool:
        return self.name.lower().endswith(".ics") or self.mimetype.lower() in CALENDAR_TYPES


def shared_files(event: dict[str, Any]) -> list[SharedFile]:
    """The files of a message event, at most ``MAX_FILES``."""
    out = []
    for raw in (event.get("files") or [])[:MAX_FILES]:
        if not isinstance(raw, dict) or not raw.get("id"):
            continue
        out.append(shared_file(raw))
    return out


def shared_file(raw: dict[str, Any]) -> SharedFile:
    size = raw.get("size")
    url = raw.get("url_private_download") or raw.get("url_private")
    return SharedFile(
        id=str(raw["id"]),
        name=str(raw.get("name") or raw.get("title") or ""),
        mimetype=str(raw.get("mimetype") or ""),
        size=int(size) if isinstance(size, int) else None,
        url=str(url) if url and raw.get("file_access") != "check_file_info" else None,
    )


def message_text(event: dict[str, Any]) -> str:
    """The words of a message without @mentions, markup or surrounding space."""
    return " ".join(MENTION.sub(" ", str(event.get("text") or "")).split())


def named_channel(text: str) -> tuple[str | None, str]:
    """A channel named in the text (``<#C123|team-a>``) and the text without it."""
    match = CHANNEL_MENTION.search(text)
    if match is None:
        return None, text
    return match.group(1), " ".join(CHANNEL_MENTION.sub(" ", text).split())


def file_hosts(api_base: str) -> frozenset[str]:
    """Hosts that may receive the bot token with a download: the Web API's and its files host."""
    host = (urlsplit(api_base).hostname or "").lower()
    return frozenset({host, "files." + host}) if host else frozenset()


def _allowed(url: str, api_base: str) -> bool:
    parts = urlsplit(url)
    api = urlsplit(api_base)
    host = (parts.hostname or "").lower()
    if host not in file_hosts(api_base):
        return False
    if parts.scheme == "https":
        return True
    # Plain http only to the configured Web API itself (a local fake in tests).
    return (
        parts.scheme == "http"
        and api.scheme == "http"
        and (host, parts.port) == ((api.hostname or "").lower(), api.port)
    )


async def download(
    session: aiohttp.ClientSession, url: str, token: str, *, api_base: str, name: str = "", limit: int = MAX_FILE_BYTES
) -> bytes:
    """The file's bytes, fetched with the bot token; ``FileError`` when it is not on Slack,
    larger than ``limit``, or not served as a file."""
    for _hop in range(MAX_REDIRECTS + 1):
        if not _allowed(url, api_base):
            raise FileError("unreadable", name)
        try:
            async with session.get(
                url,
                headers={"Authorization": f"Bearer {token}"},
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=20),
            ) as response:
                if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                    url = urljoin(url, response.headers["Location"])
                    continue
                if response.status != 200 or response.content_type == "text/html":
                    raise FileError("unreadable", name)
                if response.content_length is not None and response.content_length > limit:
                    raise FileError("too_large", name)
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > limit:
                        raise FileError("too_large", name)
                return bytes(body)
        except (aiohttp.ClientError, TimeoutError, OSError):
            raise FileError("unreadable", name) from None
    raise FileError("unreadable", name)
