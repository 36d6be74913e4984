"""Reflection: a question from the themed library, one theme for a period, going deeper.

A reflection stays on one theme for a period: the year plan's period when a plan covers the
day, else blocks of the weeks the team set (``theme safety learning for 6 weeks``), else six
weeks from the theme's first round. Within a period the theme's questions come in the
library's order, from what others did to one's own doubts; once all were asked they rotate
without repeats. The moments of the school year (``rituals.year.moment``) ask their own
questions: the kickoff, a period's end (about its learning goal), the middle of the year (the
good intentions of the kickoff) and the end of the year.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rituals.i18n import N_, Translator
from rituals.kinds.base import KindDefaults, PlanContext
from rituals.kinds.goal import rotate
from rituals.kinds.values import core_line
from rituals.library import (
    CORE_VALUES,
    END_OF_YEAR_QUESTIONS,
    KICKOFF_QUESTIONS,
    LEARNING_GOAL,
    MIDYEAR_QUESTION,
    PERIOD_END_QUESTION,
    PERIOD_END_THEME_QUESTION,
    REQUIRES,
    THEMES,
    VALUE_QUESTION_WITHOUT_MEANING,
    VALUE_QUESTIONS,
    Theme,
    find_theme,
)
from rituals.ports import TeamView
from rituals.types import Input, InputKind
from rituals.year import (
    DEFAULT_FOCUS_WEEKS,
    core_values,
    missed_end,
    moment,
    period_of,
    school_year,
    set_focus,
)

MOMENT_QUESTIONS = {"kickoff": KICKOFF_QUESTIONS, "end_of_year": END_OF_YEAR_QUESTIONS}
LOOK_BACKS = ("period_end", "end_of_year")
MOMENT_INTROS = {
    "kickoff": N_(
        "A new school year begins. Before the weeks fill up: why are we a team, and what do we want this year?"
    ),
    "end_of_year": N_("The school year is nearly over. Before the summer we look back together."),
    "period_end": N_("The last round of this period: we look back."),
    "midyear": N_("Halfway through the school year: how are our good intentions doing?"),
}


def themes_for(ctx: PlanContext) -> list[Theme]:
    """The ritual's themes, else the team's, else all of the library."""
    wanted = ctx.options.get("themes") or ctx.team.settings.get("themes") or []
    chosen = [t for t in (find_theme(w) for w in wanted) if t is not None]
    return chosen or list(THEMES.values())


def focus_of(ctx: PlanContext) -> tuple[Theme, date]:
    """The theme outside the plan and the first day of its focus: the team's set blocks, else
    the last round's theme for six weeks from its start, then the next theme."""
    themes = themes_for(ctx)
    keys = [t.key for t in themes]
    chosen = set_focus(ctx.team.settings, keys, ctx.day)
    if chosen:
        return THEMES[chosen[0]], chosen[1]
    last = ctx.history[0] if ctx.history else {}
    if last.get("theme") in keys and not last.get("period"):
        try:
            since = date.fromisoformat(str(last.get("since")))
        except ValueError:
            since = None
        if since is not None and ctx.day - since < timedelta(weeks=DEFAULT_FOCUS_WEEKS):
            return THEMES[str(last["theme"])], since
        return themes[(keys.index(str(last["theme"])) + 1) % len(themes)], ctx.day
    return themes[0], ctx.day


def stored(ctx: PlanContext, goal: str) -> set[str]:
    """What the team has stored that questions may refer to."""
    have = {LEARNING_GOAL} if goal else set()
    return have | ({CORE_VALUES} if core_values(ctx.team.settings) else set())


def next_question(ctx: PlanContext, theme: Theme, since: str, goal: str) -> dict[str, Any]:
    """The theme's next question in this focus: in the library's order, then rotating."""
    have = stored(ctx, goal)
    own = tuple(ctx.team.settings.get("questions", ()))
    values = core_values(ctx.team.settings) if theme.key == "values" else []
    pool = tuple(VALUE_QUESTIONS if values else ()) + tuple(
        q for q in theme.questions + own if REQUIRES.get(q, "") in have | {""}
    )
    here = [str(h.get("question")) for h in ctx.history if h.get("theme") == theme.key and h.get("since") == since]
    fresh = [q for q in pool if q not in here]
    if fresh:
        question = fresh[0]
    else:
        question = rotate(pool, [str(h.get("question")) for h in ctx.history if h.get("theme") == theme.key], ctx)
    content: dict[str, Any] = {"question": question}
    if question in VALUE_QUESTIONS:
        value = values[sum(1 for h in ctx.history if h.get("value")) % len(values)]
        content["value"] = {"key": value.key, "name": value.name, "meaning": value.meaning}
    return content


class Reflection(KindDefaults):
    key = "reflection"
    anonymous = False
    shared = True
    default_open = timedelta(days=2)

    def plan(self, ctx: PlanContext) -> dict[str, Any]:
        period = period_of(ctx.team.settings, ctx.day)
        late = self.late_look_back(ctx)
        if late is not None:
            return late
        if period is None:
            theme, since = focus_of(ctx)
            return {"theme": theme.key, "since": since.isoformat(), **next_question(ctx, theme, since.isoformat(), "")}
        theme = find_theme(period.theme) or themes_for(ctx)[0]
        start = period.start.isoformat()
        content: dict[str, Any] = {"theme": theme.key, "period": start, "since": start}
        if period.goal:
            content["goal"] = period.goal
        first_here = not any(h.get("period") == start for h in ctx.history)
        when = moment(period, school_year(ctx.team.settings, ctx.day), ctx.day, ctx.following, first_here)
        if when in MOMENT_QUESTIONS:
            return {**content, "moment": when, "questions": list(MOMENT_QUESTIONS[when])}
        if when == "period_end":
            return {
                **content,
                "moment": when,
                "question": PERIOD_END_QUESTION if period.goal else PERIOD_END_THEME_QUESTION,
            }
        if when == "midyear":
            return {**content, "moment": when, "question": MIDYEAR_QUESTION}
        return {**content, **next_question(ctx, theme, start, period.goal)}

    @staticmethod
    def late_look_back(ctx: PlanContext) -> dict[str, Any] | None:
        """The look-back of a period whose last round fell on a holiday, asked in the first round
        after it (``rituals.year.missed_end``); None when every period had its own."""
        had = {str(h.get("period")) for h in ctx.history if h.get("period")}
        asked = {str(h.get("looks_back") or h.get("period")) for h in ctx.history if h.get("moment") in LOOK_BACKS}
        late = missed_end(ctx.team.settings, ctx.day, had, asked)
        if late is None:
            return None
        year = school_year(ctx.team.settings, late.start)
        theme = find_theme(late.theme) or themes_for(ctx)[0]
        now = period_of(ctx.team.settings, ctx.day)
        content: dict[str, Any] = {
            "theme": theme.key,
            "since": late.start.isoformat(),
            "looks_back": late.start.isoformat(),
        }
        if now is not None:
            content["period"] = now.start.isoformat()
        if late.goal:
            content["goal"] = late.goal
        if year and late == year[-1]:
            return {**content, "moment": "end_of_year", "questions": list(END_OF_YEAR_QUESTIONS)}
        question = PERIOD_END_QUESTION if late.goal else PERIOD_END_THEME_QUESTION
        return {**content, "moment": "period_end", "question": question}

    def title(self, _: Translator) -> str:
        return _("Reflection")

    def intro(self, content: dict[str, Any], team: TeamView, _: Translator) -> str:
        theme = THEMES.get(str(content.get("theme")))
        lines = [_(MOMENT_INTROS[str(content["moment"])])] if content.get("moment") in MOMENT_INTROS else []
        if theme is None:
            lines.append(_("Take a few minutes for this question."))
        elif content.get("questions"):
            lines.append(_("Theme of this period: {theme}.", theme=_(theme.name)))
        else:
            lines.append(_("Theme: {theme}. Take a few minutes for this question.", theme=_(theme.name)))
        if content.get("goal") and content.get("moment") != "period_end":
            lines.append(_("Our learning goal this period: {goal}", goal=str(content["goal"])))
        if theme is not None and theme.key == "values" and not content.get("questions"):
            lines.append(core_line({"core": team.settings.get("core_values")}, _))
        return "\n".join(line for line in lines if line)

    def inputs(self, content: dict[str, Any], team: TeamView, _: Translator) -> tuple[Input, ...]:
        several = [str(q) for q in content.get("questions") or []]
        if several:
            return tuple(
                Input(key="answer" if n == 0 else f"answer_{n + 1}", label=_(q), kind=InputKind.TEXT, optional=True)
                for n, q in enumerate(several)
            )
        question = str(content.get("question", ""))
        return (Input(key="answer", label=self.label(question, content, _), kind=InputKind.TEXT),)

    @staticmethod
    def label(question: str, content: dict[str, Any], _: Translator) -> str:
        """The question in the team's language, with the goal, theme or value it names."""
        if not question:
            return _("What did you learn this week?")
        value = content.get("value")
        if isinstance(value, dict) and question in (*VALUE_QUESTIONS, VALUE_QUESTION_WITHOUT_MEANING):
            name = core_values({"core_values": [value]})[0].label(_)
            if not value.get("meaning"):  # the team has not said yet what it looks like here
                return _(VALUE_QUESTION_WITHOUT_MEANING, value=name)
            return _(question, value=name, meaning=str(value.get("meaning", "")))
        if question == PERIOD_END_QUESTION:
            return _(question, goal=str(content.get("goal", "")))
        if question == PERIOD_END_THEME_QUESTION:
            theme = THEMES.get(str(content.get("theme")))
            return _(question, theme=_(theme.name) if theme else "")
        return _(question)
