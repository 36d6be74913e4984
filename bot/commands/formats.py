"""How command answers write things down: times, durations, schedules, roles, and a refusal
that shows the right form, the teams of a person. Shared by the areas, ``bot.service`` and the
Slack home tab."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rituals.i18n import Translator
from rituals.kinds import KINDS
from rituals.ports import TeamView
from rituals.schedule import ScheduleError, parse_schedule
from rituals.types import Notice
from rituals.visibility import NAMES, Visibility, default_visibility


def error_notice(
    _: Translator, reason: str, example: str, example_params: Mapping[str, object] | None = None
) -> Notice:
    """Why a command did not work, and an example of what does (a message id, with its fields)."""
    footer = _("For example: /ritme {example}", example=_(example, **(example_params or {}))) if example else ""
    return Notice(title=_("That did not work"), text=reason, footer=footer)


def role_name(_: Translator, role: str) -> str:
    return {"admin": _("admin"), "leader": _("leader"), "member": _("member")}.get(role, role)


def describe_schedule(spec: str, _: Translator) -> str:
    if not spec:
        return _("on demand")
    try:
        return parse_schedule(spec).describe(_)
    except ScheduleError:  # stored before a stricter reader: shown as it was typed
        return spec


def format_time(when: datetime, tz: ZoneInfo, _: Translator) -> str:
    """A moment in the team's language and timezone: "ma 7 dec 09:00"."""
    return _.when(when, tz)


def format_duration(delta: timedelta, _: Translator) -> str:
    hours = int(delta.total_seconds() // 3600)
    if hours and hours % 24 == 0:
        return _("{n} days", n=hours // 24) if hours != 24 else _("1 day")
    if hours:
        return _("{n} hours", n=hours) if hours != 1 else _("1 hour")
    return _("{n} minutes", n=int(delta.total_seconds() // 60))


def team_names(teams: Sequence[tuple[TeamView, int]]) -> str:
    """The person's teams by name (their channel's id where they have none)."""
    return ", ".join(team.name or team.channel_id for team, _member in teams)


def your_teams(_: Translator, teams: Sequence[tuple[TeamView, int]]) -> str:
    """Where a person's rituals are, said in a one-to-one chat."""
    return _("Your teams: {teams}.", teams=team_names(teams)) if teams else _("You are not in a team with rituals yet.")


def describe_visibility(kind: str, chosen: str | None, ritual_id: int, _: Translator) -> str:
    """For an admin: who reads a ritual's answers, chosen or by default, and how to change it."""
    level = Visibility(chosen) if chosen else default_visibility(KINDS[kind])
    if KINDS[kind].fixed_visibility:  # the kind's own level: no command changes it
        return _("Who reads the answers: {level}.", level=_(NAMES[level]))
    line = _(
        "Who reads the answers: {level}. Change it with /ritme visibility #{id} team|leaders|anonymous.",
        level=_(NAMES[level]),
        id=ritual_id,
    )
    if chosen is None and level is Visibility.TEAM and kind == "reflection":
        line += " " + _("Questions the library marks as sensitive are answered anonymously unless you choose team.")
    return line
