"""The command grammar shared by every platform: words in English or Dutch, one parse.

``parse`` turns the text after ``/ritme`` into a ``Command`` or raises ``CommandError`` with a
reason and an example of the right form. It never raises anything else. Control characters other
than newline and tab are dropped first: no one types them, and PostgreSQL refuses a NUL in text.

The words come from the registry (``bot.commands.registry``): the first word names the verb, the
longest run of further words that names one of its commands picks it, and that command's own
argument parser reads the rest. The word sets and argument readers here are shared by the areas.
"""

from __future__ import annotations

import re
import shlex
from datetime import date
from typing import Any

from bot.commands.registry import (
    COMMANDS,
    USAGE,
    VERBS,
    ArgParser,
    Args,
    Command,
    CommandError,
    Spec,
)
from rituals.i18n import N_

ADD = ("add", "toevoegen", "voeg-toe", "nieuw")
REMOVE = ("remove", "verwijder", "delete")
LIST = ("list", "lijst")
SET = ("set", "zet", "instellen")
ON_OFF = {"on": True, "aan": True, "off": False, "uit": False}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # C0 control characters but tab and newline


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def parse(text: str) -> Command:
    """Parse the text after ``/ritme``."""
    text = CONTROL.sub("", text or "").strip()
    if text.lower().startswith(("/ritme", "@ritme")):  # Slack's slash command; a Teams mention typed as text
        text = text[6:].strip()
    if len(text) > 4000:
        raise CommandError(N_("That command is too long."), "help")
    if not text:
        return Command(name="help")
    head, _, rest = text.partition(" ")
    verb = VERBS.get(head.lower())
    if verb is None:
        raise CommandError(N_("I don't know the command '{word}'."), "help", word=head[:40])
    rest = rest.strip()
    words = _words(rest)
    spec, taken = _match(verb, words)
    for word in words[:taken]:  # the text after the command's words, as typed
        rest = rest[len(word) :].strip()
    return Command(name=spec.name, args=spec.args(Args(text=rest, words=tuple(words[taken:]))))


def _match(verb: str, words: list[str]) -> tuple[Spec, int]:
    """The command of ``verb`` whose further words begin ``words`` (the most of them), and how
    many of ``words`` those are; the verb's usage when no command fits."""
    mine = [spec for spec in COMMANDS.values() if spec.verb == verb]
    fits = [
        spec
        for spec in mine
        if len(spec.words) - 1 <= len(words)
        and all(word.lower() in typed for word, typed in zip(words, spec.words[1:], strict=False))
    ]
    if not words:
        fits += [spec for spec in mine if spec.bare]
    if not fits:
        raise CommandError(*USAGE[verb])
    spec = max(fits, key=lambda fit: len(fit.words))
    return spec, min(len(spec.words) - 1, len(words))


def parse_id(word: str | None, example: str) -> int:
    """A ritual id written ``N`` or ``#N``."""
    if not word:
        raise CommandError(N_("Which ritual? Give its number."), example)
    match = re.fullmatch(r"#?(\d{1,9})", word.strip())
    if not match:
        raise CommandError(N_("'{word}' is not a ritual number."), example, word=word)
    return int(match.group(1))


_DATE = r"(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}-\d{1,2}-\d{4})"


def _date(text: str) -> date:
    parts = [int(p) for p in text.split("-")]
    return date(parts[0], parts[1], parts[2]) if parts[0] > 31 else date(parts[2], parts[1], parts[0])


def parse_period(word: str | None, example: str) -> tuple[date, date]:
    """``2026-12-21..2027-01-01`` (or one day); Dutch ``21-12-2026`` order accepted too."""
    if not word:
        raise CommandError(N_("Which days? Give a date or a period."), example)
    match = re.fullmatch(_DATE + r"(?:\s*\.\.\s*" + _DATE + r")?", word.strip())
    if not match:
        raise CommandError(N_("'{word}' is not a date or period."), example, word=word)
    try:
        start = _date(match.group(1))
        end = _date(match.group(2)) if match.group(2) else start
    except ValueError:
        raise CommandError(N_("'{word}' is not a date or period."), example, word=word) from None
    if end < start:
        raise CommandError(N_("The period ends before it starts."), example)
    return start, end


def period(example: str) -> ArgParser:
    """``DATE..DATE`` after the command's words (``holiday remove``, ``plan remove``)."""

    def parse(args: Args) -> dict[str, Any]:
        start, end = parse_period(args.words[0] if args.words else None, example)
        return {"start": start, "end": end}

    return parse


def nothing_more(usage: tuple[str, str]) -> ArgParser:
    """A command of no words of its own: any after it are refused with ``usage`` (msgid, example)."""

    def parse(args: Args) -> dict[str, Any]:
        if args.words:
            raise CommandError(*usage)
        return {}

    return parse


def free_text(example: str, *, missing: str, too_long: str) -> ArgParser:
    """Text as typed after the command's words, at most 500 characters (a goal, a question)."""

    def parse(args: Args) -> dict[str, Any]:
        if not args.text:
            raise CommandError(missing, example)
        if len(args.text) > 500:
            raise CommandError(too_long, example)
        return {"text": args.text}

    return parse
