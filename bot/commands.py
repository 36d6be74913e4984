"""The command grammar shared by every platform: words in English or Dutch, one parse.

``parse`` turns the text after ``/ritme`` into a ``Command`` or raises ``CommandError``
with a reason and an example of the right form. It never raises anything else. Control
characters other than newline and tab are dropped first: no one types them, and PostgreSQL
refuses a NUL in text.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rituals.i18n import N_

KIND_WORDS = {
    "goal": "goal", "doel": "goal",
    "reflection": "reflection", "reflectie": "reflection",
    "checkout": "checkout", "check-out": "checkout", "afsluiting": "checkout",
    "pulse": "pulse", "puls": "pulse", "pulse-check": "pulse",
    "appreciation": "appreciation", "waardering": "appreciation", "waarderingsronde": "appreciation",
    "values": "values", "waarden": "values",
    "pairs": "pairs", "duos": "pairs", "duo's": "pairs", "tweetallen": "pairs",
    "digest": "digest", "weekoverzicht": "digest", "overzicht": "digest",
}

VERBS = {
    "help": "help", "hulp": "help", "?": "help",
    "list": "list", "lijst": "list", "ls": "list",
    "add": "add", "toevoegen": "add", "nieuw": "add",
    "pause": "pause", "pauzeer": "pause", "pauze": "pause",
    "resume": "resume", "hervat": "resume",
    "remove": "remove", "verwijder": "remove", "delete": "remove",
    "run": "run", "nu": "run", "start": "run",
    "close": "close", "sluit": "close",
    "goal": "goal", "doel": "goal",
    "review": "review", "terugblik": "review", "overzicht": "review",
    "export": "export", "exporteer": "export", "exporteren": "export",
    "timezone": "timezone", "tijdzone": "timezone",
    "language": "language", "taal": "language",
    "holiday": "holiday", "vakantie": "holiday", "vrije-dag": "holiday",
    "holidays": "holidays", "feestdagen": "holidays",
    "role": "role", "rol": "role",
    "question": "question", "vraag": "question",
    "theme": "theme", "thema": "theme", "themes": "theme", "themas": "theme", "thema's": "theme",
    "appreciation": "appreciation", "waardering": "appreciation",
    "forget-me": "forget-me", "vergeet-mij": "forget-me", "forgetme": "forget-me",
    "action": "action", "actie": "action",
    "plan": "plan", "jaarplan": "plan", "jaarkalender": "plan",
    "pairs": "pairs", "duos": "pairs", "duo's": "pairs",
    "reminders": "reminders", "herinneringen": "reminders",
    "privacy": "privacy",
    "values": "values", "waarden": "values",
}

SUB_ADD = {"add", "toevoegen", "voeg-toe", "nieuw"}
SUB_REMOVE = {"remove", "verwijder", "delete"}
SUB_LIST = {"list", "lijst"}
SUB_SET = {"set", "zet", "instellen"}
SUB_START = {"start", "begin"}
SUB_CLOSE = {"close", "sluit", "sluiten", "stop"}
ROLE_WORDS = {"admin": "admin", "beheerder": "admin", "leader": "leader", "leider": "leader"}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # C0 control characters but tab and newline


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    name: str  # e.g. "add", "holiday add", "role list"
    args: dict[str, Any] = field(default_factory=dict)


class CommandError(ValueError):
    """A command that does not parse: ``msgid`` says why, ``example`` shows the right form."""

    def __init__(self, msgid: str, example: str = "", **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.example = example
        self.params = params


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


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
    first = words[0].lower() if words else ""
    match verb:
        case "forget-me" if words:  # it erases everything: only the bare command does
            raise CommandError(N_("forget-me takes no other words: it erases all your answers, everywhere."), "forget-me")
        case "help" | "list" | "forget-me":
            return Command(name=verb)
        case "add":
            return _add(rest)
        case "pause" | "resume" | "remove" | "run" | "close":
            if len(words) > 1:
                raise CommandError(N_("One ritual at a time: give one number."), f"{verb} #1")
            return Command(name=verb, args={"id": parse_id(first or None, f"{verb} #1")})
        case "review":
            if not words:
                return Command(name="review")
            if first in ("link", "koppeling") and len(words) == 1:
                return Command(name="review link")
            if first in ("link", "koppeling") and len(words) == 2 and words[1].lower() in ("revoke", "intrekken"):
                return Command(name="review link revoke")
            if first in ("link", "koppeling"):
                raise CommandError(N_("Use 'review link', or 'review link revoke' to stop the links made so far."), "review link")
            return Command(name="review", args={"id": parse_id(first, "review #1")})
        case "export":
            return Command(name="export")
        case "goal":
            if not words:
                return Command(name="goal")
            if first in SUB_SET:
                goal = rest[len(words[0]):].strip()
                if not goal:
                    raise CommandError(N_("What is the goal? Write it after 'goal set'."), N_("goal set Every pupil reads with pleasure"))
                if len(goal) > 500:
                    raise CommandError(N_("Keep the goal short (at most 500 characters)."), N_("goal set Every pupil reads with pleasure"))
                return Command(name="goal set", args={"text": goal})
            raise CommandError(N_("Use 'goal' to see the goal, 'goal set TEXT' to change it."), N_("goal set Every pupil reads with pleasure"))
        case "timezone":
            if len(words) != 1:
                raise CommandError(N_("Give one timezone name."), "timezone Europe/Amsterdam")
            return Command(name="timezone", args={"zone": words[0]})
        case "language":
            lang = {"nl": "nl", "nederlands": "nl", "dutch": "nl", "en": "en", "english": "en", "engels": "en"}.get(first)
            if lang is None or len(words) != 1:
                raise CommandError(N_("The language is nl or en."), "language en")
            return Command(name="language", args={"language": lang})
        case "holiday":
            return _holiday(words)
        case "holidays":
            if len(words) != 1 or not re.fullmatch(r"[A-Za-z]{2}|none|geen", words[0]):
                raise CommandError(N_("Give a two-letter country code, or 'none'."), "holidays NL")
            country = None if first in ("none", "geen") else words[0].upper()
            return Command(name="holidays", args={"country": country})
        case "role":
            return _role(words)
        case "question":
            if first in SUB_ADD and len(words) > 1:
                question = rest[len(words[0]):].strip()
                if len(question) > 500:
                    raise CommandError(N_("Keep the question short (at most 500 characters)."), N_("question add What surprised you this week?"))
                return Command(name="question add", args={"text": question})
            raise CommandError(N_("Write the question after 'question add'."), N_("question add What surprised you this week?"))
        case "theme":
            if not words:
                return Command(name="theme", args={"themes": []})
            return Command(name="theme", args={"themes": [w.lower() for w in words]})
        case "pairs":
            if first in {"skip", "overslaan", "sla-over"} and len(words) == 1:
                return Command(name="pairs skip")
            if first in {"mix", "mengen"} and len(words) == 2 and words[1].lower() in {"on", "aan", "off", "uit"}:
                return Command(name="pairs mix", args={"on": words[1].lower() in {"on", "aan"}})
            if first in {"label", "rol"} and len(words) > 2:
                return Command(name="pairs label", args={"user": words[1], "label": " ".join(words[2:])[:40]})
            if first in {"exclude", "uitsluiten", "include", "meedoen"} and len(words) > 1:
                name = "pairs exclude" if first in {"exclude", "uitsluiten"} else "pairs include"
                return Command(name=name, args={"user": " ".join(words[1:])})
            raise CommandError(N_("Use 'pairs skip', or as admin 'pairs exclude @name', 'pairs include @name', 'pairs label @name LABEL', 'pairs mix on'."), "pairs skip")
        case "plan":
            example = "plan add 2026-09-01..2026-10-31 safety"
            if first in SUB_LIST or not words:
                return Command(name="plan list")
            if first in SUB_ADD:
                start, end = parse_period(words[1] if len(words) > 1 else None, example)
                if len(words) < 3:
                    raise CommandError(N_("Which theme? Name it after the period."), example)
                return Command(name="plan add", args={"start": start, "end": end, "theme": " ".join(words[2:]).lower()})
            if first in SUB_REMOVE:
                start, end = parse_period(words[1] if len(words) > 1 else None, "plan remove 2026-09-01..2026-10-31")
                return Command(name="plan remove", args={"start": start, "end": end})
            raise CommandError(N_("Use 'plan add', 'plan list' or 'plan remove'."), example)
        case "action":
            example = N_("action add #1 We start every meeting with the goal")
            if first in SUB_ADD and len(words) > 2:
                ritual = parse_id(words[1], example)
                text_start = rest.find(words[1]) + len(words[1])
                action = rest[text_start:].strip()
                if len(action) > 500:
                    raise CommandError(N_("Keep the action short (at most 500 characters)."), example)
                return Command(name="action add", args={"id": ritual, "text": action})
            raise CommandError(N_("Use 'action add #N TEXT': what the team agreed after ritual #N."), example)
        case "reminders":
            state = {"on": True, "aan": True, "off": False, "uit": False}.get(first)
            if state is None or len(words) != 1:
                raise CommandError(N_("Use 'reminders off' or 'reminders on'."), "reminders off")
            return Command(name="reminders", args={"on": state})
        case "privacy":
            return _privacy(words)
        case "values":
            example = N_("values add Curiosity")
            if not words or (first in SUB_LIST and len(words) == 1):
                return Command(name="values list")
            if first in SUB_ADD | SUB_REMOVE and len(words) > 1:
                name = " ".join(words[1:])
                if len(name) > 40:
                    raise CommandError(N_("Keep a value short (at most 40 characters)."), example)
                return Command(name="values add" if first in SUB_ADD else "values remove", args={"name": name})
            raise CommandError(N_("Use 'values' to see them, or as admin 'values add NAME' or 'values remove NAME'."), example)
        case "appreciation":
            if first in SUB_START:
                duration = " ".join(words[1:]) or None
                return Command(name="appreciation start", args={"duration": duration})
            if first in SUB_CLOSE:
                return Command(name="appreciation close")
            raise CommandError(N_("Use 'appreciation start [DURATION]' or 'appreciation close'."), "appreciation start 3d")
    raise CommandError(N_("I don't know the command '{word}'."), "help", word=head[:40])  # pragma: no cover


def _add(rest: str) -> Command:
    example = N_("add reflection every monday at 09:00")
    kind_word, _, schedule = rest.partition(" ")
    if not kind_word:
        raise CommandError(N_("Which kind of ritual? One of: {kinds}."), example, kinds=", ".join(sorted(set(KIND_WORDS.values()))))
    kind = KIND_WORDS.get(kind_word.lower())
    if kind is None:
        raise CommandError(N_("'{word}' is not a kind of ritual. Choose one of: {kinds}."), example, word=kind_word[:40], kinds=", ".join(sorted(set(KIND_WORDS.values()))))
    if not schedule.strip():
        raise CommandError(N_("When should it run? Add a schedule."), f"add {kind} every monday at 09:00")
    return Command(name="add", args={"kind": kind, "schedule": schedule.strip()})


def _holiday(words: list[str]) -> Command:
    example = N_("holiday add 2026-12-21..2027-01-01 Christmas")
    sub = words[0].lower() if words else ""
    if sub in SUB_LIST or not words:
        return Command(name="holiday list")
    if sub in SUB_ADD:
        start, end = parse_period(words[1] if len(words) > 1 else None, example)
        return Command(name="holiday add", args={"start": start, "end": end, "name": " ".join(words[2:])[:200]})
    if sub in SUB_REMOVE:
        start, end = parse_period(words[1] if len(words) > 1 else None, "holiday remove 2026-12-21..2027-01-01")
        return Command(name="holiday remove", args={"start": start, "end": end})
    if sub in {"import", "importeer"}:
        return Command(name="holiday import")
    raise CommandError(N_("Use 'holiday add', 'holiday list' or 'holiday remove'."), example)


MIN_THRESHOLD, MAX_THRESHOLD = 3, 50  # never below 3: results of one or two are not anonymous
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 30, 3650
_RETENTION_UNITS = {
    "d": 1, "day": 1, "days": 1, "dag": 1, "dagen": 1,
    "w": 7, "week": 7, "weeks": 7, "weken": 7,
    "m": 30, "month": 30, "months": 30, "maand": 30, "maanden": 30, "mnd": 30,
    "y": 365, "year": 365, "years": 365, "j": 365, "jaar": 365, "jaren": 365,
}


def _privacy(words: list[str]) -> Command:
    """``privacy``; ``privacy threshold N``; ``privacy retention DURATION`` (``2y``, ``18 months``)."""
    sub = words[0].lower() if words else ""
    if not words:
        return Command(name="privacy")
    if sub in ("threshold", "drempel", "minimum"):
        example = N_("privacy threshold 5")
        if len(words) != 2 or not re.fullmatch(r"\d{1,3}", words[1]):
            raise CommandError(N_("Give the least number of answers, e.g. 5."), example)
        least = int(words[1])
        if not MIN_THRESHOLD <= least <= MAX_THRESHOLD:
            raise CommandError(N_("The threshold is a number from {low} to {high}: results of fewer than 3 answers are not anonymous."),
                               example, low=MIN_THRESHOLD, high=MAX_THRESHOLD)
        return Command(name="privacy threshold", args={"least": least})
    if sub in ("retention", "bewaartermijn", "bewaren"):
        example = N_("privacy retention 2y")
        match = re.fullmatch(r"(\d{1,4})\s*([a-z]+)", " ".join(words[1:]).lower())
        if not match or match.group(2) not in _RETENTION_UNITS:
            raise CommandError(N_("Give how long answers are kept, in days, weeks, months or years (d, w, m, y)."), example)
        days = int(match.group(1)) * _RETENTION_UNITS[match.group(2)]
        if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
            raise CommandError(N_("Answers are kept from 30 days to 10 years."), example)
        return Command(name="privacy retention", args={"days": days})
    raise CommandError(N_("Use 'privacy', or as admin 'privacy threshold N' or 'privacy retention 2y'."), "privacy")


def _role(words: list[str]) -> Command:
    example = "role add leader @anna"
    sub = words[0].lower() if words else ""
    if sub in SUB_LIST or not words:
        return Command(name="role list")
    if sub in SUB_ADD | SUB_REMOVE:
        role = ROLE_WORDS.get(words[1].lower()) if len(words) > 1 else None
        if role is None:
            raise CommandError(N_("The role is admin or leader."), example)
        if len(words) < 3:
            raise CommandError(N_("Whose role? Name the person."), example)
        return Command(name="role add" if sub in SUB_ADD else "role remove", args={"role": role, "user": " ".join(words[2:])})
    raise CommandError(N_("Use 'role add', 'role remove' or 'role list'."), example)
