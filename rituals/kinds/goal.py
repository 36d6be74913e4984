"""Goal: keeps the team's shared goal in sight and asks how this week's work served it; once a
period (the year plan's, else a calendar quarter) the team looks back together."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rituals.i18n import Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.library import GOAL_QUESTIONS, PERIOD_GOAL_QUESTIONS, QUARTERLY_GOAL_QUESTIONS
from rituals.ports import TeamView
from rituals.types import Input, InputKind
from rituals.year import Period, missed_end, period_of, periods


def rotate(pool: tuple[str, ...], asked: list[str], ctx: PlanContext) -> str:
    """The next item of ``pool``: every item once per cycle, in random order.

    ``asked`` is newest first. Cycles are counted from the first time: the newest
    ``len(asked) % len(pool)`` items belong to the cycle under way.
    """
    earlier = [item for item in asked if item in pool]
    in_cycle = set(earlier[: len(earlier) % len(pool)]) if pool else set()
    fresh = [q for q in pool if q not in in_cycle]
    return ctx.rng.choice(fresh or list(pool))


def in_period(content: dict[str, Any], period: Period) -> bool:
    """Whether a round (its content's ``day``) fell in ``period``."""
    return period.start.isoformat() <= str(content.get("day", "")) <= period.end.isoformat()


def learning_goal(team: TeamView, content: dict[str, Any]) -> str:
    """The learning goal of the plan period a round's day falls in; empty when there is none."""
    try:
        day = date.fromisoformat(str(content.get("day")))
    except ValueError:
        return ""
    period = period_of(team.settings, day)
    return period.goal if period else ""


class Goal(KindDefaults):
    key = "goal"
    anonymous = False
    shared = True
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        """A weekly question about the goal, and a team look-back once a period: at the last round
        of each plan period when the team has a plan, else at the start of each calendar quarter."""
        asked = [str(h.get("question")) for h in ctx.history]
        today = {"day": ctx.day.isoformat()}
        if periods(ctx.team.settings):
            had = {p.start.isoformat() for p in periods(ctx.team.settings) for h in ctx.history if in_period(h, p)}
            late = missed_end(ctx.team.settings, ctx.day, had, {str(h.get("period")) for h in ctx.history})
            if late is not None:  # its last round fell on a holiday: the look-back comes now
                question = rotate(PERIOD_GOAL_QUESTIONS, asked, ctx)
                return {"question": question, "quarterly": True, "period": late.start.isoformat(), **today}
            period = period_of(ctx.team.settings, ctx.day)
            last = period is not None and ctx.following is not None and ctx.following > period.end
            if (
                period is not None
                and last
                and not any(h.get("period") == period.start.isoformat() for h in ctx.history)
            ):
                question = rotate(PERIOD_GOAL_QUESTIONS, asked, ctx)
                return {"question": question, "quarterly": True, "period": period.start.isoformat(), **today}
            return {"question": rotate(GOAL_QUESTIONS, asked, ctx), **today}
        recent = [h for h in ctx.history if h.get("day", "") >= (ctx.day - timedelta(days=60)).isoformat()]
        if ctx.day.month in (1, 4, 7, 10) and not any(h.get("quarterly") for h in recent):
            return {"question": rotate(QUARTERLY_GOAL_QUESTIONS, asked, ctx), "quarterly": True, **today}
        return {"question": rotate(GOAL_QUESTIONS, asked, ctx), **today}

    def title(self, _: Translator) -> str:
        return _("Our shared goal")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        prefix = self.intro_prefix(content, _)
        if team.goal:
            text = (prefix + " " if prefix else "") + _("Our goal: {goal}", goal=team.goal)
        else:
            text = (prefix + " " if prefix else "") + _(
                "This team has no shared goal yet. An admin or leader sets it with /ritme goal set TEXT."
            )
        learning = learning_goal(team, content)
        return text + "\n" + _("Our learning goal this period: {goal}", goal=learning) if learning else text

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        return (Input(key="answer", label=_(content.get("question", GOAL_QUESTIONS[0])), kind=InputKind.TEXT),)

    def intro_prefix(self, content: dict[str, Any], _: Translator) -> str:
        if content.get("period"):
            return _("The end of this period: we look back at our goal together.")
        return _("Quarterly team reflection on our goal.") if content.get("quarterly") else ""
