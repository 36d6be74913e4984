"""A team as the engine sees it, for tests of the ritual kinds that need no database."""

from __future__ import annotations

from rituals.ports import TeamView


def team_view(*, language: str = "en", holiday_country: str | None = None, **settings: object) -> TeamView:
    """A team in Amsterdam's timezone, threshold 3, with ``settings`` as its settings."""
    return TeamView(
        id=1,
        platform="p",
        workspace_id="w",
        channel_id="c",
        name="T",
        timezone="Europe/Amsterdam",
        language=language,
        goal=None,
        holiday_country=holiday_country,
        anonymity_threshold=3,
        settings=dict(settings),
    )
