"""Commands on the team itself: its shared goal, its timezone and its language."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.commands.grammar import SET, free_text, nothing_more
from bot.commands.registry import Args, Command, CommandError, command
from rituals.former import readable
from rituals.i18n import N_, Translator, translator
from rituals.ports import TeamView
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Notice

if TYPE_CHECKING:
    from bot.service import Ritme

GOAL = ("goal", "doel")
GOAL_EXAMPLE = N_("goal set Every pupil reads with pleasure")
GOAL_USAGE = (N_("Use 'goal' to see the goal, 'goal set TEXT' to change it."), GOAL_EXAMPLE)
LANGUAGES = {"nl": "nl", "nederlands": "nl", "dutch": "nl", "en": "en", "english": "en", "engels": "en"}
_ZONES = {name.casefold(): name for name in available_timezones()}


def _timezone(args: Args) -> dict[str, Any]:
    if len(args.words) != 1:
        raise CommandError(N_("Give one timezone name."), "timezone Europe/Amsterdam")
    return {"zone": args.words[0]}


def _language(args: Args) -> dict[str, Any]:
    lang = LANGUAGES.get(args.first)
    if lang is None or len(args.words) != 1:
        raise CommandError(N_("The language is nl or en."), "language en")
    return {"language": lang}


@command(
    "goal",
    words=(GOAL,),
    args=nothing_more(GOAL_USAGE),
    help=(N_("goal"), N_("our shared goal")),
    menu=N_("The team's shared goal"),
)
async def do_goal(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    if team.goal:
        return Notice(title=_("Our shared goal"), text=readable(team.goal, _))
    return Notice(
        title=_("Our shared goal"),
        text=_("This team has no shared goal yet. An admin or leader sets it with /ritme goal set TEXT."),
    )


@command(
    "goal set",
    words=(GOAL, SET),
    needs="leader",
    args=free_text(
        GOAL_EXAMPLE,
        missing=N_("What is the goal? Write it after 'goal set'."),
        too_long=N_("Keep the goal short (at most 500 characters)."),
    ),
    help=(GOAL_EXAMPLE, N_("set the shared goal")),
)
async def do_goal_set(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    await ritme.repo.update_team(team.id, goal=cmd.args["text"])
    await ritme.repo.audit(team.id, member_id, "goal.set", {"goal": cmd.args["text"]}, ritme.clock())
    return Notice(title=_("Shared goal set"), text=cmd.args["text"])


@command(
    "timezone",
    words=(("timezone", "tijdzone"),),
    needs="admin",
    args=_timezone,
    help=(N_("timezone Europe/Amsterdam"), N_("the team's timezone")),
)
async def do_timezone(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    zone = _ZONES.get(cmd.args["zone"].casefold(), cmd.args["zone"])  # europe/amsterdam too
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CommandError(
            "'{zone}' is not a timezone I know. Use a name like Europe/Amsterdam.",
            "timezone Europe/Amsterdam",
            zone=zone[:60],
        ) from None
    await ritme.repo.update_team(team.id, timezone=zone)
    now = ritme.clock()
    rituals = [r for r in await ritme.repo.rituals(team.id) if r.schedule]
    last = await ritme.repo.last_planned([r.id for r in rituals])
    for r in rituals:
        try:
            schedule = parse_schedule(r.schedule)
        except ScheduleError:  # stored before a stricter reader; the engine has paused it
            continue
        next_due = schedule.next_after(now, tz)
        if next_due and r.id in last and next_due.astimezone(tz).date() <= last[r.id].astimezone(tz).date():
            next_due = schedule.next_after(next_due, tz)  # that day had its round already, in the old zone
        await ritme.repo.set_ritual(r.id, next_due_at=next_due)
    await ritme.repo.audit(team.id, member_id, "team.timezone", {"timezone": zone}, now)
    return Notice(title=_("Timezone set"), text=_("Times are now in {tz}.", tz=zone))


@command(
    "language",
    words=(("language", "taal"),),
    needs="admin",
    args=_language,
    help=(N_("language en"), N_("the team's language (nl or en)")),
    menu=N_("The team's language: nl or en"),
)
async def do_language(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    lang = cmd.args["language"]
    await ritme.repo.update_team(team.id, language=lang)
    await ritme.repo.audit(team.id, member_id, "team.language", {"language": lang}, ritme.clock())
    t = translator(lang)
    return Notice(title=t("Language set"), text=t("I speak English in this channel from now on."))
