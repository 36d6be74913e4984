"""The Slack app manifest for Ritme: paste it at api.slack.com/apps → Create → From a manifest.

Every Request URL is the one endpoint ``{base}/slack/events``. The bot scopes are the ones
the adapter uses, no more: why each is needed is written next to it. The Messages tab is
open for writing: appreciation rounds and reminders arrive there as direct messages (answered
with their buttons), and an admin may share a holiday calendar there with the words
``holiday import #channel``. With an ``https``
public URL the OAuth redirect URL ``{base}/slack/oauth_redirect`` is listed too (Slack takes
only https ones), for installing into several workspaces. With ``SLACK_APP_TOKEN`` set the
manifest turns Socket Mode on and leaves the Request URLs out: Slack sends everything over
the WebSocket.
"""

from __future__ import annotations

import json
import sys
from typing import Any

BOT_SCOPES: tuple[tuple[str, str], ...] = (
    ("commands", "the /ritme slash command"),
    ("chat:write", "post prompts, results and confirmations"),
    ("chat:write.public", "post in public channels the bot was not invited to"),
    ("im:write", "open direct conversations (appreciation rounds, reminders)"),
    ("users:read", "workspace admins and owners may manage rituals; display names"),
    ("channels:read", "names of public channels"),
    ("groups:read", "names of private channels the bot is in"),
    ("channels:history", "replies in a prompt's thread count as answers (public channels)"),
    ("groups:history", "replies in a prompt's thread count as answers (private channels)"),
    ("app_mentions:read", "an @mention of the bot"),
    ("im:history", "a holiday calendar shared with Ritme in a direct message"),
    ("files:read", "download the .ics calendar shared with 'holiday import'"),
    ("files:write", "post the CSV of 'export' to the admin who asked, in a direct message"),
)

BOT_EVENTS: tuple[str, ...] = (
    "app_home_opened",
    "app_mention",
    "app_uninstalled",
    "member_joined_channel",
    "member_left_channel",
    "message.channels",
    "message.groups",
    "message.im",
    "tokens_revoked",
)


def manifest(base_url: str, *, name: str = "Ritme", socket_mode: bool = False) -> dict[str, Any]:
    """The manifest as a dict; request URLs are built from ``base_url`` (RITME_PUBLIC_URL)."""
    base = base_url.rstrip("/")
    url = base + "/slack/events"
    result: dict[str, Any] = {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Keeps your team's rituals alive: reflections, check-outs, pulses, appreciation.",
            "background_color": "#0a6640",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": name.lower(), "always_online": True},
            "slash_commands": [
                {
                    "command": "/ritme",
                    "url": url,
                    "description": "Rituals of this channel: help, list, add, run, review…",
                    "usage_hint": "help | list | add reflection every monday at 09:00",
                    "should_escape": True,
                }
            ],
        },
        "oauth_config": {"scopes": {"bot": [scope for scope, _why in BOT_SCOPES]}},
        "settings": {
            "event_subscriptions": {"request_url": url, "bot_events": list(BOT_EVENTS)},
            "interactivity": {"is_enabled": True, "request_url": url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
    if base.startswith("https://"):
        result["oauth_config"]["redirect_urls"] = [base + "/slack/oauth_redirect"]
    if socket_mode:
        del result["features"]["slash_commands"][0]["url"]
        del result["settings"]["event_subscriptions"]["request_url"]
        del result["settings"]["interactivity"]["request_url"]
    return result


def manifest_json(base_url: str, *, socket_mode: bool = False) -> str:
    return json.dumps(manifest(base_url, socket_mode=socket_mode), indent=2, ensure_ascii=False)


def cmd_slack_manifest(settings: Any, fail: Any, config_error: type[Exception]) -> int:
    """``ritme slack-manifest``: print the manifest for the configured public URL.

    ``settings`` reads the configuration; ``fail`` reports a configuration error (exit 2).
    """
    try:
        loaded = settings()
    except config_error as err:
        return int(fail(str(err)))
    socket_mode = bool(getattr(loaded, "slack_app_token", None))
    if not getattr(loaded, "public_url", None) and not socket_mode:
        print(
            f"ritme: RITME_PUBLIC_URL is not set; the manifest points Slack at {loaded.base_url}, "
            "which Slack cannot reach. Set it to Ritme's public https address.",
            file=sys.stderr,
        )
    print(manifest_json(loaded.base_url, socket_mode=socket_mode))
    return 0
