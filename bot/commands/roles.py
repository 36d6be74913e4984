"""Commands on who has which role in a team, and how a command finds the person it names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.commands.formats import role_name
from bot.commands.grammar import ADD, LIST, REMOVE
from bot.commands.registry import Args, Command, CommandError, command
from rituals.i18n import N_, Translator
from rituals.ports import TeamView
from rituals.types import Notice

if TYPE_CHECKING:
    from bot.service import Ritme

ROLE = ("role", "rol")
ROLE_WORDS = {"admin": "admin", "beheerder": "admin", "leader": "leader", "leider": "leader", "teamleider": "leader"}
ROLE_EXAMPLE = "role add leader @anna"


def _role_and_person(args: Args) -> dict[str, Any]:
    """``admin|leader PERSON``."""
    role = ROLE_WORDS.get(args.words[0].lower()) if args.words else None
    if role is None:
        raise CommandError(N_("The role is admin or leader."), ROLE_EXAMPLE)
    if len(args.words) < 2:
        raise CommandError(N_("Whose role? Name the person."), ROLE_EXAMPLE)
    return {"role": role, "user": " ".join(args.words[1:])}


async def person_named(ritme: Ritme, team: TeamView, who: str, *, join: bool = False) -> tuple[int, str]:
    """A person named in a command: a platform mention, a user id or a display name.
    Someone mentioned who is not in the team yet joins it only when ``join`` (``role
    add``); otherwise the command is refused and nothing is written."""
    mention = re.fullmatch(r"<@([A-Za-z0-9._:-]+)(?:\|([^>]*))?>", who.strip())
    user_id = mention.group(1) if mention else who.strip().lstrip("@")
    display = (mention.group(2) if mention else None) or ""
    roster = await ritme.repo.team_members(team.id)
    for mid, uid, name in roster:
        if uid == user_id or (not mention and name.lower() == user_id.lower()):
            return mid, name or display or uid
    if not mention:
        raise CommandError(
            "I don't know '{who}' in this channel. Mention them, e.g. @name.", "role add leader @anna", who=who[:60]
        )
    if not join:
        raise CommandError("{name} is not in this team.", "role list", name=display or user_id)
    mid = await ritme.repo.ensure_member(
        platform=team.platform,
        workspace_id=team.workspace_id,
        user_id=user_id,
        display_name=display,
        now=ritme.clock(),
        team_id=team.id,
    )
    return mid, display or user_id


@command(
    "role add",
    words=(ROLE, ADD),
    needs="admin",
    args=_role_and_person,
    usage=(N_("Use 'role add', 'role remove' or 'role list'."), ROLE_EXAMPLE),
    help=(N_("role add leader @anna"), N_("give someone a role")),
)
async def do_role_add(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    target, name = await person_named(ritme, team, cmd.args["user"], join=True)
    await ritme.repo.grant(team.id, target, cmd.args["role"], ritme.clock())
    await ritme.repo.audit(team.id, member_id, "role.add", {"role": cmd.args["role"], "member": target}, ritme.clock())
    return Notice(
        title=_("Role given"),
        text=_("{name} is now {role} in this team.", name=name, role=role_name(_, cmd.args["role"])),
    )


@command(
    "role remove",
    words=(ROLE, REMOVE),
    needs="admin",
    args=_role_and_person,
    help=(N_("role remove leader @anna"), N_("take a role back")),
)
async def do_role_remove(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    target, name = await person_named(ritme, team, cmd.args["user"])
    if cmd.args["role"] not in await ritme.repo.roles(team.id, target):
        raise CommandError("{name} does not have that role.", "role list", name=name)
    if cmd.args["role"] == "admin" and target == member_id:
        admins = [r for r in await ritme.repo.role_list(team.id) if r[0] == "admin"]
        if len(admins) <= 1:
            raise CommandError(
                "You are the last admin of this team; give someone else the role first.", "role add admin @anna"
            )
    removed = await ritme.repo.revoke(team.id, target, cmd.args["role"])
    if not removed:
        raise CommandError("{name} does not have that role.", "role list", name=name)
    await ritme.repo.audit(
        team.id, member_id, "role.remove", {"role": cmd.args["role"], "member": target}, ritme.clock()
    )
    return Notice(
        title=_("Role removed"),
        text=_("{name} is no longer {role} in this team.", name=name, role=role_name(_, cmd.args["role"])),
    )


@command("role list", words=(ROLE, LIST), needs="admin", bare=True, help=(N_("role list"), N_("who has which role")))
async def do_role_list(ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator) -> Notice:
    rows = await ritme.repo.role_list(team.id)
    if not rows:
        return Notice(title=_("Roles"), text=_("Nobody has a role in this team yet."))
    return Notice(title=_("Roles"), text="", fields=tuple((name or uid, role_name(_, r)) for r, uid, name in rows))
