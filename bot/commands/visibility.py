"""``visibility ID team|leaders|anonymous``: who reads a ritual's answers, chosen by an admin.

The ritual keeps the level; each round keeps the level it opened with (``rituals.visibility``),
so a round open at the change goes on as its members were told, and the change applies from
the ritual's next round. Already given anonymous answers never get a name, and named ones
never look anonymous.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.commands.formats import describe_visibility
from bot.commands.grammar import parse_id
from bot.commands.registry import Args, Command, CommandError, command
from bot.commands.rituals import ritual_of
from rituals.i18n import N_, Translator
from rituals.kinds import KINDS
from rituals.ports import TeamView
from rituals.types import Notice
from rituals.visibility import NAMES, Visibility, parse_visibility, round_visibility

if TYPE_CHECKING:
    from bot.service import Ritme

EXAMPLE = N_("visibility #1 leaders")
USAGE = N_("Use 'visibility #N team', 'visibility #N leaders' or 'visibility #N anonymous'.")


def _visibility(args: Args) -> dict[str, Any]:
    """``#N LEVEL``: a ritual's number and one of the levels' words (English or Dutch)."""
    if len(args.words) != 2:
        raise CommandError(USAGE, EXAMPLE)
    ritual = parse_id(args.words[0], EXAMPLE)
    level = parse_visibility(args.words[1])
    if level is None:
        raise CommandError(N_("'{word}' is not one of: team, leaders, anonymous."), EXAMPLE, word=args.words[1][:40])
    return {"id": ritual, "visibility": level}


@command(
    "visibility",
    words=(("visibility", "zichtbaarheid"),),
    needs="admin",
    args=_visibility,
    help=(
        (EXAMPLE, N_("only leaders and admins read the answers of ritual #1; the team sees how many answered")),
        (N_("visibility #1 anonymous"), N_("answers of ritual #1 without names, results from the threshold up")),
        (N_("visibility #1 team"), N_("the team reads the answers of ritual #1, with names, when a round closes")),
    ),
)
async def do_visibility(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    ritual = await ritual_of(ritme, cmd, team)
    level: Visibility = cmd.args["visibility"]
    kind = KINDS[ritual.kind]
    if kind.fixed_visibility:
        raise CommandError(
            N_("Who reads the answers of a {kind} is fixed; leave out '{word}'."),
            "list",
            kind=kind.title(_),
            word=_(NAMES[level]),
        )
    await ritme.repo.set_ritual(ritual.id, visibility=level.value)
    now = ritme.clock()
    await ritme.repo.audit(
        team.id, member_id, "ritual.visibility", {"ritual": ritual.id, "visibility": level.value}, now
    )
    footer = ""
    for occ in (await ritme.repo.open_occurrences([ritual.id])).get(ritual.id, []):
        current = round_visibility(ritual.kind, occ.content)
        if current is not level:
            footer = _(
                "The open round stays {level}, as its members were told; the change applies from the next round.",
                level=_(NAMES[current]),
            )
    return Notice(
        title=_("Ritual #{id}: who reads the answers", id=ritual.id),
        text=describe_visibility(ritual.kind, level.value, ritual.id, _),
        footer=footer,
    )
