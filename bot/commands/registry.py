"""The registry of commands: each command's words, grammar, role, help and handler, in one place.

An area module (``bot/commands/holidays.py``, ...) binds them with the ``@command`` decorator as
it is imported; ``bot/commands/__init__.py`` imports every area by name, so ``COMMANDS`` is a
plain dict filled at import, in the order the areas are listed there. The parser
(``bot.commands.grammar``), the help, the refusal that names the role needed, the one-to-one chat
and the Teams command list read it; nothing else keeps a list of commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rituals.i18n import Translator
from rituals.ports import TeamView
from rituals.types import Actor, Notice

if TYPE_CHECKING:
    from bot.service import Ritme

Role = Literal["admin", "leader"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    """A parsed command: its registered ``name`` (``add``, ``holiday add``) and its arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


class CommandError(ValueError):
    """A command that does not parse: ``msgid`` says why, ``example`` (a message id, with the
    fields ``example_params``) shows the right form."""

    def __init__(
        self, msgid: str, example: str = "", *, example_params: Mapping[str, object] | None = None, **params: object
    ) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.example = example
        self.example_params = example_params or {}
        self.params = params


@dataclass(frozen=True, kw_only=True, slots=True)
class Args:
    """What follows a command's words: as typed (``text``) and split like a shell (``words``)."""

    text: str
    words: tuple[str, ...]

    @property
    def first(self) -> str:
        """The first word, lower case; empty when there is none."""
        return self.words[0].lower() if self.words else ""


# (ritme, command, team, member id, role of the caller, translator) -> the answer
Handler = Callable[["Ritme", Command, TeamView, int, str, Translator], Awaitable[Notice]]
# (ritme, actor, command, the person's teams with their member ids, translator) -> the answer in
# a one-to-one chat, or None where the command belongs in a team's channel after all
Personal = Callable[["Ritme", Actor, Command, list[tuple[TeamView, int]], Translator], Awaitable[Notice | None]]
ArgParser = Callable[[Args], dict[str, Any]]
HelpLine = tuple[str, str]  # (example, what it does), both message ids


def no_args(args: Args) -> dict[str, Any]:
    """A command that takes nothing; words after it are let be, as they always were."""
    return {}


@dataclass(frozen=True, kw_only=True, slots=True)
class Spec:
    """A registered command."""

    name: str  # English words, space separated: the id the code compares
    words: tuple[tuple[str, ...], ...]  # per word of the name, every way to type it (English, Dutch)
    args: ArgParser
    needs: Role | None  # None: every member
    help: tuple[HelpLine, ...]
    handler: Handler
    personal: Personal | None  # how it runs in a one-to-one chat; None: it belongs in a channel
    menu: str  # its description in the Teams command list; empty: not listed there (ten at most)
    roster: bool  # it sets up or starts a round: the platform reads the channel's people first
    bare: bool  # the first word alone runs it too (``holiday`` is ``holiday list``)

    @property
    def verb(self) -> str:
        return self.name.split(" ", 1)[0]


COMMANDS: dict[str, Spec] = {}
VERBS: dict[str, str] = {}  # every way to type a command's first word -> that word in English
USAGE: dict[str, tuple[str, str]] = {}  # verb -> (msgid, example) for words that are none of its commands


def command(
    name: str,
    *,
    words: tuple[tuple[str, ...], ...],
    help: HelpLine | tuple[HelpLine, ...],
    needs: Role | None = None,
    args: ArgParser = no_args,
    personal: Personal | None = None,
    menu: str = "",
    roster: bool = False,
    bare: bool = False,
    usage: tuple[str, str] | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated handler as command ``name``.

    ``words`` gives, for each word of the name, the words that may be typed for it (English and
    Dutch); ``args`` parses what follows them; ``help`` is one (example, text) line or several;
    ``usage`` is the answer, with an example, to words after the first that are none of that
    verb's commands (needed once per verb that has no one-word command)."""
    lines: tuple[HelpLine, ...] = (help,) if help and isinstance(help[0], str) else help

    def register(handler: Handler) -> Handler:
        spec = Spec(
            name=name,
            words=words,
            args=args,
            needs=needs,
            help=lines,
            handler=handler,
            personal=personal,
            menu=menu,
            roster=roster,
            bare=bare,
        )
        _check(spec, usage)
        COMMANDS[name] = spec
        for word in words[0]:
            VERBS[word] = spec.verb
        if usage is not None:
            USAGE[spec.verb] = usage
        return handler

    return register


def _check(spec: Spec, usage: tuple[str, str] | None) -> None:
    """A registration that is malformed, or would make two commands of the same words, fails at
    import."""
    problems = _malformed(spec, usage) + _clashes(spec)
    if problems:
        raise ValueError(f"command {spec.name!r}: " + "; ".join(problems))


def _malformed(spec: Spec, usage: tuple[str, str] | None) -> list[str]:
    parts = spec.name.split(" ")
    problems = []
    if len(parts) != len(spec.words) or any(p not in w for p, w in zip(parts, spec.words, strict=False)):
        problems.append("each word of the name must be among its words")
    if any(w != w.lower() or " " in w for ws in spec.words for w in ws):
        problems.append("words are lower case, one word each")
    if usage is not None and spec.verb in USAGE and USAGE[spec.verb] != usage:
        problems.append("a second, different usage for its verb")
    if spec.bare and len(parts) == 1:
        problems.append("a one-word command is bare already")
    if not spec.help:
        problems.append("no help")
    return problems


def _clashes(spec: Spec) -> list[str]:
    parts = spec.name.split(" ")
    problems = ["registered twice"] if spec.name in COMMANDS else []
    taken = {word for word, verb in VERBS.items() if verb != spec.verb} & set(spec.words[0])
    if taken:
        problems.append(f"first words taken by another verb: {sorted(taken)}")
    for other in COMMANDS.values():
        if other.verb == spec.verb and other.words[0] != spec.words[0]:
            problems.append(f"first words differ from {other.name!r}")
        same_prefix = len(other.words) == len(spec.words) and other.name.split(" ")[:-1] == parts[:-1]
        if len(parts) > 1 and same_prefix and set(other.words[-1]) & set(spec.words[-1]):
            problems.append(f"last words shared with {other.name!r}")
    return problems


def may_run(role: str, name: str) -> bool:
    """Whether someone with ``role`` (admin, leader, member) may run command ``name``."""
    needed = COMMANDS[name].needs
    return needed is None or role == "admin" or (needed == "leader" and role == "leader")


def reads_roster(name: str) -> bool:
    """Whether command ``name`` sets up or starts a round, for which the platform first reads
    the channel's people, so that a round (an appreciation, pairs) asks everyone there."""
    spec = COMMANDS.get(name)
    return spec is not None and spec.roster


def help_lines(role: str) -> list[HelpLine]:
    """The help a member, leader or admin sees: everyone's commands first, then the leader's,
    then the admin's, each in the order the commands were registered."""
    seen_by: dict[str, tuple[Role | None, ...]] = {"admin": (None, "leader", "admin"), "leader": (None, "leader")}
    shown = seen_by.get(role, (None,))
    return [line for needs in shown for spec in COMMANDS.values() if spec.needs == needs for line in spec.help]


def teams_menu() -> list[tuple[str, str]]:
    """(title, description msgid) of the commands in the Teams command list."""
    return [(spec.name, spec.menu) for spec in COMMANDS.values() if spec.menu]


def check_complete() -> None:
    """After every area is imported: each verb answers any words after it with some command or
    its usage, and never has both a one-word command and a bare one."""
    for verb in {spec.verb for spec in COMMANDS.values()}:
        mine = [spec for spec in COMMANDS.values() if spec.verb == verb]
        one_word = any(len(spec.words) == 1 for spec in mine)
        if one_word and any(spec.bare for spec in mine):
            raise ValueError(f"verb {verb!r}: a one-word command and a bare one")
        if not one_word and verb not in USAGE:
            raise ValueError(f"verb {verb!r}: no usage for words that are none of its commands")
