"""Commands on what reflections ask: the team's own questions, the themes they draw from, and the
year plan that gives each period a theme."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.commands.grammar import ADD, LIST, REMOVE, free_text, parse_period, period
from bot.commands.registry import Args, Command, CommandError, command
from rituals.i18n import N_, Translator
from rituals.library import THEMES, find_theme
from rituals.ports import TeamView
from rituals.types import Notice
from rituals.year import MAX_FOCUS_WEEKS, focus_weeks

if TYPE_CHECKING:
    from bot.service import Ritme

QUESTION_EXAMPLE = N_("question add What surprised you this week?")
PLAN = ("plan", "jaarplan", "jaarkalender")
PLAN_EXAMPLE = N_("plan add 2027-01-05..2027-03-27 safety Everyone gets a turn to speak")
FOCUS_EXAMPLE = N_("theme safety learning for 6 weeks")
FOR = ("for", "voor")
WEEKS = ("weeks", "week", "weken")
MAX_LEARNING_GOAL = 300


def _themes(args: Args) -> dict[str, Any]:
    """Theme words, any number, optionally ending ``for N weeks`` (``voor N weken``): how long a
    reflection stays on each; none shows the current ones."""
    words = [w.lower() for w in args.words]
    if len(words) >= 3 and words[-3] in FOR and words[-1] in WEEKS:
        if not words[-2].isdigit() or not 1 <= int(words[-2]) <= MAX_FOCUS_WEEKS:
            raise CommandError(N_("A focus lasts from 1 to {most} weeks."), FOCUS_EXAMPLE, most=MAX_FOCUS_WEEKS)
        return {"themes": words[:-3], "weeks": int(words[-2])}
    return {"themes": words}


def _plan_add(args: Args) -> dict[str, Any]:
    """A period, then its theme (one or more words), then its learning goal as typed."""
    start, end = parse_period(args.words[0] if args.words else None, PLAN_EXAMPLE)
    rest = list(args.words[1:])
    if not rest:
        raise CommandError(N_("Which theme? Name it after the period."), PLAN_EXAMPLE)
    taken = next((n for n in range(min(len(rest), 4), 0, -1) if find_theme(" ".join(rest[:n]))), 1)
    goal = " ".join(rest[taken:])
    if len(goal) > MAX_LEARNING_GOAL:
        raise CommandError(N_("Keep the learning goal short (at most {most} characters)."), PLAN_EXAMPLE, most=300)
    return {"start": start, "end": end, "theme": " ".join(rest[:taken]).lower(), "goal": goal}


@command(
    "question add",
    words=(("question", "vraag"), ADD),
    needs="admin",
    args=free_text(
        QUESTION_EXAMPLE,
        missing=N_("Write the question after 'question add'."),
        too_long=N_("Keep the question short (at most 500 characters)."),
    ),
    usage=(N_("Write the question after 'question add'."), QUESTION_EXAMPLE),
    help=(QUESTION_EXAMPLE, N_("add your own reflection question")),
)
async def do_question_add(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    settings = dict(team.settings)
    questions = list(settings.get("questions", []))
    if cmd.args["text"] in questions:
        return Notice(title=_("Already there"), text=cmd.args["text"])
    questions.append(cmd.args["text"])
    settings["questions"] = questions
    await ritme.repo.update_team(team.id, settings=settings)
    await ritme.repo.audit(team.id, member_id, "question.add", {"text": cmd.args["text"]}, ritme.clock())
    return Notice(title=_("Question added"), text=_("Reflections will ask it too: {text}", text=cmd.args["text"]))


@command(
    "theme",
    words=(("theme", "thema", "themes", "themas", "thema's"),),
    needs="admin",
    args=_themes,
    help=(
        (N_("theme safety learning"), N_("choose reflection themes")),
        (FOCUS_EXAMPLE, N_("how many weeks a reflection stays on each theme")),
    ),
)
async def do_theme(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    words = cmd.args["themes"]
    names = ", ".join(f"{key} ({_(t.name)})" for key, t in THEMES.items())
    if not words:
        current = [THEMES[key] for key in team.settings.get("themes") or [] if key in THEMES]
        text = ", ".join(_(t.name) for t in current) if current else _("all themes")
        return Notice(
            title=_("Themes"),
            text=_("Reflections draw from: {themes}", themes=text),
            footer=_("Available: {names}", names=names),
        )
    themes = []
    for word in words:
        theme = find_theme(word)
        if theme is None:
            raise CommandError(
                "'{word}' is not a theme. Available: {names}", "theme safety learning", word=word[:40], names=names
            )
        themes.append(theme.key)
    settings = dict(team.settings)
    settings["themes"] = themes
    weeks = cmd.args.get("weeks")
    if weeks:
        today = ritme.clock().astimezone(ZoneInfo(team.timezone)).date()
        settings["focus"] = {"weeks": weeks, "since": today.isoformat()}
    await ritme.repo.update_team(team.id, settings=settings)
    await ritme.repo.audit(team.id, member_id, "team.themes", {"themes": themes, "weeks": weeks}, ritme.clock())
    text = _("Reflections draw from: {themes}", themes=", ".join(_(THEMES[k].name) for k in themes))
    weeks = focus_weeks(settings)
    footer = _.ngettext(
        "Each theme stays for {n} week, outside the year plan's periods.",
        "Each theme stays for {n} weeks, outside the year plan's periods.",
        weeks,
    )
    return Notice(title=_("Themes set"), text=text, footer=footer)


@command(
    "plan add",
    words=(PLAN, ADD),
    needs="admin",
    args=_plan_add,
    usage=(N_("Use 'plan add', 'plan list' or 'plan remove'."), PLAN_EXAMPLE),
    help=(PLAN_EXAMPLE, N_("the year plan: a theme and a learning goal per period")),
)
async def do_plan_add(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    theme = find_theme(cmd.args["theme"])
    if theme is None:
        raise CommandError(
            N_("'{word}' is not a theme. Available: {names}"),
            "plan add 2026-09-01..2026-10-31 safety",
            word=cmd.args["theme"][:40],
            names=", ".join(THEMES),
        )
    a, b = cmd.args["start"].isoformat(), cmd.args["end"].isoformat()
    plan = [p for p in team.settings.get("plan", []) if p["end"] < a or p["start"] > b]
    entry = {"start": a, "end": b, "theme": theme.key, **({"goal": cmd.args["goal"]} if cmd.args.get("goal") else {})}
    plan.append(entry)
    await ritme.repo.update_team(team.id, settings={**team.settings, "plan": sorted(plan, key=lambda p: p["start"])})
    await ritme.repo.audit(team.id, member_id, "plan.add", entry, ritme.clock())
    text = _(
        "From {start} to {end} reflections draw from: {theme}",
        start=_.day(cmd.args["start"], year=True),
        end=_.day(cmd.args["end"], year=True),
        theme=_(theme.name),
    )
    if entry.get("goal"):
        text += "\n" + _("Our learning goal this period: {goal}", goal=entry["goal"])
        footer = _("Prompts of the period show it; its last reflection asks where we stand.")
    else:
        footer = _("Add a learning goal after the theme, e.g. /ritme {example}", example=_(PLAN_EXAMPLE))
    return Notice(title=_("Year plan updated"), text=text, footer=footer)


@command("plan list", words=(PLAN, LIST), needs="admin", bare=True, help=(N_("plan list"), N_("the year plan")))
async def do_plan_list(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    plan = team.settings.get("plan", [])
    if not plan:
        return Notice(
            title=_("Year plan"),
            text=_("No periods planned yet."),
            footer=_("For example: /ritme {example}", example=_(PLAN_EXAMPLE)),
        )
    return Notice(
        title=_("Year plan"),
        text="",
        fields=tuple(
            (f"{p['start']}..{p['end']}", _(THEMES[p["theme"]].name) + (f": {p['goal']}" if p.get("goal") else ""))
            for p in plan
            if p["theme"] in THEMES
        ),
    )


@command(
    "plan remove",
    words=(PLAN, REMOVE),
    needs="admin",
    args=period("plan remove 2026-09-01..2026-10-31"),
    help=(N_("plan remove 2026-09-01..2026-10-31"), N_("take a period out of the year plan")),
)
async def do_plan_remove(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    a, b = cmd.args["start"].isoformat(), cmd.args["end"].isoformat()
    plan = team.settings.get("plan", [])
    kept = [p for p in plan if (p["start"], p["end"]) != (a, b)]
    if len(kept) == len(plan):
        raise CommandError(
            N_("There is no planned period from {start} to {end}. See /ritme plan list."), "plan list", start=a, end=b
        )
    await ritme.repo.update_team(team.id, settings={**team.settings, "plan": kept})
    await ritme.repo.audit(team.id, member_id, "plan.remove", {"start": a, "end": b}, ritme.clock())
    return Notice(title=_("Year plan updated"), text=f"{a}..{b}")
