"""Reflection: a question from the themed library, rotating without repeats within a theme."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.kinds.goal import rotate
from rituals.library import THEMES, Theme, find_theme
from rituals.ports import TeamView
from rituals.types import Input, InputKind


def themes_for(ctx: PlanContext) -> list[Theme]:
    """The ritual's themes, else the team's, else all of the library."""
    wanted = ctx.options.get("themes") or ctx.team.settings.get("themes") or []
    chosen = [t for t in (find_theme(w) for w in wanted) if t is not None]
    return chosen or list(THEMES.values())


def planned_theme(ctx: PlanContext) -> Theme | None:
    """The theme the year plan gives the occurrence's day, if any."""
    day = ctx.day.isoformat()
    for period in ctx.team.settings.get("plan", []):
        if period.get("start", "") <= day <= period.get("end", ""):
            return find_theme(str(period.get("theme", "")))
    return None


class Reflection(KindDefaults):
    key = "reflection"
    anonymous = False
    shared = True
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        theme = planned_theme(ctx)
        if theme is None:
            themes = themes_for(ctx)
            last = str(ctx.history[0].get("theme")) if ctx.history else None
            keys = [t.key for t in themes]
            theme = themes[(keys.index(last) + 1) % len(themes)] if last in keys else themes[0]
        own = tuple(ctx.team.settings.get("questions", ()))
        pool = theme.questions + own
        asked = [str(h.get("question")) for h in ctx.history if h.get("theme") == theme.key]
        return {"theme": theme.key, "question": rotate(pool, asked, ctx)}

    def title(self, _: Translator) -> str:
        return _("Reflection")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        theme = THEMES.get(str(content.get("theme")))
        if theme is None:
            return _("Take a few minutes for this question.")
        return _("Theme: {theme}. Take a few minutes for this question.", theme=_(theme.name))

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        question = str(content.get("question", ""))
        return (
            Input(
                key="answer", label=_(question) if question else _("What did you learn this week?"), kind=InputKind.TEXT
            ),
        )
