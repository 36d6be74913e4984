"""Commands on the values a team chooses from in values and appreciation rounds: the library's
and the team's own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.commands.grammar import ADD, LIST, REMOVE, nothing_more
from bot.commands.registry import Args, Command, CommandError, command
from rituals.i18n import N_, Translator
from rituals.library import VALUES
from rituals.ports import TeamView
from rituals.types import Notice

if TYPE_CHECKING:
    from bot.service import Ritme

VALUE_WORDS = ("values", "waarden")
VALUES_USAGE = (
    N_("Use 'values' to see them, or as admin 'values add NAME' or 'values remove NAME'."),
    N_("values add Curiosity"),
)
MAX_OWN_VALUES = 12


def _name(args: Args) -> dict[str, Any]:
    """A value's name, one or more words."""
    if not args.words:
        raise CommandError(*VALUES_USAGE)
    name = " ".join(args.words)
    if len(name) > 40:
        raise CommandError(N_("Keep a value short (at most 40 characters)."), VALUES_USAGE[1])
    return {"name": name}


@command(
    "values list",
    words=(VALUE_WORDS, LIST),
    args=nothing_more(VALUES_USAGE),
    bare=True,
    usage=VALUES_USAGE,
    help=(N_("values"), N_("the values the team chooses from")),
)
async def do_values_list(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    own = [str(v) for v in team.settings.get("values", [])]
    listed = ", ".join(_(v.name) for v in VALUES)
    return Notice(
        title=_("Our values"),
        text=listed,
        fields=(
            (
                _("The team's own"),
                ", ".join(own) if own else _("none yet; an admin adds one with /ritme values add NAME"),
            ),
        ),
        footer=_("Values rounds and appreciations offer all of them."),
    )


@command(
    "values add",
    words=(VALUE_WORDS, ADD),
    needs="admin",
    args=_name,
    help=(N_("values add Curiosity"), N_("add a value of the team's own")),
)
async def do_values_add(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    name = " ".join(cmd.args["name"].split())
    own = [str(v) for v in team.settings.get("values", [])]
    taken = {n.casefold() for n in own} | {_(v.name).casefold() for v in VALUES} | {v.name.casefold() for v in VALUES}
    if name.casefold() in taken:
        raise CommandError("'{name}' is already one of the values.", "values", name=name)
    if len(own) >= MAX_OWN_VALUES:
        raise CommandError(
            "A team has at most {most} values of its own; remove one first.",
            "values remove " + own[0],
            most=MAX_OWN_VALUES,
        )
    await ritme.repo.update_team(team.id, settings={**team.settings, "values": [*own, name]})
    await ritme.repo.audit(team.id, member_id, "values.add", {"name": name}, ritme.clock())
    return Notice(
        title=_("Value added"),
        text=_(
            "'{name}' is one of the team's values; the next values round and appreciation round offer it.", name=name
        ),
    )


@command(
    "values remove",
    words=(VALUE_WORDS, REMOVE),
    needs="admin",
    args=_name,
    help=(N_("values remove Curiosity"), N_("take a value of the team's own out")),
)
async def do_values_remove(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    own = [str(v) for v in team.settings.get("values", [])]
    kept = [v for v in own if v.casefold() != " ".join(cmd.args["name"].split()).casefold()]
    if len(kept) == len(own):
        raise CommandError(
            "'{name}' is not one of the team's own values. See /ritme values.", "values", name=cmd.args["name"]
        )
    await ritme.repo.update_team(team.id, settings={**team.settings, "values": kept})
    await ritme.repo.audit(team.id, member_id, "values.remove", {"name": cmd.args["name"]}, ritme.clock())
    return Notice(
        title=_("Value removed"),
        text=_("Rounds from now on no longer offer '{name}'; earlier answers keep it.", name=cmd.args["name"]),
    )
