"""Digest: a weekly look back, posted in the channel, at what the team's rituals brought."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.ports import TeamView
from rituals.types import Input


class Digest(KindDefaults):
    """Asks nothing; the engine posts the summary of rounds closed since the last digest."""

    key = "digest"
    anonymous = False
    shared = False
    digest = True
    fixed_visibility = True  # asks nothing
    default_open = timedelta(days=7)  # how far back the digest looks

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        return {}

    def title(self, _: Translator) -> str:
        return _("Week in review")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        return ""

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return ()
