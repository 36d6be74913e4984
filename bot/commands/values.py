"""Commands on the values a team chooses from in values and appreciation rounds: the library's
and the team's own."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from bot.commands.grammar import ADD, LIST, REMOVE, nothing_more
from bot.commands.registry import Args, Command, CommandError, command
from rituals.i18n import LANGUAGES, N_, Translator, translator
from rituals.kinds.values import value_options
from rituals.library import VALUES
from rituals.ports import TeamView
from rituals.types import Notice
from rituals.year import CoreValue, core_values

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
    core = core_values(team.settings)
    scan = await _scan(ritme, team, _)
    fields = [
        (_("The team's own"), ", ".join(own) if own else _("none yet; an admin adds one with /ritme values add NAME")),
        (
            _("Our core values"),
            _shown(core, _) if core else _("not chosen yet: /ritme {example}", example=_(CORE_EXAMPLE)),
        ),
    ]
    if scan:
        fields.append((_("Chosen most in the last values round"), ", ".join(f"{name} ({n})" for name, n in scan)))
    footer = _("Values rounds and appreciations offer all of them.")
    if scan and not core:
        footer = _(
            "Choose them as core values: /ritme {command}",
            command=_("values core") + " " + ", ".join(name for name, _n in scan[:3]),
        )
    return Notice(title=_("Our values"), text=listed, fields=tuple(fields), footer=footer)


async def _scan(ritme: Ritme, team: TeamView, _: Translator) -> list[tuple[str, int]]:
    """The values the team chose most in its latest closed values round (the value scan), most
    chosen first, at most five; empty when there was none."""
    rounds = [r for r in await ritme.repo.rituals(team.id) if r.kind == "values"]
    latest = None
    async with ritme.engine.store.transaction() as tx:
        for ritual in rounds:
            for occ in await tx.recent_occurrences(ritual.id, 5):
                if occ.status == "closed" and (latest is None or occ.planned_at > latest.planned_at):
                    latest = occ
        replies = await tx.replies(latest.id) if latest else []
    if latest is None:
        return []
    labels = {o.value: o.label for o in value_options(latest.content.get("extra", []), _)}
    counts = Counter(v for r in replies for v in r.values.get("values") or [] if v in labels)
    return [(labels[v], n) for v, n in counts.most_common(5)]


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


CORE = ("core", "kern", "kernwaarden")
MEAN = ("mean", "means", "betekenis", "betekent")
CORE_EXAMPLE = N_("values core Trust, Ownership, Safety")
MEAN_EXAMPLE = N_("values mean Trust: we do what we say, and say it when we cannot")
CORE_RANGE = range(3, 6)  # a team names three to five core values


def _core(args: Args) -> dict[str, Any]:
    """Three to five value names, separated by commas."""
    names = [" ".join(part.split()) for part in args.text.split(",") if part.strip()]
    if len(names) not in CORE_RANGE:
        raise CommandError(N_("Name three to five core values, separated by commas."), CORE_EXAMPLE)
    if any(len(name) > 40 for name in names):
        raise CommandError(N_("Keep a value short (at most 40 characters)."), CORE_EXAMPLE)
    return {"names": names}


def _mean(args: Args) -> dict[str, Any]:
    """A core value's name, a colon, and what the team means by it."""
    name, colon, meaning = args.text.partition(":")
    if not colon or not name.strip() or not meaning.strip():
        raise CommandError(N_("Write the value, a colon, and what it looks like here."), MEAN_EXAMPLE)
    if len(meaning.strip()) > 300:
        raise CommandError(N_("Keep the meaning short (at most {most} characters)."), MEAN_EXAMPLE, most=300)
    return {"name": " ".join(name.split()), "meaning": " ".join(meaning.split())}


def _known(name: str, team: TeamView, _: Translator) -> dict[str, str] | None:
    """A core value entry for ``name``: a library value by its name in either language or its key,
    or one of the team's own values; None when it is neither."""
    for value in VALUES:
        if name.casefold() in {value.key, value.name.casefold(), _(value.name).casefold()}:
            return {"key": value.key}
        for lang in LANGUAGES:
            if name.casefold() == translator(lang)(value.name).casefold():
                return {"key": value.key}
    own = next((str(v) for v in team.settings.get("values", []) if str(v).casefold() == name.casefold()), None)
    return {"name": own} if own else None


def _shown(entries: list[CoreValue], _: Translator) -> str:
    return "\n".join(f"\u2022 {v.label(_)}: {v.meaning}" if v.meaning else f"\u2022 {v.label(_)}" for v in entries)


@command(
    "values core",
    words=(VALUE_WORDS, CORE),
    needs="leader",
    args=_core,
    help=(CORE_EXAMPLE, N_("the team's three to five core values")),
)
async def do_values_core(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    chosen = []
    for name in cmd.args["names"]:
        entry = _known(name, team, _)
        if entry is None:
            raise CommandError(
                "'{name}' is not one of the values. Add it first with /ritme values add {name}.", "values", name=name
            )
        earlier = next(
            (v for v in core_values(team.settings) if (v.key or v.name) == (entry.get("key") or entry.get("name"))),
            None,
        )
        chosen.append({**entry, "meaning": earlier.meaning if earlier else ""})
    if len({(e.get("key"), e.get("name")) for e in chosen}) != len(chosen):
        raise CommandError(N_("Name each core value once."), CORE_EXAMPLE)
    await ritme.repo.update_team(team.id, settings={**team.settings, "core_values": chosen})
    await ritme.repo.audit(team.id, member_id, "values.core", {"values": chosen}, ritme.clock())
    return Notice(
        title=_("Our core values"),
        text=_shown(core_values({"core_values": chosen}), _),
        footer=_("Say what each looks like here: /ritme {example}", example=_(MEAN_EXAMPLE)),
    )


@command(
    "values mean",
    words=(VALUE_WORDS, MEAN),
    needs="leader",
    args=_mean,
    help=(MEAN_EXAMPLE, N_("what a core value looks like in this team")),
)
async def do_values_mean(
    ritme: Ritme, cmd: Command, team: TeamView, member_id: int, role: str, _: Translator
) -> Notice:
    entry = _known(cmd.args["name"], team, _)
    core = list(team.settings.get("core_values") or [])
    at = next((i for i, e in enumerate(core) if entry and all(e.get(k) == v for k, v in entry.items())), None)
    if at is None:
        raise CommandError(
            "'{name}' is not one of the team's core values. See /ritme values.", "values", name=cmd.args["name"][:40]
        )
    core[at] = {**core[at], "meaning": cmd.args["meaning"]}
    await ritme.repo.update_team(team.id, settings={**team.settings, "core_values": core})
    await ritme.repo.audit(team.id, member_id, "values.mean", core[at], ritme.clock())
    return Notice(
        title=_("Our core values"),
        text=_shown(core_values({"core_values": core}), _),
        footer=_("Reflections on our values and appreciation rounds use these words."),
    )
