"""Commands on pairs rounds: a member skips the next one; an admin leaves someone out or takes them
back, labels people and has pairs mix the labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.commands.formats import team_names
from bot.commands.grammar import ON_OFF, nothing_more
from bot.commands.registry import Args, Command, CommandError, command
from bot.commands.roles import person_named
from rituals.i18n import N_, Translator
from rituals.ports import TeamView
from rituals.types import Actor, Notice

if TYPE_CHECKING:
    from bot.service import Ritme

PAIRS = ("pairs", "duos", "duo's")
PAIRS_USAGE = (
    N_(
        "Use 'pairs skip', or as admin 'pairs exclude @name', 'pairs include @name', "
        "'pairs label @name LABEL', 'pairs mix on'."
    ),
    "pairs skip",
)


def _switch(args: Args) -> dict[str, Any]:
    """``on`` or ``off``."""
    if len(args.words) != 1 or args.first not in ON_OFF:
        raise CommandError(*PAIRS_USAGE)
    return {"on": ON_OFF[args.first]}


def _person(args: Args) -> dict[str, Any]:
    if not args.words:
        raise CommandError(*PAIRS_USAGE)
    return {"user": " ".join(args.words)}


def _label(args: Args) -> dict[str, Any]:
    """A person, then their label."""
    if len(args.words) < 2:
        raise CommandError(*PAIRS_USAGE)
    return {"user": args.words[0], "label": " ".join(args.words[1:])[:40]}


async def personal_pairs_skip(
    ritme: Ritme, actor: Actor, cmd: Command, teams: list[tuple[TeamView, int]], _: Translator
) -> Notice | None:
    """Skipped in a one-to-one chat: the next pairs round of every team of the person."""
    if not teams:
        return None
    for team, member_id in teams:
        await do_pairs_skip(ritme, cmd, team, member_id, "member", _)
    return Notice(
        title=_("Skipped"), text=_("You are left out of the next pairs round of: {teams}.", teams=team_names(teams))
    )


@command(
    "pairs skip",
    words=(PAIRS, ("skip", "overslaan", "sla-over")),
    args=nothing_more(PAIRS_USAGE),
    personal=personal_pairs_skip,
    usage=PAIRS_USAGE,
    help=(N_("pairs skip"), N_("leave the next pairs round out")),
)
async def do_pairs_skip(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    today = ritme.clock().astimezone(ZoneInfo(team.timezone)).date().isoformat()
    skips = {**team.settings.get("pairs_skip", {}), str(member_id): today}
    await ritme.repo.update_team(team.id, settings={**team.settings, "pairs_skip": skips})
    return Notice(title=_("Skipped"), text=_("You are left out of the next pairs round."))


async def _pairs_exclusion(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, exclude: bool, _: Translator
) -> Notice:
    target, name = await person_named(ritme, team, cmd.args["user"])
    excluded = set(team.settings.get("pairs_exclude", []))
    excluded = excluded | {target} if exclude else excluded - {target}
    await ritme.repo.update_team(team.id, settings={**team.settings, "pairs_exclude": sorted(excluded)})
    await ritme.repo.audit(
        team.id, member_id, "pairs.exclude" if exclude else "pairs.include", {"member": target}, ritme.clock()
    )
    if exclude:
        return Notice(
            title=_("Left out of pairs"), text=_("{name} is left out of pairs rounds until included again.", name=name)
        )
    return Notice(title=_("Back in pairs"), text=_("{name} takes part in pairs rounds again.", name=name))


@command(
    "pairs exclude",
    words=(PAIRS, ("exclude", "uitsluiten")),
    needs="admin",
    args=_person,
    help=(N_("pairs exclude @anna"), N_("leave someone out of pairs rounds")),
)
async def do_pairs_exclude(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    return await _pairs_exclusion(ritme, cmd, team, member_id, True, _)


@command(
    "pairs include",
    words=(PAIRS, ("include", "meedoen")),
    needs="admin",
    args=_person,
    help=(N_("pairs include @anna"), N_("take someone into pairs rounds again")),
)
async def do_pairs_include(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    return await _pairs_exclusion(ritme, cmd, team, member_id, False, _)


@command(
    "pairs label",
    words=(PAIRS, ("label", "rol")),
    needs="admin",
    args=_label,
    help=(N_("pairs label @anna science"), N_("a label per person, for pairs that mix them")),
)
async def do_pairs_label(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    target, name = await person_named(ritme, team, cmd.args["user"])
    labels = {**team.settings.get("labels", {}), str(target): cmd.args["label"]}
    await ritme.repo.update_team(team.id, settings={**team.settings, "labels": labels})
    await ritme.repo.audit(
        team.id, member_id, "pairs.label", {"member": target, "label": cmd.args["label"]}, ritme.clock()
    )
    return Notice(
        title=_("Label set"),
        text=_("{name}: {label}. With 'pairs mix on', pairs mix different labels.", name=name, label=cmd.args["label"]),
    )


@command(
    "pairs mix",
    words=(PAIRS, ("mix", "mengen")),
    needs="admin",
    args=_switch,
    help=(N_("pairs mix on"), N_("pairs bring different labels together (pairs mix off: they need not)")),
)
async def do_pairs_mix(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    await ritme.repo.update_team(team.id, settings={**team.settings, "pairs_mix": cmd.args["on"]})
    await ritme.repo.audit(team.id, member_id, "pairs.mix", {"on": cmd.args["on"]}, ritme.clock())
    if cmd.args["on"]:
        return Notice(
            title=_("Mixing on"), text=_("Pairs bring together colleagues with different labels where they can.")
        )
    return Notice(title=_("Mixing off"), text=_("Pairs are made without looking at labels."))
