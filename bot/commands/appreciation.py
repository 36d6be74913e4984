"""Commands for an appreciation round started by hand: start one, close it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.commands.formats import format_duration
from bot.commands.registry import Args, Command, CommandError, command
from rituals.i18n import N_, Translator
from rituals.kinds import KINDS
from rituals.ports import TeamView
from rituals.schedule import ScheduleError, parse_duration
from rituals.types import Notice

if TYPE_CHECKING:
    from bot.service import Ritme

APPRECIATION = ("appreciation", "waardering")


def _start(args: Args) -> dict[str, Any]:
    """An optional duration (``3d``), read when the round starts."""
    return {"duration": " ".join(args.words) or None}


@command(
    "appreciation start",
    words=(APPRECIATION, ("start", "begin")),
    needs="leader",
    args=_start,
    roster=True,
    usage=(N_("Use 'appreciation start [DURATION]' or 'appreciation close'."), "appreciation start 3d"),
    help=(N_("appreciation start 3d"), N_("start an appreciation round")),
    menu=N_("Start an appreciation round"),
)
async def do_appreciation_start(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    open_for = KINDS["appreciation"].default_open
    if cmd.args.get("duration"):
        try:
            open_for = parse_duration(cmd.args["duration"])
        except ScheduleError as err:
            raise CommandError(err.msgid, "appreciation start 3d", example_params=None, **err.params) from None
    rituals = [r for r in await ritme.repo.rituals(team.id) if r.kind == "appreciation" and not r.schedule]
    now = ritme.clock()
    if rituals:
        ritual_id = rituals[0].id
        if (await ritme.repo.open_occurrences([ritual_id])).get(ritual_id):
            raise CommandError(
                "An appreciation round is open already; close it with 'appreciation close'.", "appreciation close"
            )
        await ritme.repo.set_ritual(ritual_id, open_seconds=int(open_for.total_seconds()))
    else:
        ritual_id = await ritme.repo.add_ritual(
            team_id=team.id,
            kind="appreciation",
            schedule="",
            open_seconds=int(open_for.total_seconds()),
            options={},
            next_due_at=None,
            now=now,
        )
    await ritme.engine.run_now(ritual_id)
    await ritme.repo.audit(team.id, member_id, "appreciation.start", {"ritual": ritual_id}, now)
    return Notice(
        title=_("Appreciation round started"),
        text=_(
            "Everyone can answer for {open}; the round is revealed when it closes.", open=format_duration(open_for, _)
        ),
        footer=_("Ritual #{id}: /ritme close #{id} closes it early.", id=ritual_id),
    )


@command(
    "appreciation close",
    words=(APPRECIATION, ("close", "sluit", "sluiten", "stop")),
    needs="leader",
    help=(N_("appreciation close"), N_("close the appreciation round and post it")),
)
async def do_appreciation_close(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    closed = []
    for r in await ritme.repo.rituals(team.id):
        if r.kind == "appreciation":
            closed += await ritme.engine.close_now(r.id)
    if not closed:
        return Notice(title=_("Nothing to close"), text=_("There is no open appreciation round."))
    return Notice(title=_("Appreciation round closed"), text=_("The round is posted in the channel."))
