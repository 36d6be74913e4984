"""Commands that look back on a team's answers: the review in the chat, the signed link to the
review page (and taking every link back), and the export of the answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.commands.grammar import nothing_more, parse_id
from bot.commands.registry import Args, Command, CommandError, command
from bot.review import review_notice
from bot.review_web import link_notice
from rituals.i18n import N_, Translator
from rituals.ports import TeamView
from rituals.types import Notice

if TYPE_CHECKING:
    from bot.service import Ritme

REVIEW = ("review", "terugblik", "overzicht")
LINK = ("link", "koppeling")
LINK_USAGE = (N_("Use 'review link', or 'review link revoke' to stop the links made so far."), "review link")


def _review(args: Args) -> dict[str, Any]:
    """Nothing, or one ritual's number."""
    return {"id": parse_id(args.first, "review #1")} if args.words else {}


@command(
    "review",
    words=(REVIEW,),
    needs="leader",
    args=_review,
    help=(N_("review #1"), N_("a summary of recent answers")),
    menu=N_("A summary of recent answers"),
)
async def do_review(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    rituals = await ritme.repo.rituals(team.id)
    if "id" in cmd.args:
        rituals = [r for r in rituals if r.id == cmd.args["id"]]
        if not rituals:
            raise CommandError("There is no ritual #{id} in this channel. See /ritme list.", "list", id=cmd.args["id"])
    return await review_notice(ritme.repo, ritme.engine, team, rituals, _)


@command(
    "review link",
    words=(REVIEW, LINK),
    needs="leader",
    args=nothing_more(LINK_USAGE),
    help=(N_("review link"), N_("a private link to the team's review page with charts")),
)
async def do_review_link(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    return await link_notice(ritme, team, member_id, _, export=False)


@command(
    "review link revoke",
    words=(REVIEW, LINK, ("revoke", "intrekken")),
    needs="leader",
    args=nothing_more(LINK_USAGE),
    help=(N_("review link revoke"), N_("stop every review and export link made so far")),
)
async def do_review_link_revoke(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    generation = int(team.settings.get("link_generation", 0)) + 1
    await ritme.repo.update_team(team.id, settings={**team.settings, "link_generation": generation})
    await ritme.repo.audit(team.id, member_id, "review.links_revoked", {"generation": generation}, ritme.clock())
    return Notice(
        title=_("Links revoked"),
        text=_(
            "Every review and export link of this channel made until now has stopped working. "
            "/ritme review link makes a new one."
        ),
    )


@command(
    "export",
    words=(("export", "exporteer", "exporteren"),),
    needs="admin",
    help=(N_("export"), N_("all answers as a CSV file")),
)
async def do_export(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    return await link_notice(ritme, team, member_id, _, export=True)
