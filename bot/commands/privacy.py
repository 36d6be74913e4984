"""Commands on what Ritme keeps of people and how it reaches them: what is kept and who sees it,
the threshold of anonymous results and how long answers are kept, a member's reminders, and
forget-me. Reminders and forget-me work in a one-to-one chat too."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot.commands.grammar import ON_OFF, nothing_more
from bot.commands.registry import Args, Command, CommandError, command
from rituals.i18n import N_, Translator
from rituals.kinds.base import words_threshold
from rituals.ports import TeamView
from rituals.types import Actor, Notice
from rituals.visibility import LEAST_THRESHOLD

if TYPE_CHECKING:
    from bot.service import Ritme

log = logging.getLogger(__name__)

PRIVACY = ("privacy",)  # the same word in Dutch
# forget-me erases everything: only the bare command does
FORGET_ME_ALONE = (N_("forget-me takes no other words: it erases all your answers, everywhere."), "forget-me")
PRIVACY_USAGE = (N_("Use 'privacy', or as admin 'privacy threshold N' or 'privacy retention 2y'."), "privacy")
MIN_THRESHOLD, MAX_THRESHOLD = LEAST_THRESHOLD, 50  # never below 3: results of one or two are not anonymous
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 30, 3650
_RETENTION_UNITS = {
    "d": 1,
    "day": 1,
    "days": 1,
    "dag": 1,
    "dagen": 1,
    "w": 7,
    "week": 7,
    "weeks": 7,
    "weken": 7,
    "m": 30,
    "month": 30,
    "months": 30,
    "maand": 30,
    "maanden": 30,
    "mnd": 30,
    "y": 365,
    "year": 365,
    "years": 365,
    "j": 365,
    "jaar": 365,
    "jaren": 365,
}


def _threshold(args: Args) -> dict[str, Any]:
    """``N``: the least number of answers an anonymous result shows from."""
    example = N_("privacy threshold 5")
    if len(args.words) != 1 or not re.fullmatch(r"\d{1,3}", args.words[0]):
        raise CommandError(N_("Give the least number of answers, e.g. 5."), example)
    least = int(args.words[0])
    if not MIN_THRESHOLD <= least <= MAX_THRESHOLD:
        raise CommandError(
            N_("The threshold is a number from {low} to {high}: results of fewer than 3 answers are not anonymous."),
            example,
            low=MIN_THRESHOLD,
            high=MAX_THRESHOLD,
        )
    return {"least": least}


def _retention(args: Args) -> dict[str, Any]:
    """``DURATION`` (``2y``, ``18 months``) in days."""
    example = N_("privacy retention 2y")
    match = re.fullmatch(r"(\d{1,4})\s*([a-z]+)", " ".join(args.words).lower())
    if not match or match.group(2) not in _RETENTION_UNITS:
        raise CommandError(N_("Give how long answers are kept, in days, weeks, months or years (d, w, m, y)."), example)
    days = int(match.group(1)) * _RETENTION_UNITS[match.group(2)]
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise CommandError(N_("Answers are kept from 30 days to 10 years."), example)
    return {"days": days}


def _reminders(args: Args) -> dict[str, Any]:
    state = ON_OFF.get(args.first)
    if state is None or len(args.words) != 1:
        raise CommandError(N_("Use 'reminders off' or 'reminders on'."), "reminders off")
    return {"on": state}


@command(
    "privacy",
    words=(PRIVACY,),
    args=nothing_more(PRIVACY_USAGE),
    help=(N_("privacy"), N_("what is kept, and who sees it")),
)
async def do_privacy(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    return Notice(
        title=_("Privacy in this channel"),
        text=_("What Ritme keeps, and who sees it."),
        fields=(
            (
                _("Anonymous rituals"),
                _(
                    "Answers are sealed until the round closes, then kept without a name, in "
                    "random order. Scores show when at least {least} answered, written answers "
                    "from {words}.",
                    least=team.anonymity_threshold,
                    words=words_threshold(team.anonymity_threshold),
                ),
            ),
            (
                _("Answers kept"),
                _("{span}; older answers are deleted every night.", span=_.duration(team.retention_days)),
            ),
            (
                _("Your own answers"),
                _(
                    "/ritme forget-me erases your answers and your name in every team; where "
                    'others wrote about you, it says "a former colleague". An anonymous answer to a '
                    "round still open is withdrawn; those of closed rounds never carried your name "
                    "and stay in the totals."
                ),
            ),
        ),
    )


@command(
    "privacy threshold",
    words=(PRIVACY, ("threshold", "drempel", "minimum")),
    needs="admin",
    args=_threshold,
    help=(N_("privacy threshold 5"), N_("anonymous results only from this many answers (at least 3)")),
)
async def do_privacy_threshold(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    least = cmd.args["least"]
    await ritme.repo.update_team(team.id, anonymity_threshold=least)
    await ritme.repo.audit(team.id, member_id, "team.anonymity_threshold", {"least": least}, ritme.clock())
    members = len(await ritme.repo.team_members(team.id))
    warning = (
        _.ngettext(
            "This team has {n} member: with this threshold no anonymous results will show.",
            "This team has {n} members: with this threshold no anonymous results will show.",
            members,
        )
        if least > members
        else ""
    )
    return Notice(
        title=_("Threshold set"),
        text=_("Results of anonymous rituals show only when at least {least} answered.", least=least),
        footer=warning,
    )


@command(
    "privacy retention",
    words=(PRIVACY, ("retention", "bewaartermijn", "bewaren")),
    needs="admin",
    args=_retention,
    help=(N_("privacy retention 2y"), N_("how long answers are kept")),
)
async def do_privacy_retention(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    days = cmd.args["days"]
    await ritme.repo.update_team(team.id, retention_days=days)
    await ritme.repo.audit(team.id, member_id, "team.retention", {"days": days}, ritme.clock())
    return Notice(
        title=_("Retention set"),
        text=_("Answers are kept {span}; older ones are deleted in the next nightly clean-up.", span=_.duration(days)),
    )


async def personal_reminders(
    ritme: Ritme, actor: Actor, cmd: Command, teams: list[tuple[TeamView, int]], _: Translator
) -> Notice:
    return await set_reminders(ritme, cmd, await ritme.member_for(actor, None), _)


@command(
    "reminders",
    words=(("reminders", "herinneringen"),),
    args=_reminders,
    personal=personal_reminders,
    help=(N_("reminders off"), N_("no reminders for you (reminders on: back on)")),
)
async def do_reminders(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    return await set_reminders(ritme, cmd, member_id, _)


async def set_reminders(ritme: Ritme, cmd: Command, member_id: int, _: Translator) -> Notice:
    """Reminders off or on for a member, in a channel or a one-to-one chat."""
    await ritme.repo.set_mute(member_id, not cmd.args["on"])
    if cmd.args["on"]:
        return Notice(
            title=_("Reminders on"), text=_("You get one reminder before a round closes, if you have not answered yet.")
        )
    return Notice(
        title=_("Reminders off"), text=_("You get no more reminders. Turn them on again with /ritme reminders on.")
    )


async def personal_forget_me(
    ritme: Ritme, actor: Actor, cmd: Command, teams: list[tuple[TeamView, int]], _: Translator
) -> Notice:
    member_id = await ritme.repo.find_member(
        platform=actor.platform, workspace_id=actor.workspace_id, user_id=actor.user_id
    )
    return await forget(ritme, member_id, _)


@command(
    "forget-me",
    words=(("forget-me", "vergeet-mij", "forgetme"),),
    args=nothing_more(FORGET_ME_ALONE),
    personal=personal_forget_me,
    help=(N_("forget-me"), N_("erase your answers and identity")),
    menu=N_("Erase your answers and identity"),
)
async def do_forget_me(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    return await forget(ritme, member_id, _)


async def forget(ritme: Ritme, member_id: int | None, _: Translator) -> Notice:
    """Erase a member everywhere (none when Ritme never met them), in a channel or a one-to-one chat."""
    erased = await ritme.repo.forget_member(member_id) if member_id is not None else 0
    log.info("forget-me: a member was erased with %d answers", erased)
    return Notice(
        title=_("You are forgotten"),
        text=_("{count} of your answers and everything that identified you were erased.", count=erased),
        keep=False,  # the playground stores no reply that holds the forgotten person's id
    )
