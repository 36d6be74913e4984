"""The help: every command a member may run, with an example in the team's words, read from the
registry; in a one-to-one chat, the commands that work there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.formats import role_name, your_teams
from bot.commands.registry import COMMANDS, Command, HelpLine, command, help_lines
from bot.commands.rituals import KIND_CHOICES
from rituals.i18n import N_, Translator
from rituals.ports import TeamView
from rituals.types import Actor, Notice

if TYPE_CHECKING:
    from bot.service import Ritme


def personal_lines() -> list[HelpLine]:
    """The help lines of what anyone may run in a one-to-one chat with Ritme."""
    return [
        line
        for spec in COMMANDS.values()
        if spec.personal and spec.needs is None and spec.name != "help"
        for line in spec.help
    ]


async def personal_help(
    ritme: Ritme, actor: Actor, cmd: Command, teams: list[tuple[TeamView, int]], _: Translator
) -> Notice:
    return Notice(
        title=_("Ritme keeps your team's rituals going"),
        text=_(
            "Rituals belong to a team's channel: type /ritme help there to see what you can do. "
            "Here, in a chat with just you, these work:"
        ),
        fields=tuple((f"/ritme {_(example)}", _(what)) for example, what in personal_lines()),
        footer=your_teams(_, teams),
    )


@command(
    "help",
    words=(("help", "hulp", "?"),),
    personal=personal_help,
    help=(N_("help"), N_("this overview")),
    menu=N_("The commands, with examples"),
)
async def do_help(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    rows = [(_(example), _(what)) for example, what in help_lines(role)]  # the examples in the team's words too
    fields = tuple((f"/ritme {example}", what) for example, what in rows)
    kinds = _.words(KIND_CHOICES)
    return Notice(
        title=_("Ritme keeps your team's rituals going"),
        text=_("Kinds of ritual: {kinds}. A schedule may end with 'open 2d': how long answers are taken.", kinds=kinds),
        fields=fields,
        footer=_("Your role in this team: {role}", role=role_name(_, role)),
    )
