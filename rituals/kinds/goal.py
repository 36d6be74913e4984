"""Goal: keeps the team's shared goal in sight and asks how this week's work served it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import PlanContext
from rituals.library import GOAL_QUESTIONS
from rituals.ports import TeamView
from rituals.types import Input, InputKind


def rotate(pool: tuple[str, ...], asked: list[str], ctx: PlanContext) -> str:
    """The next item of ``pool`` not asked since the pool was last exhausted."""
    seen: set[str] = set()
    for item in asked:  # newest first: walk back until the pool is complete
        if item in pool:
            seen.add(item)
            if seen >= set(pool):
                seen = set()
                break
    fresh = [q for q in pool if q not in seen]
    return ctx.rng.choice(fresh or list(pool))


class Goal:
    key = "goal"
    anonymous = False
    shared = True
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        asked = [str(h.get("question")) for h in ctx.history]
        return {"question": rotate(GOAL_QUESTIONS, asked, ctx)}

    def title(self, _: Translator) -> str:
        return _("Our shared goal")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        if team.goal:
            return _("Our goal: {goal}", goal=team.goal)
        return _("This team has no shared goal yet. An admin or leader sets it with /ritme goal set TEXT.")

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return (Input(key="answer", label=_(content.get("question", GOAL_QUESTIONS[0])), kind=InputKind.TEXT),)
