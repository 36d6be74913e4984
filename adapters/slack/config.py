"""What the Slack adapter needs to know, handed in by the composition root (``bot/``).

The adapter never reads the environment itself: ``bot.config.Settings`` is read and
validated once, and this small frozen value carries the Slack part of it inward.

Three ways to run, chosen by which credentials are set:

- ``bot_token`` (``SLACK_BOT_TOKEN``): one workspace, requests over HTTP at ``/slack/events``;
- ``client_id``/``client_secret`` (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``): any number
  of workspaces installed through ``/slack/install``, a token per workspace in the database;
- ``app_token`` (``SLACK_APP_TOKEN``), with either of the above: requests arrive over a
  Socket Mode WebSocket instead of HTTP (no public URL needed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackConfig:
    bot_token: str | None = None
    signing_secret: str = ""  # empty: HTTP requests can never verify (Socket Mode only)
    api_url: str = "https://slack.com/api/"
    base_url: str = "http://127.0.0.1:3978"
    app_token: str | None = None  # Socket Mode
    client_id: str | None = None  # multi-workspace OAuth
    client_secret: str | None = None
    dedupe_size: int = 2048  # how many handled request keys are remembered against retries
    replay_size: int = 100_000  # how many signatures of signed requests are remembered against replays
    user_cache_seconds: float = 60.0  # how long users.info answers (admin flag, name) are reused
    install_cache_seconds: float = 30.0  # how long a workspace's token and state are reused
    pace_seconds: float = 1.0  # at most one message per this many seconds per channel
    socket_ping_seconds: float = 10.0

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    @property
    def api_base(self) -> str:
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    @property
    def events_url(self) -> str:
        return self.base_url.rstrip("/") + "/slack/events"

    @property
    def redirect_url(self) -> str:
        return self.base_url.rstrip("/") + "/slack/oauth_redirect"

    @property
    def authorize_url(self) -> str:
        """Slack's consent page, on the same host as the Web API (slack.com, GovSlack, a fake)."""
        base = self.api_base
        if base.endswith("/api/"):
            base = base[: -len("api/")]
        return base + "oauth/v2/authorize"
