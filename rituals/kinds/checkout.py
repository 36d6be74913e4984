"""Check-out: after a meeting, a 1-5 score and what each member takes with them (anonymous by
default).

The check-out is the team meeting's moment in Ritme (it is scheduled at the meeting): when the
team focuses on a theme (the year plan's period, or ``theme ... for N weeks``), it brings back
the theme's discussion questions, one per meeting in turn, as the question for the next meeting.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext, scale_input
from rituals.library import CHECKOUT, THEMES, Theme, find_theme
from rituals.ports import TeamView
from rituals.types import Input, InputKind
from rituals.year import period_of, set_focus


def meeting_focus(ctx: PlanContext) -> tuple[Theme, str] | None:
    """The theme the team focuses on at ``ctx.day`` and the first day of that focus: the plan's
    period, else the block of ``theme ... for N weeks``; None without either."""
    period = period_of(ctx.team.settings, ctx.day)
    if period is not None:
        theme = find_theme(period.theme)
        return (theme, period.start.isoformat()) if theme else None
    keys = [t.key for t in (find_theme(w) for w in ctx.team.settings.get("themes") or []) if t] or list(THEMES)
    chosen = set_focus(ctx.team.settings, keys, ctx.day)
    return (THEMES[chosen[0]], chosen[1].isoformat()) if chosen else None


class Checkout(KindDefaults):
    key = "checkout"
    # Anonymous by default: a meeting's score is about the meeting its teamleider chaired, and
    # a score the chair reads with a name on it gets inflated (README, "Who reads an answer").
    anonymous = True
    shared = False
    default_open = timedelta(hours=4)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        focus = meeting_focus(ctx)
        if focus is None:
            return {}
        theme, since = focus
        earlier = sum(1 for h in ctx.history if h.get("focus_theme") == theme.key and h.get("since") == since)
        return {
            "focus_theme": theme.key,
            "since": since,
            "meeting_question": theme.discussion[earlier % len(theme.discussion)],
        }

    def title(self, _: Translator) -> str:
        return _("Meeting check-out")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        text = _("Before we go: how was this meeting for you?")
        theme = THEMES.get(str(content.get("focus_theme")))
        question = str(content.get("meeting_question") or "")
        if theme is None or not question:
            return text
        return text + "\n" + _("For our next meeting ({theme}): {question}", theme=_(theme.name), question=_(question))

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return (
            scale_input("score", _(CHECKOUT.score_question), _, _(CHECKOUT.low_label), _(CHECKOUT.high_label)),
            Input(key="takeaway", label=_(CHECKOUT.takeaway_question), kind=InputKind.TEXT),
            Input(key="better", label=_(CHECKOUT.improvement_question), kind=InputKind.TEXT, optional=True),
        )
