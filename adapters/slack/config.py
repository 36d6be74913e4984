"""What the Slack adapter needs to know, handed in by the composition root (``bot/``).

The adapter never reads the environment itself: ``bot.config.Settings`` is read and
validated once, and this small frozen value carries the Slack part of it inward.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class SlackConfig:
    """A single-workspace Slack app served over HTTP at ``{base_url}/slack/events``."""

    bot_token: str
    signing_secret: str
    api_url: str = "https://slack.com/api/"
    base_url: str = "http://127.0.0.1:3978"
    app_token: str | None = None  # Socket Mode: not implemented yet
    client_id: str | None = None  # multi-workspace OAuth: not implemented yet
    client_secret: str | None = None
    dedupe_size: int = 2048  # how many handled request keys are remembered against retries
    user_cache_seconds: float = 60.0  # how long users.info answers (admin flag, name) are reused

    @property
    def events_url(self) -> str:
        return self.base_url.rstrip("/") + "/slack/events"
