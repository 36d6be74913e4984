"""The Teams app package: manifest.json (schema v1.30), a Dutch localization and two icons.

The icons are drawn here and written as PNG with zlib and struct, so building a package
needs nothing beyond the standard library.
"""

from __future__ import annotations

import io
import json
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlparse

from rituals.i18n import N_, translator

MANIFEST_VERSION = "1.30"
SCHEMA = f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
LOCALIZATION_SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.Localization.schema.json"
)
ACCENT = "#2E7D6B"
ACCENT_RGB = (0x2E, 0x7D, 0x6B)

NAME_FULL = N_("Ritme: team rituals for schools")
DESCRIPTION_SHORT = N_("Weekly reflection, check-outs, pulses and appreciation for school teams.")
DESCRIPTION_FULL = N_(
    "Ritme keeps a school team's rituals going: weekly reflection questions, meeting check-outs, "
    "anonymous team-climate pulses and appreciation rounds, on a schedule the team sets."
)

EXAMPLE_APP_ID = "00000000-0000-0000-0000-000000000000"

Commands = Sequence[tuple[str, str]]  # (title a member types, description msgid), at most ten (a Teams limit)


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int, int]]) -> bytes:
    """An RGBA PNG, one filter byte per row."""
    rows = b"".join(b"\x00" + b"".join(struct.pack("4B", *pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _ring(x: int, y: int, size: int, outer: float, inner: float) -> bool:
    """Whether a pixel lies on a ring (the 'cycle' of a ritual) centred in the icon."""
    cx = cy = (size - 1) / 2
    d2 = (x - cx) ** 2 + (y - cy) ** 2
    return inner**2 <= d2 <= outer**2


def color_icon() -> bytes:
    """192×192: a white ring with a dot on the accent colour, full bleed."""
    size = 192

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        dot = (x - 96) ** 2 + (y - 40) ** 2 <= 14**2
        if _ring(x, y, size, 62, 46) or dot:
            return (255, 255, 255, 255)
        return (*ACCENT_RGB, 255)

    return _png(size, size, pixel)


def outline_icon() -> bytes:
    """32×32: the same ring in white on transparent, as Teams requires for outlines."""
    size = 32

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        return (255, 255, 255, 255) if _ring(x, y, size, 13, 10) else (0, 0, 0, 0)

    return _png(size, size, pixel)


def manifest(*, app_id: str, public_url: str, commands: Commands, version: str = "1.0.0") -> dict[str, Any]:
    """manifest.json for the bot ``app_id`` served from ``public_url``, listing ``commands``."""
    tr = translator("en")
    host = urlparse(public_url).hostname or "localhost"
    base = public_url.rstrip("/")
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": app_id,
        "developer": {
            "name": "Ritme",
            "websiteUrl": base,
            "privacyUrl": f"{base}/privacy",
            "termsOfUseUrl": f"{base}/terms",
        },
        "name": {"short": "Ritme", "full": tr(NAME_FULL)},
        "description": {"short": tr(DESCRIPTION_SHORT), "full": tr(DESCRIPTION_FULL)},
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": ["team", "personal", "groupChat"],
                "supportsFiles": True,  # a holiday calendar sent in a personal chat (adapters.teams.files)
                "isNotificationOnly": False,
                "commandLists": [
                    {
                        "scopes": ["team", "personal", "groupChat"],
                        "commands": [
                            {"title": title, "description": tr(description)} for title, description in commands
                        ],
                    }
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [host],
        "localizationInfo": {
            "defaultLanguageTag": "en",
            "additionalLanguages": [{"languageTag": "nl", "file": "nl.json"}],
        },
    }


def localization(data: dict[str, Any], lang: str, commands: Commands) -> dict[str, Any]:
    """The manifest's user-visible strings in another language (Teams localization file)."""
    tr = translator(lang)
    out: dict[str, Any] = {
        "$schema": LOCALIZATION_SCHEMA,
        "name.short": data["name"]["short"],
        "name.full": tr(NAME_FULL),
        "description.short": tr(DESCRIPTION_SHORT),
        "description.full": tr(DESCRIPTION_FULL),
    }
    for i, (_title, description) in enumerate(commands):
        out[f"bots[0].commandLists[0].commands[{i}].description"] = tr(description)
    return out


def package(*, app_id: str, public_url: str, commands: Commands) -> bytes:
    """The zip Teams installs: manifest.json, nl.json, color.png and outline.png at the root."""
    if not app_id:
        raise ValueError("MicrosoftAppId is needed for the Teams manifest")
    uuid.UUID(app_id)  # Teams wants the bot's app id, a GUID; ValueError otherwise
    data = manifest(app_id=app_id, public_url=public_url, commands=commands)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
        z.writestr("nl.json", json.dumps(localization(data, "nl", commands), indent=2, ensure_ascii=False))
        z.writestr("color.png", color_icon())
        z.writestr("outline.png", outline_icon())
    return buffer.getvalue()


def cmd_teams_manifest(
    out: str, settings: Callable[[], Any], fail: Callable[[str], int], config_error: type[Exception], commands: Commands
) -> int:
    """``ritme teams-manifest OUT.zip``: the package for MicrosoftAppId and RITME_PUBLIC_URL, its
    command list ``commands`` (the bot's command registry)."""
    from pathlib import Path

    try:
        loaded = settings()
    except config_error as err:
        return fail(str(err))
    app_id, public_url = (loaded.microsoft_app_id or "").strip(), (loaded.public_url or "").strip()
    missing = [name for name, value in (("MicrosoftAppId", app_id), ("RITME_PUBLIC_URL", public_url)) if not value]
    if missing:  # all of them at once, not one per try
        return fail(
            f"{', '.join(missing)}: needed for the Teams manifest "
            "(the bot's app id, a GUID; Ritme's public https address, which Teams calls)"
        )
    address = urlparse(public_url)
    if address.scheme not in ("http", "https") or not address.hostname:
        return fail(f"RITME_PUBLIC_URL: {public_url[:80]!r} is not an address such as https://ritme.school.example")
    try:
        data = package(app_id=app_id, public_url=public_url.rstrip("/"), commands=commands)
    except ValueError:
        return fail(f"MicrosoftAppId: {app_id[:60]!r} is not an app id (a GUID such as {EXAMPLE_APP_ID})")
    Path(out).write_bytes(data)
    print(f"Teams app package written to {out}")
    return 0
