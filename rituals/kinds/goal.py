"""Goal: keeps the team's shared goal in sight and asks how this week's work served it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.library import GOAL_QUESTIONS, QUARTERLY_GOAL_QUESTIONS
from rituals.ports import TeamView
from rituals.types import Input, InputKind


def rotate(pool: tuple[str, ...], asked: list[str], ctx: PlanContext) -> str:
    """The next item of ``pool``: every item once per cycle, in random order.

    ``asked`` is newest first. Cycles are counted from the first time: the newest
    ``len(asked) % len(pool)`` items belong to the cycle under way.
    """
    earlier = [item for item in asked if item in pool]
    in_cycle = set(earlier[: len(earlier) % len(pool)]) if pool else set()
    fresh = [q for q in pool if q not in in_cycle]
    return ctx.rng.choice(fresh or list(pool))


class Goal(KindDefaults):
    key = "goal"
    anonymous = False
    shared = True
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        """A weekly question about the goal; at the start of each quarter a team reflection."""
        asked = [str(h.get("question")) for h in ctx.history]
        recent = [h for h in ctx.history if h.get("day", "") >= (ctx.day - timedelta(days=60)).isoformat()]
        if ctx.day.month in (1, 4, 7, 10) and not any(h.get("quarterly") for h in recent):
            return {
                "question": rotate(QUARTERLY_GOAL_QUESTIONS, asked, ctx),
                "quarterly": True,
                "day": ctx.day.isoformat(),
            }
        return {"question": rotate(GOAL_QUESTIONS, asked, ctx), "day": ctx.day.isoformat()}

    def title(self, _: Translator) -> str:
        return _("Our shared goal")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        prefix = self.intro_prefix(content, _)
        if team.goal:
            return (prefix + " " if prefix else "") + _("Our goal: {goal}", goal=team.goal)
        return (prefix + " " if prefix else "") + _(
            "This team has no shared goal yet. An admin or leader sets it with /ritme goal set TEXT."
        )

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return (Input(key="answer", label=_(content.get("question", GOAL_QUESTIONS[0])), kind=InputKind.TEXT),)

    def intro_prefix(self, content: dict[str, Any], _: Translator) -> str:
        return _("Quarterly team reflection on our goal.") if content.get("quarterly") else ""
