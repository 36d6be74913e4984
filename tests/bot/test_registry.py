"""The command registry: every command has its words in Dutch and English, help in both
languages whose examples run that very command, the role the contract gives it, and no command
can take another's words."""

from __future__ import annotations

import pytest

from bot.commands import parse
from bot.commands.grammar import ADD
from bot.commands.help import personal_lines
from bot.commands.holidays import HOLIDAY
from bot.commands.registry import (
    COMMANDS,
    USAGE,
    VERBS,
    CommandError,
    Spec,
    command,
    help_lines,
    may_run,
    teams_menu,
)
from rituals.i18n import translator
from tests.test_translations import translations

SPECS = list(COMMANDS.values())
# Where Dutch uses the English word itself.
SAME_IN_DUTCH = {"privacy"}
# Who may run what, as /work/shared/CONTRACT.md's command table says (None: anyone).
CONTRACT_ROLES = {
    "help": None,
    "list": None,
    "add": "admin",
    "pause": "admin",
    "resume": "admin",
    "remove": "admin",
    "run": "leader",
    "close": "leader",
    "remind": "leader",
    "action add": "leader",
    "pairs skip": None,
    "goal set": "leader",
    "goal": None,
    "appreciation start": "leader",
    "appreciation close": "leader",
    "review": "leader",
    "review link": "leader",
    "export": "admin",
    "timezone": "admin",
    "language": "admin",
    "holiday add": "admin",
    "holiday list": "admin",
    "holiday remove": "admin",
    "role add": "admin",
    "role remove": "admin",
    "role list": "admin",
    "question add": "admin",
    "theme": "admin",
    "plan add": "admin",
    "plan list": "admin",
    "plan remove": "admin",
    "holiday import": "admin",
    "holidays": "admin",
    "forget-me": None,
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_command_has_help_in_both_languages(spec: Spec) -> None:
    nl, en = translations("nl"), translations("en")
    for example, what in spec.help:
        assert example in nl and example in en, example
        assert what in nl and what in en, what


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_example_in_the_help_runs_its_command_in_english_and_dutch(spec: Spec) -> None:
    dutch = translator("nl")
    for example, _what in spec.help:
        assert parse(example).name == spec.name, example
        assert parse(dutch(example)).name == spec.name, dutch(example)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_command_has_a_dutch_word(spec: Spec) -> None:
    """Each word of the name has another way to type it, and the help shows the Dutch one."""
    dutch = translator("nl")
    for word, typed in zip(spec.name.split(" "), spec.words, strict=True):
        assert word in SAME_IN_DUTCH or set(typed) - {word}, (spec.name, word)
    size = len(spec.words)
    shown_in_dutch = [dutch(example).split()[:size] != example.split()[:size] for example, _what in spec.help]
    assert spec.name in SAME_IN_DUTCH or any(shown_in_dutch), spec.name


@pytest.mark.parametrize("verb", sorted(set(VERBS.values())))
def test_words_that_are_none_of_a_verbs_commands_get_an_example_that_works(verb: str) -> None:
    for text in (f"{verb} zzz", f"{verb} zzz 1 2 3", verb):
        try:
            parse(text)
        except CommandError as err:
            assert err.msgid and err.example, text
            assert parse(err.example).name.split(" ")[0] == verb or err.example == "list", text
            parse(translator("nl")(err.example))
    assert all(parse(USAGE[v][1]) for v in USAGE)


def test_roles_are_those_of_the_contract() -> None:
    assert {name: COMMANDS[name].needs for name in CONTRACT_ROLES} == CONTRACT_ROLES
    assert may_run("admin", "add") and not may_run("leader", "add") and not may_run("member", "add")
    assert may_run("leader", "run") and not may_run("member", "run") and may_run("member", "help")


def test_the_help_grows_with_the_role_and_shows_every_command_to_an_admin() -> None:
    member, leader, admin = help_lines("member"), help_lines("leader"), help_lines("admin")
    assert member == leader[: len(member)] and leader == admin[: len(leader)]
    assert all(parse(example).name not in ("add", "run") for example, _what in member)
    assert {parse(example).name for example, _what in admin} == set(COMMANDS)


def test_a_one_to_one_chat_shows_what_works_there() -> None:
    shown = {parse(example).name for example, _what in personal_lines()}
    assert shown == {"reminders", "pairs skip", "forget-me"}
    assert {spec.name for spec in SPECS if spec.personal} == shown | {"help", "holiday import"}


def test_the_teams_command_list_names_commands() -> None:
    menu = teams_menu()
    assert 0 < len(menu) <= 10  # a Teams limit
    assert all(title in COMMANDS and description in translations("nl") for title, description in menu)


def test_the_roster_is_read_for_the_commands_that_start_rounds() -> None:
    assert {spec.name for spec in SPECS if spec.roster} == {"add", "run", "appreciation start"}


async def _nothing(*args: object) -> None:
    raise AssertionError("never runs")


@pytest.mark.parametrize(
    ("name", "words", "problem"),
    [
        ("holiday add", (HOLIDAY, ADD), "registered twice"),
        ("holiday new", (HOLIDAY, ("new", "nieuw")), "last words shared with 'holiday add'"),
        ("vacation", (("vacation", "vakantie"),), "first words taken by another verb"),
        ("holiday stop", (("holiday",), ("stop",)), "first words differ"),
        ("forget everything", (("forget",), ("everything",)), "no help"),
        ("Shout", (("Shout",),), "lower case"),
    ],
)
def test_a_command_that_would_take_anothers_words_fails_at_import(
    name: str, words: tuple[tuple[str, ...], ...], problem: str
) -> None:
    before = (dict(COMMANDS), dict(VERBS))
    help_ = () if problem == "no help" else (("x", "y"),)
    with pytest.raises(ValueError, match=problem):
        command(name, words=words, help=help_)(_nothing)  # type: ignore[arg-type]  # a handler that never runs
    assert (COMMANDS, VERBS) == before
