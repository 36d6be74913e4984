"""``ritme slack-manifest``: one Request URL built from RITME_PUBLIC_URL, the scopes we use."""

from __future__ import annotations

import json

import pytest

from adapters.slack.manifest import manifest
from bot.cli import main


def test_manifest_urls_scopes_and_events() -> None:
    m = manifest("https://ritme.example.org/")
    url = "https://ritme.example.org/slack/events"
    assert m["features"]["slash_commands"][0] == {**m["features"]["slash_commands"][0], "command": "/ritme", "url": url}
    assert m["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert m["settings"]["event_subscriptions"]["request_url"] == url
    assert {
        "message.channels",
        "message.groups",
        "app_home_opened",
        "app_uninstalled",
        "tokens_revoked",
        "member_joined_channel",
        "member_left_channel",
    } <= set(m["settings"]["event_subscriptions"]["bot_events"])
    assert {"commands", "chat:write", "im:write", "users:read", "channels:history", "groups:history"} <= set(
        m["oauth_config"]["scopes"]["bot"]
    )
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    assert m["features"]["app_home"]["messages_tab_enabled"] is True  # DMs are seen there, answered by button


def test_cli_prints_the_manifest(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("RITME_PUBLIC_URL", "https://school.example")
    assert main(["slack-manifest"]) == 0
    out = capsys.readouterr()
    printed = json.loads(out.out)
    assert printed["settings"]["interactivity"]["request_url"] == "https://school.example/slack/events"
    assert out.err == ""
    monkeypatch.delenv("RITME_PUBLIC_URL")
    assert main(["slack-manifest"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["settings"]["interactivity"]["request_url"] == "http://127.0.0.1:3978/slack/events"
    assert "RITME_PUBLIC_URL is not set" in out.err  # said, on stderr, so the JSON stays clean


def test_https_lists_the_oauth_redirect_and_socket_mode_drops_the_urls() -> None:
    m = manifest("https://ritme.example.org")
    assert m["oauth_config"]["redirect_urls"] == ["https://ritme.example.org/slack/oauth_redirect"]
    assert "redirect_urls" not in manifest("http://127.0.0.1:3978")["oauth_config"]  # Slack takes https only
    socket = manifest("https://ritme.example.org", socket_mode=True)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "url" not in socket["features"]["slash_commands"][0]
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert socket["settings"]["interactivity"] == {"is_enabled": True}
