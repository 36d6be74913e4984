"""Ritme's commands, one grammar on every platform.

Each area module binds its commands' words, argument parser, role, help and handler with
``@command`` (``bot.commands.registry``) as it is imported here, in this order: the order of the
help and of the Teams command list. To add a command, add it to the area it belongs to (or to a
new area module imported below); nothing else lists commands.
"""

from __future__ import annotations

# The order of these imports is the order of the help and of the Teams command list.
# isort: off
from bot.commands import (  # noqa: F401  imported to register their commands
    help,
    rituals,
    visibility,
    reviews,
    team,
    appreciation,
    holidays,
    roles,
    themes,
    values,
    pairs,
    privacy,
)

# isort: on
from bot.commands.grammar import parse
from bot.commands.registry import (
    COMMANDS,
    VERBS,
    Command,
    CommandError,
    check_complete,
    may_run,
    reads_roster,
)
from bot.commands.rituals import KIND_WORDS

check_complete()

__all__ = ["COMMANDS", "KIND_WORDS", "VERBS", "Command", "CommandError", "may_run", "parse", "reads_roster"]
